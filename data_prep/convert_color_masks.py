"""Convert colour-coded label masks into class-index GeoTIFFs (the console script ``rsseg-convert-masks``)::

    python data_prep/convert_color_masks.py --images DIR --masks DIR --palette FILE --out DIR

The command line lives in :mod:`rsseg.cli.convert_color_masks`; ``--help`` lists its options.
"""
from rsseg.cli.convert_color_masks import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
