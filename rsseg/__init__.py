"""rsseg: domain-adaptive remote-sensing segmentation for MMSegmentation 1.x.

Importing the package is light (no torch, mmengine, mmcv or mmseg), so the raster layer (:mod:`rsseg.geo`), the file
formats (:mod:`rsseg.formats`) and the tiler run without the network stack. :mod:`rsseg.plugin` registers rsseg's
modules into mmseg's registries and installs the safe checkpoint loader; configs load it with
``custom_imports = dict(imports=['rsseg.plugin'], allow_failed_imports=False)``. The parts and what may import what:
``docs/ARCHITECTURE.md``.
"""
from .version import __version__

__all__ = ['__version__']
