"""Map whole scenes with a trained model (the console script ``rsseg-infer``)::

    python tools/infer.py CONFIG CHECKPOINT SCENES... --out DIR

The command line lives in :mod:`rsseg.cli.infer`; ``--help`` lists its options.
"""
from rsseg.cli.infer import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
