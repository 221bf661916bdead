"""One tiling run (:func:`tile_scenes`): inspect, write the statistics, tile, record, then write the manifest.

The phases live in their modules (:mod:`.inspection`, :mod:`.norm_stats`, :mod:`.scheduler`, :mod:`.resume`,
:mod:`.manifest`); this one orders them while holding the output folder's lock.
"""
import time
import warnings
from pathlib import Path
from typing import Sequence

from rsseg.formats.files import OutputLock

from ..scenes import Scene
from .config import TileConfig
from .errors import TilerWarning, TilingError
from .inspection import check_consistent, inspect_all
from .layout import RECORD_DIR, remove_temp_files
from .manifest import build_manifest
from .norm_stats import write_norm_stats
from .pool import Pool
from .report import TileReport
from .resume import drop_stale_chips, finished_record, save_record, scene_key
from .scheduler import tile_all


def tile_scenes(scenes: Sequence[Scene], out_dir: str, config: TileConfig, workers: int = 1,
                keep_going: bool = False, progress: bool = True) -> TileReport:
    """Tile scenes of one domain into chips and a manifest (see :mod:`rsseg.geo.tiler`).

    Args:
        scenes: Scenes to tile (images with optional labels), e.g. from :func:`rsseg.geo.scenes.match_scenes`.
        out_dir: Output folder (created).
        config: Tiling settings.
        workers: Worker processes (1: in this process).
        keep_going: Tile what can be tiled and report failures instead of stopping at the first.
        progress: Show a tqdm progress bar over windows.

    Returns:
        A :class:`TileReport`.

    Raises:
        TilingError: A scene failed (without ``keep_going``), or no chip could be written at all.
        ValueError: Empty scene list, duplicate scene names, inconsistent scenes in one domain.
    """
    start = time.perf_counter()
    if not scenes:
        raise ValueError('no input scenes to tile (the image list is empty)')
    names = [s.name for s in scenes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'scene names must be unique, repeated: {dup}')
    out = Path(out_dir)
    with OutputLock(out, 'tiler output folder'):
        return _tile_locked(scenes, out, config, workers, keep_going, progress, start)


def _tile_locked(scenes: Sequence[Scene], out: Path, config: TileConfig, workers: int, keep_going: bool,
                 progress: bool, start: float) -> TileReport:
    """:func:`tile_scenes` while holding the output folder's lock."""
    names = [s.name for s in scenes]
    for sub in ('img_dir', RECORD_DIR) + (('ann_dir',) if any(s.label for s in scenes) else ()):
        (out / sub).mkdir(parents=True, exist_ok=True)
    remove_temp_files(out)
    report = TileReport(manifest=None)
    keys = {s.name: scene_key(s, config) for s in scenes}
    done = {s.name: rec for s in scenes if (rec := finished_record(out, s.name, keys[s.name])) is not None}
    need_stats = config.norm_stats is None
    with Pool(workers) as pool:
        infos = inspect_all(pool, scenes, config, keys, done, need_stats, keep_going, report)
        done = {n: rec for n, rec in done.items() if n in infos}
        report.resumed = [n for n in names if n in done]
        active = {n: i for n, i in infos.items() if not i.skip_reason}
        check_consistent(active, config)
        stats_meta = write_norm_stats(out, active, config, report)
        todo = [s for s in scenes if s.name in infos and s.name not in done and not infos[s.name].skip_reason]
        if todo:  # chips are about to change: a manifest of an earlier run would no longer match them
            (out / 'manifest.json').unlink(missing_ok=True)
        for s in scenes:
            if s.name in infos and infos[s.name].skip_reason and s.name not in done:
                drop_stale_chips(out, s.name)
                done[s.name] = save_record(out, s.name, keys[s.name], infos[s.name], [], infos[s.name].skip_reason)
        finished, megapixels = tile_all(pool, todo, infos, config, out, keep_going, progress, report)
    done.update(finished)
    report.tiled = [s.name for s in todo if s.name in finished]
    report.megapixels = megapixels
    for name in names:
        if name in done and done[name].get('skip_reason'):
            report.empty[name] = done[name]['skip_reason']
            warnings.warn(f'{_scene_path(scenes, name)}: {done[name]["skip_reason"]}; no chips (skipped)',
                          TilerWarning, stacklevel=2)
    manifest = build_manifest(scenes, done, infos, config, out, stats_meta, report)
    if not manifest.chips:
        raise TilingError('no chip was written: ' + ('; '.join(f'{k}: {v}' for k, v in
                                                                {**report.failed, **report.empty}.items())
                                                      or 'no scene'))
    manifest.save(out / 'manifest.json')
    report.manifest = out / 'manifest.json'
    report.chips = len(manifest.chips)
    report.seconds = time.perf_counter() - start
    return report


def _scene_path(scenes: Sequence[Scene], name: str) -> str:
    """The image file of scene ``name``."""
    return next(s.image for s in scenes if s.name == name)
