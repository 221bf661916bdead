"""rsseg: domain-adaptive remote-sensing segmentation as an MMSegmentation 1.x plugin.

Install with ``bash tools/setup_env.sh`` (it builds mmcv with ops and keeps a single OpenCV); ``pip install -e .``
alone expects torch, mmcv 2.1.0 with ops, mmengine and mmsegmentation to be present already.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r"__version__ = '([^']+)'", (HERE / 'rsseg' / 'version.py').read_text()).group(1)
REQUIREMENTS = [
    req for req in (line.split('#')[0].strip() for line in (HERE / 'requirements.txt').read_text().splitlines()) if req
]

setup(
    name='rsseg',
    version=VERSION,
    description='Domain-adaptive remote-sensing segmentation (ST-DASegNet) for MMSegmentation 1.x',
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['rsseg', 'rsseg.*']),  # tools/ and data_prep/ are scripts over rsseg.cli
    include_package_data=True,
    install_requires=[
        'torch>=2.0', 'mmcv>=2.1.0,<2.2.0', 'mmengine>=0.10.0,<0.11', 'mmsegmentation==1.2.2', *REQUIREMENTS
    ],
    entry_points={
        'console_scripts': [
            'rsseg-train=rsseg.cli.train:cli',
            'rsseg-test=rsseg.cli.test:cli',
            'rsseg-pretrain=rsseg.cli.pretrain:cli',
            'rsseg-infer=rsseg.cli.infer:cli',
            'rsseg-demo=rsseg.cli.demo:cli',
            'rsseg-plot-curves=rsseg.cli.plot_curves:cli',
            'rsseg-tile=rsseg.cli.tile:cli',
            'rsseg-convert-masks=rsseg.cli.convert_color_masks:cli',
            'rsseg-convert-potsdam=rsseg.cli.convert_potsdam:cli',
            'rsseg-convert-vaihingen=rsseg.cli.convert_vaihingen:cli',
            'rsseg-convert-loveda=rsseg.cli.convert_loveda:cli',
        ],
    },
)
