"""Plot a run's training curves to one PNG (the console script ``rsseg-plot-curves``)::

    python tools/plot_curves.py WORK_DIR [--out curves.png]

The command line lives in :mod:`rsseg.cli.plot_curves`; ``--help`` lists its options.
"""
from rsseg.cli.plot_curves import main
from rsseg.utils.cli import run_cli

if __name__ == '__main__':
    run_cli(main)
