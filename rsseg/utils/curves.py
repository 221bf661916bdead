"""Training curves of a run drawn into one PNG: panels of keys grouped by their names, validation metrics apart.

Panels: segmentor losses, discriminator losses, pseudo-label confident share and discriminator accuracy, training
accuracies, learning rates, and the validation metrics (mIoU, mFscore, aAcc and per-class IoU when logged). Runs of
any rsseg method work: keys are grouped by their names (``seg.*`` / ``disc.*`` / anything with ``loss``...).
"""
import math
import re
from collections import OrderedDict
from pathlib import Path
from typing import List, Optional, Sequence

from rsseg.formats.files import atomic_output

from .scalars import Series

PANELS = [
    ('segmentor losses', lambda k: k.startswith('seg.') and 'loss' in k),
    ('discriminator losses', lambda k: k.startswith('disc.') and 'loss' in k),
    ('pseudo-label confident share / discriminator accuracy',
     lambda k: k.endswith('pseudo_ratio') or (k.startswith('disc.') and k.endswith('.acc'))),
    ('training accuracy (%)', lambda k: 'acc_' in k),
    ('losses', lambda k: 'loss' in k),
    ('learning rate', lambda k: k == 'lr' or k.endswith('.lr')),
]


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


def select(series: Series, pattern: Optional[str]) -> Series:
    """The series whose key matches the regular expression ``pattern`` (all of them without one)."""
    if not pattern:
        return series
    regex = re.compile(pattern)
    return OrderedDict((k, v) for k, v in series.items() if regex.search(k))
