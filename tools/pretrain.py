"""Self-supervised pretraining of a backbone on unlabelled chips (the console script ``rsseg-pretrain``)::

    python tools/pretrain.py CONFIG [--work-dir DIR]

The command line lives in :mod:`rsseg.cli.pretrain`; ``--help`` lists its options.
"""
from rsseg.cli.pretrain import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
