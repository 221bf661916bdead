"""Read the training records mmengine's ``LocalVisBackend`` writes (``<timestamp>/vis_data/scalars.json``)."""
import json
from pathlib import Path
from typing import List, Optional, Union

PSEUDO_RATIO = 'seg.tgt.pseudo_ratio'  # the confident share r that ST-DASegNet and DACS log


def training_records(work_dir: Union[str, Path]) -> List[dict]:
    """Every training record (a line with ``iter``) of every run in ``work_dir``, oldest run first."""
    records = []
    for path in sorted(Path(work_dir).glob('*/vis_data/scalars.json')):
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f'{path}:{lineno}: not a JSON line ({exc.msg})') from None
    return [r for r in records if 'iter' in r]


def pseudo_ratios(records: List[dict]) -> List[float]:
    """The confident share r of every record that logged it."""
    return [r[PSEUDO_RATIO] for r in records if PSEUDO_RATIO in r]


def active_share(records: List[dict], above: float) -> Optional[float]:
    """Share of the records whose r is above ``above``; None where no record logged r."""
    ratios = pseudo_ratios(records)
    return sum(r > above for r in ratios) / len(ratios) if ratios else None
