"""The whole rsseg workflow on the bundled Dubai example, on CPU (the console script ``rsseg-demo``)::

    python tools/demo.py [--out work_dirs/demo] [--iters 300]

The command line lives in :mod:`rsseg.cli.demo`; ``--help`` lists its options.
"""
from rsseg.cli.demo import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
