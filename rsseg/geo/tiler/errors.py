"""What the tiler reports going wrong: the error that stops a run, the warning about a scene, messages naming files."""
from pathlib import Path
from typing import Dict, List, Sequence

from rsseg.formats.errors import GeoError


class TilingError(ValueError):
    """Tiling failed; the message names the scene file(s) and the problem(s)."""


class TilerWarning(UserWarning):
    """A scene was skipped or needs attention (all nodata, no chip above ``min_valid``, grid warnings)."""


def merge_scene_warnings(messages: Sequence[str], shown: int = 3) -> List[str]:
    """One line per reason: ``'PATH: reason'`` repeated over several scenes (16 JPEGs without a CRS) becomes
    ``'16 scenes (a.jpg, b.jpg, c.jpg and 13 more): reason'``, so that a person reads each fact once."""
    by_reason: Dict[str, List[str]] = {}
    for message in messages:
        path, sep, reason = message.partition(': ')
        by_reason.setdefault(reason if sep else message, []).append(path if sep else '')
    merged = []
    for reason, paths in by_reason.items():
        if len(paths) == 1:
            merged.append(f'{paths[0]}: {reason}' if paths[0] else reason)
            continue
        names = ', '.join(Path(p).name for p in paths[:shown])
        more = f' and {len(paths) - shown} more' if len(paths) > shown else ''
        merged.append(f'{len(paths)} scenes ({names}{more}): {reason}')
    return merged


def failure_message(path: str, exc: BaseException) -> str:
    """A scene's failure as one line that names its file (once)."""
    text = str(exc)
    return text if str(path) in text or isinstance(exc, GeoError) else f'{path}: {text}'
