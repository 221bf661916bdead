"""Convert ISPRS Potsdam into chips + manifest (the console script ``rsseg-convert-potsdam``)::

    python data_prep/convert_potsdam.py ROOT --out DIR [--variant irrg|rgb]

The command line lives in :mod:`rsseg.cli.convert_potsdam`; ``--help`` lists its options.
"""
from rsseg.cli.convert_potsdam import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
