"""A scene's output files: their names, whether complete ones can be reused (resume), and a writable output folder.

A class map carries provenance tags (checkpoint and config digests, window settings); one made with other settings is
predicted again instead of being reused.
"""
import hashlib
import json
import os
from pathlib import Path
from typing import Dict, List

from mmengine.config import Config

from rsseg.formats.files import PathLike
from rsseg.geo.class_styles import class_sidecars
from rsseg.geo.cog import is_complete, read_tags

# provenance tag -> the setting it records, as a log line names it
PROVENANCE_NAMES = dict(RSSEG_CHECKPOINT_SHA256='checkpoint', RSSEG_CONFIG_SHA256='config', RSSEG_WINDOW='window',
                        RSSEG_OVERLAP='overlap', RSSEG_BLEND='blend')


def output_paths(scene: PathLike, out_dir: PathLike) -> Dict[str, Path]:
    """Output paths of ``scene``: ``classes``, ``confidence``, ``preview`` and the class map's GIS sidecars
    ``categories`` (``NAME.tif.aux.xml``) and ``style`` (``NAME.qml``)."""
    name, out_dir = Path(scene).stem, Path(out_dir)
    return dict(classes=out_dir / f'{name}.tif', confidence=out_dir / f'{name}.confidence.tif',
                preview=out_dir / f'{name}.preview.png', **class_sidecars(out_dir / f'{name}.tif'))


def outputs_complete(out: Dict[str, Path], confidence: bool = False, preview: bool = False) -> bool:
    """Whether every requested output in ``out`` (:func:`output_paths`) is complete."""
    return (is_complete(out['classes']) and (not confidence or is_complete(out['confidence']))
            and (not preview or out['preview'].is_file()))


def provenance(cfg: Config, checkpoint_digest: str, window: int, overlap: float, blend: str) -> Dict[str, str]:
    """What determines a class map: the checkpoint's content, the config and the window settings (its tags)."""
    config = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
    return dict(RSSEG_CHECKPOINT_SHA256=checkpoint_digest, RSSEG_CONFIG_SHA256=config[:16],
                RSSEG_WINDOW=str(window), RSSEG_OVERLAP=str(overlap), RSSEG_BLEND=blend)


def stale_settings(class_map: PathLike, current: Dict[str, str]) -> List[str]:
    """The provenance tags on which an existing class map differs from ``current`` (empty: reusable)."""
    tags = read_tags(class_map)
    return [PROVENANCE_NAMES[k] for k, v in current.items() if tags.get(k) != v]


def ensure_writable(out_dir: PathLike) -> Path:
    """Create ``out_dir`` if needed and check a file can be created in it."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f'.rsseg-write-test{os.getpid()}'
        probe.write_bytes(b'')
        probe.unlink()
    except OSError as exc:
        raise PermissionError(f'output folder {out_dir} is not writable ({exc.strerror or exc})') from None
    return out_dir
