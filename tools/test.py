"""Evaluate a checkpoint (the console script ``rsseg-test``)::

    python tools/test.py CONFIG CHECKPOINT [--show-dir DIR]

The command line lives in :mod:`rsseg.cli.test`; ``--help`` lists its options.
"""
from rsseg.cli.test import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
