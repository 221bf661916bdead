"""Resuming a run: per-scene records (``OUT/.tiles/<scene>.json``) keyed by the chip settings and the input files.

A rerun skips scenes whose record matches and whose chips all exist; chips a run with other settings wrote are
removed before the scene is tiled again.
"""
import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, List, Optional

from rsseg.formats.errors import GeoError
from rsseg.formats.files import resolve_all, write_json

from ..io import is_vsi
from ..scenes import Scene
from .config import TileConfig
from .layout import record_path, remove_files
from .scene_plan import ScenePlan


def scene_key(scene: Scene, config: TileConfig) -> str:
    """Hash of the chip settings and the input files' identity (path, size, modification time)."""
    ident = dict(settings=config.chip_settings(), image=_file_id(scene.image),
                 label=_file_id(scene.label) if scene.label else None)
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _file_id(path: str) -> List[Any]:
    """A file's identity: resolved path, size, modification time (and its ``.msk``'s); a VSI path as it is."""
    if is_vsi(path):
        return [path]
    p = Path(path)
    try:
        st = p.stat()
        extra = [(Path(f'{path}.msk').stat().st_mtime_ns if Path(f'{path}.msk').exists() else None)]
        return [str(p.resolve()), st.st_size, st.st_mtime_ns] + extra
    except OSError:
        return [str(p)]


def finished_record(out: Path, name: str, key: str) -> Optional[dict]:
    """A previous run's record of ``name`` when its key matches and all its chips exist."""
    path = record_path(out, name)
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if rec.get('key') != key:
        return None
    return rec if all(f.is_file() for f in _record_files(out, path, rec)) else None


def _record_files(out: Path, path: Path, rec: dict) -> List[Path]:
    """The chip files a scene record lists, each confined to ``out`` (an entry outside it raises GeoError)."""
    try:
        entries = [c['img'] for c in rec['records']] + [c['ann'] for c in rec['records'] if c.get('ann')]
    except (KeyError, TypeError):
        raise GeoError(path, 'not a tiler scene record (delete it to retile the scene)') from None
    return resolve_all(out, entries, path)


def save_record(out: Path, name: str, key: str, info: ScenePlan, records: List[dict],
                skip_reason: Optional[str]) -> dict:
    """Write a finished scene's record (its chips, or why it has none); returns it."""
    rec = dict(key=key, scene=name, grid=asdict(info.grid), dtype=info.dtype, bands=info.bands,
               records=records, skip_reason=skip_reason)
    write_json(record_path(out, name), rec)
    return rec


def drop_stale_chips(out: Path, name: str) -> None:
    """Remove the chips a previous run with other settings wrote for ``name``, and its record."""
    path = record_path(out, name)
    if not path.is_file():
        return
    try:
        rec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        rec = dict(records=[])
    remove_files([str(f) for f in _record_files(out, path, rec)])
    path.unlink()
