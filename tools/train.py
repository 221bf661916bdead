"""Train a segmentor from an mmengine config (the console script ``rsseg-train``)::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--warm-start CKPT]

The command line lives in :mod:`rsseg.cli.train`; ``--help`` lists its options.
"""
from rsseg.cli.train import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
