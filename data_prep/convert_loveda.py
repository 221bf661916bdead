"""Convert LoveDA into chips + manifest (the console script ``rsseg-convert-loveda``)::

    python data_prep/convert_loveda.py ROOT --out DIR [--domains urban,rural]

The command line lives in :mod:`rsseg.cli.convert_loveda`; ``--help`` lists its options.
"""
from rsseg.cli.convert_loveda import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
