"""Tile whole GeoTIFF scenes into georeferenced chips and a manifest (the console script ``rsseg-tile``)::

    python data_prep/tile_scenes.py --images GLOB_OR_DIR [--labels ...] --out DIR --chip N --stride N

The command line lives in :mod:`rsseg.cli.tile`; ``--help`` lists its options.
"""
from rsseg.cli.tile import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
