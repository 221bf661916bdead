"""Plot the training curves of a run (mmengine's ``vis_data/scalars.json``) to one PNG.

Panels: segmentor losses, discriminator losses, pseudo-label confident share and discriminator accuracy, training
accuracies, learning rates, and the validation metrics (mIoU, mFscore, aAcc and per-class IoU when logged). Runs of
any rsseg method work: keys are grouped by their names (``seg.*`` / ``disc.*`` / anything with ``loss``...).

Usage::

    rsseg-plot-curves WORK_DIR_OR_SCALARS_JSON [--out curves.png] [--keys REGEX] [--smooth N]

(``python tools/plot_curves.py ...`` in a checkout).

``WORK_DIR`` may be a training work dir (its latest ``<timestamp>/vis_data/scalars.json`` is used), a timestamp
folder, or the JSON file itself. The PNG is written to a temporary name and renamed, so it is never half-written.
"""
import argparse
from pathlib import Path
from typing import Optional, Sequence

from rsseg.utils.cli import run_cli
from rsseg.utils.curves import plot, select
from rsseg.utils.scalars import find_scalars, load_scalars


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description='Plot the training curves of an mmengine run to PNG.')
    parser.add_argument('run', help='work dir, timestamp folder or vis_data/scalars.json')
    parser.add_argument('--out', help='PNG path (default: <work dir>/curves.png)')
    parser.add_argument('--keys', help='regular expression: plot only matching keys')
    parser.add_argument('--smooth', type=int, default=1, help='moving-average window for training curves')
    args = parser.parse_args(argv)
    scalars = find_scalars(args.run)
    train, val = load_scalars(scalars)
    train, val = select(train, args.keys), select(val, args.keys)
    if not train and not val:
        raise ValueError(f'no key of {scalars} matches --keys {args.keys!r}')
    run_dir = Path(args.run) if Path(args.run).is_dir() else scalars.parent
    out = Path(args.out) if args.out else run_dir / 'curves.png'
    panels = plot(train, val, out, title=str(run_dir.resolve().name), smooth=args.smooth)
    print(f'{out} ({len(panels)} panels: {", ".join(panels)})')
    return 0


def cli() -> None:
    """Console entry point ``rsseg-plot-curves``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
