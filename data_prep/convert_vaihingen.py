"""Convert ISPRS Vaihingen into chips + manifest (the console script ``rsseg-convert-vaihingen``)::

    python data_prep/convert_vaihingen.py ROOT --out DIR

The command line lives in :mod:`rsseg.cli.convert_vaihingen`; ``--help`` lists its options.
"""
from rsseg.cli.convert_vaihingen import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
