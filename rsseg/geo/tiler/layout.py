"""The tiler's output folder: where scene records go, and removing what a run (or a killed one) left behind.

Chips: ``img_dir/<scene>_r<row>_c<col>.tif`` and ``ann_dir/<same>.tif``; per-scene records: ``.tiles/<scene>.json``.
"""
import os
from pathlib import Path
from typing import Sequence

from rsseg.formats.files import remove_stale_temps

RECORD_DIR = '.tiles'


def record_path(out: Path, name: str) -> Path:
    """The record of scene ``name`` in output folder ``out``."""
    return out / RECORD_DIR / f'{name}.json'


def remove_files(paths: Sequence[str]) -> None:
    """Remove files a run wrote; one already gone is fine."""
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def remove_temp_files(out: Path) -> None:
    """Temporary files killed runs left behind (:func:`~rsseg.formats.files.remove_stale_temps`)."""
    for sub in ('img_dir', 'ann_dir', RECORD_DIR, '.', 'norm_stats'):
        remove_stale_temps(out / sub)
