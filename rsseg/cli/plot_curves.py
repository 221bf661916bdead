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
import json
import math
import re
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from rsseg.formats.files import atomic_output
from rsseg.utils.cli import run_cli

Series = Dict[str, Tuple[List[int], List[float]]]

PANELS = [
    ('segmentor losses', lambda k: k.startswith('seg.') and 'loss' in k),
    ('discriminator losses', lambda k: k.startswith('disc.') and 'loss' in k),
    ('pseudo-label confident share / discriminator accuracy',
     lambda k: k.endswith('pseudo_ratio') or (k.startswith('disc.') and k.endswith('.acc'))),
    ('training accuracy (%)', lambda k: 'acc_' in k),
    ('losses', lambda k: 'loss' in k),
    ('learning rate', lambda k: k == 'lr' or k.endswith('.lr')),
]
VAL_HINTS = ('mIoU', 'mAcc', 'aAcc', 'mFscore', 'mDice', 'mPrecision', 'mRecall')
SKIP = {'step', 'iter', 'epoch', 'time', 'data_time', 'memory'}


def find_scalars(path: str) -> Path:
    """The scalars file of ``path`` (a work dir, a timestamp folder or the JSON file)."""
    p = Path(path)
    if p.is_file():
        return p
    if not p.exists():
        raise FileNotFoundError(f'{p} does not exist')
    candidates = sorted(p.glob('vis_data/scalars.json')) + sorted(p.glob('*/vis_data/scalars.json'))
    if not candidates:
        raise FileNotFoundError(f'{p}: no vis_data/scalars.json found (is it an mmengine work dir with the '
                                'LocalVisBackend?)')
    # the latest run that trained (tools/test.py adds timestamp folders with evaluation lines only)
    return next((c for c in reversed(candidates) if '"loss' in c.read_text()), candidates[-1])


def load_scalars(path: Path) -> Tuple[Series, Series]:
    """Read JSON lines into ``(train, val)`` series ``{key: (steps, values)}``.

    Training lines carry ``lr``-like keys or losses; validation lines carry metrics such as ``mIoU``.
    """
    train: Series = OrderedDict()
    val: Series = OrderedDict()
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f'{path}:{lineno}: not a JSON line ({exc.msg})') from None
            step = int(record.get('step', record.get('iter', lineno)))
            is_val = any(k in record for k in VAL_HINTS) or any(k.startswith('IoU.') for k in record)
            target = val if is_val else train
            for key, value in record.items():
                if key in SKIP or not isinstance(value, (int, float)) or isinstance(value, bool):
                    continue
                steps, values = target.setdefault(key, ([], []))
                steps.append(step)
                values.append(float(value))
    if not train and not val:
        raise ValueError(f'{path}: no scalars to plot')
    return train, val


def group_keys(keys: Sequence[str]) -> "OrderedDict[str, List[str]]":
    """Assign every training key to the first panel whose rule matches; the rest go to 'other'."""
    groups: OrderedDict[str, List[str]] = OrderedDict((name, []) for name, _ in PANELS)
    groups['other'] = []
    for key in keys:
        name = next((n for n, rule in PANELS if rule(key)), 'other')
        groups[name].append(key)
    return OrderedDict((k, v) for k, v in groups.items() if v)


def _smooth(values: List[float], window: int) -> List[float]:
    if window <= 1:
        return values
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > window:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def plot(train: Series, val: Series, out: Path, title: str, smooth: int = 1) -> List[str]:
    """Draw the panels into ``out`` (atomically); returns the panel titles."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    panels = list(group_keys(list(train)).items())
    val_groups = [('validation: mean metrics', [k for k in val if '.' not in k]),
                  ('validation: per-class IoU', [k for k in val if k.startswith('IoU.')]),
                  ('validation: per-class F1', [k for k in val if k.startswith('F1.')])]
    panels += [(name, keys) for name, keys in val_groups if keys]
    cols = 2 if len(panels) > 1 else 1
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(7 * cols, 3.6 * rows), squeeze=False)
    for ax, (name, keys) in zip(axes.flat, panels):
        source = val if name.startswith('validation:') else train
        for key in keys:
            steps, values = source[key]
            style = dict(marker='o', markersize=3) if len(steps) < 30 else {}
            ax.plot(steps, _smooth(values, smooth), label=key, linewidth=1.2, **style)
        ax.set_title(name)
        ax.set_xlabel('iteration')
        if name == 'learning rate':
            ax.set_yscale('log')
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc='best')
    for ax in list(axes.flat)[len(panels):]:
        ax.axis('off')
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_output(out) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return [name for name, _ in panels]


def _select(series: Series, pattern: Optional[str]) -> Series:
    if not pattern:
        return series
    regex = re.compile(pattern)
    return OrderedDict((k, v) for k, v in series.items() if regex.search(k))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description='Plot the training curves of an mmengine run to PNG.')
    parser.add_argument('run', help='work dir, timestamp folder or vis_data/scalars.json')
    parser.add_argument('--out', help='PNG path (default: <work dir>/curves.png)')
    parser.add_argument('--keys', help='regular expression: plot only matching keys')
    parser.add_argument('--smooth', type=int, default=1, help='moving-average window for training curves')
    args = parser.parse_args(argv)
    scalars = find_scalars(args.run)
    train, val = load_scalars(scalars)
    train, val = _select(train, args.keys), _select(val, args.keys)
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
