"""Read the training records mmengine's ``LocalVisBackend`` writes (``<timestamp>/vis_data/scalars.json``).

Records as dicts (:func:`training_records`, the confident share r) or as series per key split into training and
validation (:func:`load_scalars`, what :mod:`rsseg.utils.curves` plots).
"""
import json
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

PSEUDO_RATIO = 'seg.tgt.pseudo_ratio'  # the confident share r that ST-DASegNet and DACS log
VAL_HINTS = ('mIoU', 'mAcc', 'aAcc', 'mFscore', 'mDice', 'mPrecision', 'mRecall')
SKIP = {'step', 'iter', 'epoch', 'time', 'data_time', 'memory'}

Series = Dict[str, Tuple[List[int], List[float]]]


def read_records(path: Union[str, Path]) -> Iterator[Tuple[int, dict]]:
    """``(line number, record)`` of every non-empty line of a scalars file; a line that is not JSON is an error."""
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f'{path}:{lineno}: not a JSON line ({exc.msg})') from None


def training_records(work_dir: Union[str, Path]) -> List[dict]:
    """Every training record (a line with ``iter``) of every run in ``work_dir``, oldest run first."""
    return [r for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
            for _, r in read_records(path) if 'iter' in r]


def find_scalars(path: Union[str, Path]) -> Path:
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
    """Read a scalars file into ``(train, val)`` series ``{key: (steps, values)}``.

    Training lines carry ``lr``-like keys or losses; validation lines carry metrics such as ``mIoU``.
    """
    train: Series = OrderedDict()
    val: Series = OrderedDict()
    for lineno, record in read_records(path):
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


def pseudo_ratios(records: List[dict]) -> List[float]:
    """The confident share r of every record that logged it."""
    return [r[PSEUDO_RATIO] for r in records if PSEUDO_RATIO in r]


def active_share(records: List[dict], above: float) -> Optional[float]:
    """Share of the records whose r is above ``above``; None where no record logged r."""
    ratios = pseudo_ratios(records)
    return sum(r > above for r in ratios) / len(ratios) if ratios else None
