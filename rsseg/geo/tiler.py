"""Tile whole scenes of one domain into georeferenced chip GeoTIFFs and an rsseg manifest.

Pipeline (``tile_scenes``):

1. **Inspect** every scene (in parallel): open it, check bands, plan its common grid (:mod:`rsseg.geo.grid`), check
   its label lies on the image's grid and holds only known classes / colours (the whole label is scanned, so every
   unknown value is reported with its pixel count before any chip is written), and sample pixels for the
   normalisation statistics of non-8-bit imagery.
2. **Tile** (in parallel, each worker opening its own file handles): a scene's windows (:func:`iter_windows`) are cut
   into groups; a worker reads a group's whole extent once on the common grid (through a ``WarpedVRT`` when
   resampling or reprojecting), then writes each chip whose valid fraction reaches ``min_valid``: the image chip in
   the source dtype with CRS, window transform and nodata (or an internal mask); the label chip as uint8 class
   indices with nodata → 255 and a colour table.
3. **Record**: when every group of a scene is done, its records go to ``OUT/.tiles/<scene>.json`` (temporary name,
   then rename). A rerun skips scenes whose record matches the settings and input files; a killed run leaves no
   partial file (chips too are written under temporary names). Finally the manifest (``OUT/manifest.json``) is
   written from the scene records with a deterministic, seeded split *by scene*, plus the normalisation sidecar(s).

Output layout: ``OUT/img_dir/<scene>_r<row>_c<col>.tif``, ``OUT/ann_dir/<same>.tif``, ``OUT/norm_stats.json`` (per
domain) or ``OUT/norm_stats/<scene>.json`` (per scene), ``OUT/manifest.json``.
"""
import atexit
import functools
import hashlib
import json
import math
import os
import random
import re
import sys
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds
from rasterio.windows import transform as window_transform
from tqdm import tqdm

from rsseg.formats.errors import GeoError
from rsseg.formats.files import OutputLock, WriteError, remove_stale_temps, resolve_all, write_json
from rsseg.formats.label_coding import LabelCoding, default_colors
from rsseg.formats.manifest import SPLITS, ChipRecord, Manifest

from .chips import CHIP_ENV, chip_profile, write_chip
from .class_styles import class_colormap
from .grid import Grid, check_label_grid, open_on_grid, pick_resampling, plan_grid
from .io import check_bands, is_vsi, open_raster, read_window
from .normalization import NormStats
from .scenes import Scene
from .stats import DEFAULT_PERCENTILES, sample_windows, scene_sample, stats_from_samples
from .tiling import end_aligned_starts, iter_windows, size_pair
from .validity import nodata_or_mask

RECORD_DIR = '.tiles'
TILER_VERSION = 1
GROUP_BUDGET_BYTES = 64 << 20
GROUP_MAX_WIDTH = 4096


class TilingError(ValueError):
    """Tiling failed; the message names the scene file(s) and the problem(s)."""


@dataclass
class TileConfig:
    """Settings of one tiling run (one domain).

    Attributes:
        chip: Chip size ``(h, w)`` in pixels of the common grid.
        stride: Step ``(h, w)`` between chips (``<= chip``; smaller means overlap).
        gsd: Target pixel size in metres (None: each scene's own grid).
        crs: Target CRS (None: each scene's own; its UTM zone for scenes in degrees when ``gsd`` is set).
        bands: 1-based source bands in chip order (None: all).
        band_names: Optional names of the chip bands (recorded in the manifest).
        min_valid: Minimum fraction of valid (not nodata) pixels for a chip to be written.
        nodata: Image nodata override (the file's masks are then ignored).
        resampling: Image resampling (``auto``: average when coarsening, bilinear otherwise).
        label_resampling: Label resampling (``auto``: mode when coarsening, nearest otherwise).
        coding: Label coding and class names; required for labelled scenes.
        trust_label_grid: Accept labels whose CRS tag differs from the image's on the same grid, however far.
        alpha_is_data: Bands tagged alpha hold data (e.g. the near-infrared of an RGBIR tile written as RGBA), so no
            alpha mask is applied; by default an alpha band is the validity mask, as GDAL reads it.
        compress: Chip compression (``deflate``, ``lzw``, ``zstd``, ``none``).
        norm_scope: ``'domain'`` (one sidecar for all scenes) or ``'scene'`` (one per scene).
        percentiles: Low/high percentiles of the normalisation statistics.
        norm_stats: A precomputed sidecar to use instead of computing one (copied into the output folder).
        stats_pixels: About how many pixels to sample for the statistics (per domain, or per scene).
        splits: Train/val/test fractions (by scene).
        split_seed: Seed of the split.
        split_map: Explicit ``{scene: split}`` (published splits); listed scenes ignore ``splits``.
        domain: Domain name recorded in the manifest.
    """

    chip: Tuple[int, int]
    stride: Tuple[int, int]
    gsd: Optional[float] = None
    crs: Optional[str] = None
    bands: Optional[List[int]] = None
    band_names: Optional[List[str]] = None
    min_valid: float = 0.5
    nodata: Optional[float] = None
    resampling: str = 'auto'
    label_resampling: str = 'auto'
    coding: Optional[LabelCoding] = None
    trust_label_grid: bool = False
    alpha_is_data: bool = False
    compress: str = 'deflate'
    norm_scope: str = 'domain'
    percentiles: Tuple[float, float] = DEFAULT_PERCENTILES
    norm_stats: Optional[str] = None
    stats_pixels: int = 1 << 17
    splits: Tuple[float, float, float] = (0.8, 0.1, 0.1)
    split_seed: int = 0
    split_map: Optional[Dict[str, str]] = None
    domain: str = ''

    def __post_init__(self) -> None:
        self.chip = size_pair(self.chip, 'chip')
        self.stride = size_pair(self.stride, 'stride')
        if self.stride[0] > self.chip[0] or self.stride[1] > self.chip[1]:
            raise ValueError(f'stride {self.stride} larger than chip {self.chip} would skip pixels')
        if not 0.0 <= self.min_valid <= 1.0:
            raise ValueError(f'min_valid must be within [0, 1], got {self.min_valid}')
        if self.norm_scope not in ('domain', 'scene'):
            raise ValueError(f"norm_scope must be 'domain' or 'scene', got {self.norm_scope!r}")
        if len(self.splits) != 3 or min(self.splits) < 0 or not math.isclose(sum(self.splits), 1.0, abs_tol=1e-6):
            raise ValueError(f'splits must be three non-negative train,val,test fractions summing to 1, '
                             f'got {self.splits}')
        if self.band_names and self.bands and len(self.band_names) != len(self.bands):
            raise ValueError(f'{len(self.band_names)} band names for {len(self.bands)} bands')
        bad = {s for s in (self.split_map or {}).values() if s not in SPLITS}
        if bad:
            raise ValueError(f'unknown split name(s) {sorted(bad)} in the split map (use {", ".join(SPLITS)})')

    def chip_settings(self) -> dict:
        """Settings that determine the chips (their change invalidates finished scenes)."""
        coding = asdict(self.coding) if self.coding else None
        if coding and coding.get('value_map'):
            coding['value_map'] = sorted(coding['value_map'].items())
        return dict(version=TILER_VERSION, chip=list(self.chip), stride=list(self.stride), gsd=self.gsd,
                    crs=self.crs, bands=self.bands, min_valid=self.min_valid, nodata=_json_value(self.nodata),
                    resampling=self.resampling, label_resampling=self.label_resampling, coding=coding,
                    trust_label_grid=self.trust_label_grid, alpha_is_data=self.alpha_is_data,
                    compress=self.compress)


@dataclass
class ScenePlan:
    """How a scene is tiled, as inspection found it: grid, bands, nodata or mask, label reading (for the workers)."""

    name: str
    grid: Grid
    bands: List[int]
    dtype: str
    nodata: Optional[float]
    masked: bool
    key: str
    label_bands: List[int] = field(default_factory=list)
    label_crs: Optional[str] = None
    label_transform: Optional[Tuple[float, ...]] = None
    label_colormap: Optional[Dict[int, Tuple[int, ...]]] = None
    label_nodata: Optional[float] = None
    skip_reason: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    sample: Optional[np.ndarray] = None


@dataclass
class TileReport:
    """Outcome of :func:`tile_scenes`.

    Attributes:
        manifest: Path of the manifest written (None when nothing could be written).
        tiled: Scenes tiled in this run.
        resumed: Scenes skipped because a previous run finished them with the same settings.
        empty: ``{scene: reason}`` for scenes that gave no chip (entirely nodata, or below ``min_valid``).
        failed: ``{scene: message}`` (only with ``keep_going``).
        chips: Chips in the manifest.
        megapixels: Megapixels of chip windows processed in this run (image pixels on the common grid).
        seconds: Wall time.
    """

    manifest: Optional[Path]
    tiled: List[str] = field(default_factory=list)
    resumed: List[str] = field(default_factory=list)
    empty: Dict[str, str] = field(default_factory=dict)
    failed: Dict[str, str] = field(default_factory=dict)
    chips: int = 0
    megapixels: float = 0.0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line per outcome, for the CLI."""
        lines = [f'{self.chips} chips from {len(self.tiled)} tiled + {len(self.resumed)} resumed scene(s) '
                 f'in {self.seconds:.1f} s ({self.megapixels / max(self.seconds, 1e-9):.1f} MP/s)'
                 + (f' -> {self.manifest}' if self.manifest else '')]
        lines += [f'  empty: {name}: {reason}' for name, reason in self.empty.items()]
        if self.failed:
            lines.append(f'{len(self.failed)} scene(s) failed:')
            lines += [f'  {name}: {msg}' for name, msg in self.failed.items()]
        return '\n'.join(lines)


# --------------------------------------------------------------------------------------------------------------------
# public API


def tile_scenes(scenes: Sequence[Scene], out_dir: str, config: TileConfig, workers: int = 1,
                keep_going: bool = False, progress: bool = True) -> TileReport:
    """Tile scenes of one domain into chips and a manifest (see the module docstring).

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
    _remove_temp_files(out)
    report = TileReport(manifest=None)
    keys = {s.name: _scene_key(s, config) for s in scenes}
    done = {s.name: rec for s in scenes if (rec := _finished_record(out, s.name, keys[s.name])) is not None}
    need_stats = config.norm_stats is None
    with _Pool(workers) as pool:
        infos = _inspect_all(pool, scenes, config, keys, done, need_stats, keep_going, report)
        done = {n: rec for n, rec in done.items() if n in infos}
        report.resumed = [n for n in names if n in done]
        active = {n: i for n, i in infos.items() if not i.skip_reason}
        _check_consistent(active, config)
        stats_meta = _write_norm_stats(out, active, config, report)
        todo = [s for s in scenes if s.name in infos and s.name not in done and not infos[s.name].skip_reason]
        if todo:  # chips are about to change: a manifest of an earlier run would no longer match them
            (out / 'manifest.json').unlink(missing_ok=True)
        for s in scenes:
            if s.name in infos and infos[s.name].skip_reason and s.name not in done:
                _drop_stale_chips(out, s.name)
                done[s.name] = _save_record(out, s.name, keys[s.name], infos[s.name], [], infos[s.name].skip_reason)
        finished, megapixels = _tile_all(pool, todo, infos, config, out, keep_going, progress, report)
    done.update(finished)
    report.tiled = [s.name for s in todo if s.name in finished]
    report.megapixels = megapixels
    for name in names:
        if name in done and done[name].get('skip_reason'):
            report.empty[name] = done[name]['skip_reason']
            warnings.warn(f'{_scene_path(scenes, name)}: {done[name]["skip_reason"]}; no chips (skipped)',
                          TilerWarning, stacklevel=2)
    manifest = _build_manifest(scenes, done, infos, config, out, stats_meta, report)
    if not manifest.chips:
        raise TilingError('no chip was written: ' + ('; '.join(f'{k}: {v}' for k, v in
                                                                {**report.failed, **report.empty}.items())
                                                      or 'no scene'))
    manifest.save(out / 'manifest.json')
    report.manifest = out / 'manifest.json'
    report.chips = len(manifest.chips)
    report.seconds = time.perf_counter() - start
    return report


class TilerWarning(UserWarning):
    """A scene was skipped or needs attention (all nodata, no chip above ``min_valid``, grid warnings)."""


# --------------------------------------------------------------------------------------------------------------------
# process pool


_EXECUTORS: Dict[int, ProcessPoolExecutor] = {}


def _executor(workers: int) -> ProcessPoolExecutor:
    """A process pool of ``workers``, kept for later calls in this process (starting one costs ~0.1 s per worker).

    Jobs carry everything they need (pickled), so a pool forked earlier serves later runs; a broken pool (a worker
    killed) is replaced.
    """
    pool = _EXECUTORS.get(workers)
    if pool is None or getattr(pool, '_broken', False) or getattr(pool, '_shutdown_thread', False):
        method = 'fork' if sys.platform.startswith('linux') else 'spawn'
        pool = ProcessPoolExecutor(workers, mp_context=get_context(method), initializer=_die_with_parent)
        _EXECUTORS[workers] = pool
    return pool


def _die_with_parent() -> None:
    """Worker initializer: the kernel kills this worker when the tiler dies (even by SIGKILL), on Linux."""
    if sys.platform.startswith('linux'):
        import ctypes
        import signal
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


@atexit.register
def _shutdown_executors() -> None:
    for pool in _EXECUTORS.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _EXECUTORS.clear()


class _Pool:
    """A process pool (fork context) or, for one worker, a synchronous stand-in with the same interface."""

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))
        self.executor: Optional[ProcessPoolExecutor] = None

    def __enter__(self) -> '_Pool':
        if self.workers > 1:
            self.executor = _executor(self.workers)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.executor = None

    def submit(self, fn: Any, *args: Any) -> Future:
        if self.executor is not None:
            return self.executor.submit(fn, *args)
        fut: Future = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - delivered like a worker's exception
            fut.set_exception(exc)
        return fut


# --------------------------------------------------------------------------------------------------------------------
# phase 1: inspect


def _inspect_all(pool: _Pool, scenes: Sequence[Scene], config: TileConfig, keys: Dict[str, str],
                 done: Dict[str, dict], need_stats: bool, keep_going: bool,
                 report: TileReport) -> Dict[str, ScenePlan]:
    """Inspect every scene; failures stop the run (before anything is written) unless ``keep_going``."""
    per_scene_pixels = config.stats_pixels if config.norm_scope == 'scene' else max(
        4096, config.stats_pixels // len(scenes))
    futures = [pool.submit(_inspect_scene, s, config, keys[s.name], need_stats, per_scene_pixels,
                           s.name not in done) for s in scenes]
    infos: Dict[str, ScenePlan] = {}
    errors: Dict[str, str] = {}
    for scene, fut in zip(scenes, futures):
        result = fut.result()
        if isinstance(result, str):
            errors[scene.name] = result
            continue
        infos[scene.name] = result
    for message in merge_scene_warnings([m for info in infos.values() for m in info.warnings]):
        warnings.warn(message, TilerWarning, stacklevel=3)
    if errors and not keep_going:
        first = next(iter(errors.values()))
        more = f' (and {len(errors) - 1} more scene(s) failed; --keep-going reports all)' if len(errors) > 1 else ''
        raise TilingError(first + more)
    report.failed.update(errors)
    return infos


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


def _inspect_scene(scene: Scene, config: TileConfig, key: str, need_stats: bool, stats_pixels: int,
                   check_label: bool):
    """Phase-1 worker: a :class:`ScenePlan`, or the error message (str) naming the file."""
    try:
        with warnings.catch_warnings(record=True) as caught, rasterio.Env(**CHIP_ENV):
            warnings.simplefilter('always')
            info = _inspect(scene, config, key, need_stats, stats_pixels, check_label)
        info.warnings = [str(w.message) for w in caught
                         if issubclass(w.category, UserWarning) and 'NotGeoreferenced' not in w.category.__name__]
        return info
    except (GeoError, ValueError) as exc:
        return _message(scene.image, exc)
    except Exception as exc:  # noqa: BLE001 - reported per scene (keep_going), never swallowed silently
        return f'{scene.image}: {type(exc).__name__}: {exc}'


def _inspect(scene: Scene, config: TileConfig, key: str, need_stats: bool, stats_pixels: int,
             check_label: bool) -> ScenePlan:
    with open_raster(scene.image) as img:
        bands = check_bands(scene.image, img.count, config.bands)
        dtypes = {img.dtypes[b - 1] for b in bands}
        if len(dtypes) > 1:
            raise GeoError(scene.image, f'selected bands have different data types {sorted(dtypes)}')
        grid = plan_grid(img, scene.image, config.gsd, config.crs)
        ds = open_on_grid(img, grid, pick_resampling(config.resampling, 'image', img, grid), config.nodata,
                          alpha_is_data=config.alpha_is_data)
        nodata, masked = nodata_or_mask(ds, bands, config.nodata, config.alpha_is_data)
        alpha = [b for b in bands if img.colorinterp[b - 1] == rasterio.enums.ColorInterp.alpha]
        if alpha and not config.alpha_is_data and config.bands is not None:
            warnings.warn(f'{scene.image}: band {alpha[0]} is tagged alpha, so it is used as the validity mask; '
                          'pass --alpha-is-data if it holds data (e.g. near-infrared)', TilerWarning, stacklevel=2)
        info = ScenePlan(scene.name, grid, bands, dtypes.pop(), _json_float(nodata), masked, key)
        if scene.label is not None:
            _inspect_label(scene, config, img, info, check_label)
        if need_stats and info.dtype != 'uint8':
            sample = scene_sample(ds, scene.image, bands, stats_pixels, config.nodata, config.alpha_is_data)
            info.sample = sample
            covered = len(sample_windows(ds.width, ds.height, stats_pixels)) == len(
                iter_windows(ds.width, ds.height, 256, 256))
            if sample.shape[1] == 0 and covered:
                info.skip_reason = 'the scene is entirely nodata'
        if ds is not img:
            ds.close()
    return info


def _inspect_label(scene: Scene, config: TileConfig, img: rasterio.io.DatasetReader, info: ScenePlan,
                   check_values: bool) -> None:
    """Check the label's grid, band layout and (unless resuming) every value; fill the label fields of ``info``."""
    label, coding = _label_and_coding(scene, config)
    with open_raster(label) as lbl:
        src_crs, src_transform = check_label_grid(img, scene.image, lbl, label, config.trust_label_grid)
        info.label_crs = src_crs.to_wkt() if src_crs is not None else None
        info.label_transform = tuple(src_transform)[:6] if src_transform is not None else None
        if coding.mode == 'color':
            if lbl.count >= 3:
                info.label_bands = [1, 2, 3]
            else:
                try:
                    info.label_colormap = {int(k): tuple(v) for k, v in lbl.colormap(1).items()}
                except ValueError:
                    raise GeoError(label, f'colour-coded label has {lbl.count} band(s) and no colour table '
                                          '(expected RGB)') from None
                info.label_bands = [1]
        else:
            if lbl.count != 1:
                raise GeoError(label, f'class label raster has {lbl.count} bands, expected 1 (for RGB '
                                      'colour-coded labels pass --palette)')
            info.label_bands = [1]
        info.label_nodata = _json_float(coding.nodata if coding.nodata is not None else (
            lbl.nodata if coding.mode == 'index' else None))
        if check_values:
            _scan_label(label, lbl, coding, info)


def _label_and_coding(scene: Scene, config: TileConfig) -> Tuple[str, LabelCoding]:
    """A labelled scene's label file and the coding that reads it; labels without class names are refused."""
    if scene.label is None:
        raise ValueError(f'scene {scene.name} has no label')
    if config.coding is None:
        raise GeoError(scene.label, 'labels need class names: pass --classes or --palette')
    return scene.label, config.coding


def _scan_label(path: str, lbl: rasterio.io.DatasetReader, coding: LabelCoding, info: ScenePlan) -> None:
    """Scan every label pixel in strips; unknown values / colours raise one error listing all with counts."""
    unknown: Dict[float, int] = {}
    rows = max(1, min(lbl.height, (16 << 20) // max(1, lbl.width * 8)))
    for row in range(0, lbl.height, rows):
        window = Window(0, row, lbl.width, min(rows, lbl.height - row))
        raw, lvalid = read_window(lbl, path, info.label_bands, window, _label_nodata_override(coding, info))
        keys = coding.keys_of(raw, info.label_colormap)
        _, bad = coding.encode(keys, ~lvalid if coding.mode == 'index' else None)
        if bad.any():
            values, counts = np.unique(keys[bad], return_counts=True)
            for v, n in zip(values.tolist(), counts.tolist()):
                unknown[v] = unknown.get(v, 0) + n
    if unknown:
        keys_arr = np.array(list(unknown), np.float64)
        raise coding.unknown_error(path, keys_arr, np.array(list(unknown.values())))


def _label_nodata_override(coding: LabelCoding, info: ScenePlan) -> Optional[float]:
    """Nodata value for reading label validity: the coding's override (index labels), else the file's masks."""
    return coding.nodata if coding.mode == 'index' else None


def _check_consistent(infos: Dict[str, ScenePlan], config: TileConfig) -> None:
    """Scenes of one domain must share band count and (with per-domain statistics) the data type."""
    if not infos:
        return
    counts = {len(i.bands) for i in infos.values()}
    if len(counts) > 1:
        raise TilingError(f'scenes of one domain must have the same number of bands, got {sorted(counts)}: '
                          + ', '.join(f'{n}={len(i.bands)}' for n, i in list(infos.items())[:6]))
    dtypes = {i.dtype for i in infos.values()}
    if len(dtypes) > 1:
        raise TilingError(f'scenes of one domain must share a data type, got {sorted(dtypes)} ('
                          + ', '.join(f'{n}: {i.dtype}' for n, i in list(infos.items())[:6])
                          + '); tile them as separate domains')


# --------------------------------------------------------------------------------------------------------------------
# normalisation statistics


def _write_norm_stats(out: Path, infos: Dict[str, ScenePlan], config: TileConfig,
                      report: TileReport) -> Dict[str, Any]:
    """Write the sidecar(s) for non-8-bit imagery; returns manifest fields (``norm_stats``, per-scene map)."""
    if not infos:
        return {}
    dtype = next(iter(infos.values())).dtype
    bands = next(iter(infos.values())).bands
    if config.norm_stats is not None:
        stats = NormStats.load(config.norm_stats)
        if len(stats.low) != len(bands):
            raise TilingError(f'{config.norm_stats}: statistics for {len(stats.low)} band(s), the chips have '
                              f'{len(bands)}')
        stats.save(out / 'norm_stats.json')
        return dict(norm_stats='norm_stats.json')
    if dtype == 'uint8':
        return {}
    samples = {n: i.sample for n, i in infos.items() if i.sample is not None and i.sample.size}
    for info in infos.values():
        info.sample = None  # not shipped to the tiling workers
    if config.norm_scope == 'domain':
        try:
            stats = stats_from_samples(list(samples.values()), bands, config.percentiles, 'domain')
        except ValueError:
            raise TilingError('no valid pixels in any scene to compute normalisation statistics from') from None
        _warn_flat(stats, 'the domain')
        stats.save(out / 'norm_stats.json')
        return dict(norm_stats='norm_stats.json')
    (out / 'norm_stats').mkdir(exist_ok=True)
    by_scene = {}
    for name in infos:
        if name not in samples:
            continue
        stats = stats_from_samples([samples[name]], bands, config.percentiles, 'scene')
        _warn_flat(stats, f'scene {name}')
        stats.save(out / 'norm_stats' / f'{name}.json')
        by_scene[name] = f'norm_stats/{name}.json'
    return dict(norm_stats_by_scene=by_scene)


def _warn_flat(stats: NormStats, where: str) -> None:
    flat = [b for b, lo, hi in zip(stats.bands, stats.low, stats.high) if hi <= lo]
    if flat:
        warnings.warn(f'band(s) {flat} are constant in the statistics sample of {where} (low == high == '
                      f'{stats.low[stats.bands.index(flat[0])]:g}); normalised values will be 0 or 1',
                      TilerWarning, stacklevel=3)


# --------------------------------------------------------------------------------------------------------------------
# phase 2: tile


@dataclass
class _Job:
    scene: Scene
    info: ScenePlan
    config: TileConfig
    out: str
    union: Tuple[int, int, int, int]
    windows: List[Tuple[int, int, int, int]]


def _tile_all(pool: _Pool, scenes: Sequence[Scene], infos: Dict[str, ScenePlan], config: TileConfig, out: Path,
              keep_going: bool, progress: bool, report: TileReport) -> Tuple[Dict[str, dict], float]:
    """Run the tiling jobs of all scenes; returns the finished scene records and the megapixels processed."""
    jobs: Dict[str, List[_Job]] = {}
    for scene in scenes:
        _drop_stale_chips(out, scene.name)
        jobs[scene.name] = _make_jobs(scene, infos[scene.name], config, out, pool.workers)
    total = sum(len(j.windows) for js in jobs.values() for j in js)
    pending: Dict[Future, _Job] = {}
    results: Dict[str, List[dict]] = {n: [] for n in jobs}
    written: Dict[str, List[str]] = {n: [] for n in jobs}
    remaining = {n: len(js) for n, js in jobs.items()}
    failed: Dict[str, str] = {}
    finished: Dict[str, dict] = {}
    any_valid = {n: False for n in jobs}
    queue = [j for js in jobs.values() for j in js]
    bar = tqdm(total=total, unit='win', desc='tiling', disable=not progress, dynamic_ncols=True)
    try:
        while queue or pending:
            while queue and len(pending) < 2 * pool.workers:
                job = queue.pop(0)
                if job.scene.name not in failed:
                    pending[pool.submit(_tile_job, job)] = job
            if not pending:
                continue
            done_set, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done_set:
                job = pending.pop(fut)
                name = job.scene.name
                res = fut.result()
                bar.update(len(job.windows))
                written[name].extend(res['written'])
                if res['error'] is not None:
                    failed.setdefault(name, res['error'])
                    continue
                results[name].extend(res['records'])
                any_valid[name] |= res['any_valid']
                remaining[name] -= 1
                if remaining[name] == 0 and name not in failed:
                    info = infos[name]
                    records = sorted(results[name], key=lambda r: (r['window'][1], r['window'][0]))
                    reason = None if records else (f'no chip reaches --min-valid {config.min_valid}'
                                                   if any_valid[name] else 'the scene is entirely nodata')
                    finished[name] = _save_record(out, name, info.key, info, records, reason)
            if failed and not keep_going:
                queue.clear()
    finally:
        bar.close()
        running = [fut for fut in pending if not fut.cancel()]
        wait(running)  # let started jobs finish so that their chips can be accounted for (and removed)
        for fut in running:
            if not fut.cancelled() and fut.exception() is None:
                written[pending[fut].scene.name].extend(fut.result()['written'])
    for name in failed:
        _remove(written[name])
    if failed and not keep_going:
        for name in jobs:
            if name not in finished:
                _remove(written[name])
        first = next(iter(failed.values()))
        more = f' (and {len(failed) - 1} more scene(s) failed)' if len(failed) > 1 else ''
        raise TilingError(first + more)
    report.failed.update(failed)
    return finished, sum(infos[n].grid.width * infos[n].grid.height / 1e6 for n in finished)


def _make_jobs(scene: Scene, info: ScenePlan, config: TileConfig, out: Path, workers: int) -> List[_Job]:
    """Group a scene's windows into rectangles read in one go (bounded memory, enough jobs to balance workers)."""
    grid = info.grid
    chip_h, chip_w = config.chip
    rows = end_aligned_starts(grid.height, chip_h, config.stride[0])
    cols = end_aligned_starts(grid.width, chip_w, config.stride[1])
    win_h, win_w = min(chip_h, grid.height), min(chip_w, grid.width)
    col_groups = _chunk(cols, win_w, max(win_w, GROUP_MAX_WIDTH))
    union_w = max(g[-1] + win_w - g[0] for g in col_groups)
    bytes_per_px = len(info.bands) * np.dtype(info.dtype).itemsize + 2 + (12 if scene.label else 0)
    max_h = max(win_h, min(GROUP_BUDGET_BYTES // max(1, union_w * bytes_per_px),
                           math.ceil(grid.height / max(1, 2 * workers))))
    row_groups = _chunk(rows, win_h, max_h)
    jobs = []
    for rg in row_groups:
        for cg in col_groups:
            union = (cg[0], rg[0], cg[-1] + win_w - cg[0], rg[-1] + win_h - rg[0])
            windows = [(c, r, win_w, win_h) for r in rg for c in cg]
            jobs.append(_Job(scene, info, config, str(out), union, windows))
    return jobs


def _chunk(starts: List[int], size: int, max_extent: int) -> List[List[int]]:
    groups: List[List[int]] = [[starts[0]]]
    for s in starts[1:]:
        if s + size - groups[-1][0] <= max_extent:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


def _tile_job(job: _Job) -> dict:
    """Phase-2 worker: read a group's extent once, write its chips; never raises (errors are returned)."""
    written: List[str] = []
    try:
        with warnings.catch_warnings(), rasterio.Env(**CHIP_ENV):
            warnings.simplefilter('ignore', rasterio.errors.NotGeoreferencedWarning)
            result = _tile(job, written)
        result['written'] = written
        result['error'] = None
        return result
    except Exception as exc:  # noqa: BLE001 - any failure fails the scene, reported with its file
        _remove(written)
        msg = _message(job.scene.image, exc) if isinstance(exc, (GeoError, ValueError, WriteError)) else (
            f'{job.scene.image}: {type(exc).__name__}: {exc}')
        return dict(records=[], written=[], error=msg, any_valid=False)


def _tile(job: _Job, written: List[str]) -> dict:
    scene, info, config = job.scene, job.info, job.config
    grid, out = info.grid, Path(job.out)
    col0, row0, width, height = job.union
    union = Window(col0, row0, width, height)
    with open_raster(scene.image) as img:
        ds = open_on_grid(img, grid, pick_resampling(config.resampling, 'image', img, grid), config.nodata,
                          alpha_is_data=config.alpha_is_data)
        data, valid = read_window(ds, scene.image, info.bands, union, config.nodata, config.alpha_is_data)
        if ds is not img:
            ds.close()
    labels = _read_labels(job, union, valid) if scene.label else None
    crs = grid.rio_crs  # parsed once: a WKT string in the profile would be parsed again for every chip (~5 ms)
    profile = chip_profile(info.dtype, len(info.bands), config.chip[0], config.chip[1], crs, info.nodata,
                           config.compress)
    coding = config.coding
    lbl_profile = chip_profile('uint8', 1, config.chip[0], config.chip[1], crs, 255, config.compress)
    cmap = class_colormap(coding.colors or default_colors(coding.num_classes)) if coding and labels is not None \
        else None
    records = []
    for col, row, w, h in job.windows:
        sl = (slice(row - row0, row - row0 + h), slice(col - col0, col - col0 + w))
        chip_valid = valid[sl]
        fraction = float(chip_valid.mean())
        if fraction == 0.0 or fraction < config.min_valid:
            continue
        window = Window(col, row, w, h)
        transform = window_transform(window, grid.affine)
        stem = f'{scene.name}_r{row}_c{col}'
        img_path = out / 'img_dir' / f'{stem}.tif'
        mask = chip_valid if info.masked and not chip_valid.all() else None
        write_chip(img_path, np.ascontiguousarray(data[(slice(None),) + sl]), profile, transform, mask=mask)
        written.append(str(img_path))
        record = dict(img=f'img_dir/{stem}.tif', scene=scene.name, window=[col, row, w, h],
                      bounds=[float(v) for v in window_bounds(window, grid.affine)] if grid.crs else None,
                      valid_fraction=round(fraction, 6))
        if labels is not None and coding is not None:  # labels are read with a coding (_read_labels)
            chip_lbl = labels[sl]
            ann_path = out / 'ann_dir' / f'{stem}.tif'
            write_chip(ann_path, np.ascontiguousarray(chip_lbl)[None], lbl_profile, transform, colormap=cmap)
            written.append(str(ann_path))
            hist = np.bincount(chip_lbl[chip_lbl != coding.ignore_index].ravel(), minlength=coding.num_classes)
            record.update(ann=f'ann_dir/{stem}.tif', class_hist=[int(v) for v in hist[:coding.num_classes]])
        records.append(record)
    return dict(records=records, any_valid=bool(valid.any()))


def _read_labels(job: _Job, union: Window, valid: np.ndarray) -> np.ndarray:
    """Label extent on the common grid as uint8 class indices; nodata / invalid image pixels → ignore index."""
    info, config = job.info, job.config
    label, coding = _label_and_coding(job.scene, config)
    kind = 'color_label' if coding.mode == 'color' else 'label'
    with open_raster(label) as lbl:
        src_crs = rasterio.crs.CRS.from_wkt(info.label_crs) if info.label_crs else None
        src_transform = Affine(*info.label_transform) if info.label_transform else None
        nodata_override = _label_nodata_override(coding, info)
        lds = open_on_grid(lbl, info.grid, pick_resampling(config.label_resampling, kind, lbl, info.grid),
                           nodata_override, src_crs, src_transform)
        raw, lvalid = read_window(lds, label, info.label_bands, union, nodata_override)
        if lds is not lbl:
            lds.close()
    keys = coding.keys_of(raw, info.label_colormap)
    codes, unknown = coding.encode(keys, ~lvalid)
    codes[unknown] = coding.ignore_index
    codes[~valid] = coding.ignore_index
    return codes


# --------------------------------------------------------------------------------------------------------------------
# records, resume, manifest


def _scene_key(scene: Scene, config: TileConfig) -> str:
    """Hash of the chip settings and the input files' identity (path, size, modification time)."""
    ident = dict(settings=config.chip_settings(), image=_file_id(scene.image),
                 label=_file_id(scene.label) if scene.label else None)
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _file_id(path: str) -> List[Any]:
    if is_vsi(path):
        return [path]
    p = Path(path)
    try:
        st = p.stat()
        extra = [(Path(f'{path}.msk').stat().st_mtime_ns if Path(f'{path}.msk').exists() else None)]
        return [str(p.resolve()), st.st_size, st.st_mtime_ns] + extra
    except OSError:
        return [str(p)]


def _record_path(out: Path, name: str) -> Path:
    return out / RECORD_DIR / f'{name}.json'


def _finished_record(out: Path, name: str, key: str) -> Optional[dict]:
    """A previous run's record of ``name`` when its key matches and all its chips exist."""
    path = _record_path(out, name)
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


def _save_record(out: Path, name: str, key: str, info: ScenePlan, records: List[dict],
                 skip_reason: Optional[str]) -> dict:
    rec = dict(key=key, scene=name, grid=asdict(info.grid), dtype=info.dtype, bands=info.bands,
               records=records, skip_reason=skip_reason)
    write_json(_record_path(out, name), rec)
    return rec


def _drop_stale_chips(out: Path, name: str) -> None:
    """Remove the chips a previous run with other settings wrote for ``name``, and its record."""
    path = _record_path(out, name)
    if not path.is_file():
        return
    try:
        rec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        rec = dict(records=[])
    _remove([str(f) for f in _record_files(out, path, rec)])
    path.unlink()


def _remove(paths: Sequence[str]) -> None:
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def _remove_temp_files(out: Path) -> None:
    """Temporary files killed runs left behind (:func:`~rsseg.formats.files.remove_stale_temps`)."""
    for sub in ('img_dir', 'ann_dir', RECORD_DIR, '.', 'norm_stats'):
        remove_stale_temps(out / sub)


def assign_splits(names: Sequence[str], fractions: Sequence[float], seed: int,
                  fixed: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Deterministic train/val/test split **by scene**.

    Scenes in ``fixed`` keep their split. The others are sorted by name, shuffled with ``random.Random(seed)`` and
    cut by the fractions (rounded; every split with a positive fraction gets at least one scene when there are
    enough scenes), so the result depends only on the set of names, the fractions and the seed.
    """
    fixed = fixed or {}
    out = {n: fixed[n] for n in names if n in fixed}
    free = sorted(n for n in names if n not in fixed)
    random.Random(seed).shuffle(free)
    n = len(free)
    counts = [int(round(f * n)) for f in fractions]
    positive = [i for i, f in enumerate(fractions) if f > 0]
    if n >= len(positive):
        for i in positive:
            if counts[i] == 0:
                counts[i] = 1
    while sum(counts) > n:
        floor = [1 if (fractions[k] > 0 and n >= len(positive)) else 0 for k in range(3)]
        movable = [k for k in range(3) if counts[k] > floor[k]] or [k for k in range(3) if counts[k] > 0]
        i = max(movable, key=lambda k: (counts[k] - fractions[k] * n, counts[k]))
        counts[i] -= 1
    counts[0] += n - sum(counts)
    split_names = ('train', 'val', 'test')
    pos = 0
    for i, c in enumerate(counts):
        for name in free[pos:pos + c]:
            out[name] = split_names[i]
        pos += c
    return out


def _build_manifest(scenes: Sequence[Scene], done: Dict[str, dict], infos: Dict[str, ScenePlan],
                    config: TileConfig, out: Path, stats_meta: Dict[str, Any], report: TileReport) -> Manifest:
    usable = [s.name for s in scenes if s.name in done]
    splits = assign_splits(usable, config.splits, config.split_seed, config.split_map)
    chips = []
    scene_meta = {}
    for scene in scenes:
        if scene.name not in done:
            continue
        rec = done[scene.name]
        for r in rec['records']:
            chips.append(ChipRecord(split=splits[scene.name], **r))
        grid = rec['grid']
        scene_meta[scene.name] = dict(image=_rel(scene.image, out), label=_rel(scene.label, out) if scene.label
                                      else None, split=splits[scene.name], crs=_crs_text(grid['crs']),
                                      gsd=grid['gsd'], size=[grid['width'], grid['height']],
                                      chips=len(rec['records']), skipped=rec.get('skip_reason'))
    grids = [done[n]['grid'] for n in usable]
    crs_set = {g['crs'] for g in grids}
    gsd_set = {g['gsd'] for g in grids}
    coding = config.coding
    classes = list(coding.classes) if coding else []
    palette = [list(c) for c in (coding.colors or default_colors(len(classes)))] if coding else []
    bands = done[usable[0]]['bands'] if usable else (config.bands or [])
    meta: Dict[str, Any] = dict(tiler=dict(_public_settings(config)), scenes=scene_meta,
                                splits=dict(fractions=list(config.splits), seed=config.split_seed,
                                            fixed=bool(config.split_map)))
    if config.band_names:
        meta['band_names'] = list(config.band_names)
    if report.failed:
        meta['failed'] = dict(sorted(report.failed.items()))
    if stats_meta.get('norm_stats_by_scene'):
        meta['norm_stats_by_scene'] = stats_meta['norm_stats_by_scene']
    dtype = done[usable[0]]['dtype'] if usable else None
    meta['dtype'] = dtype
    return Manifest(classes=classes, palette=palette, chips=chips, ignore_index=coding.ignore_index if coding else 255,
                    bands=list(bands), gsd=gsd_set.pop() if len(gsd_set) == 1 else None,
                    crs=_crs_text(crs_set.pop()) if len(crs_set) == 1 else None,
                    norm_stats=stats_meta.get('norm_stats'), domain=config.domain, meta=meta)


def _public_settings(config: TileConfig) -> dict:
    s = config.chip_settings()
    s.pop('coding', None)
    s.update(norm_scope=config.norm_scope, percentiles=list(config.percentiles), stats_pixels=config.stats_pixels,
             label_mode=config.coding.mode if config.coding else None,
             label_map=sorted(config.coding.value_map.items()) if config.coding and config.coding.value_map
             else None, label_nodata=_json_value(config.coding.nodata) if config.coding else None)
    return s


@functools.lru_cache(maxsize=64)
def _crs_text(wkt: Optional[str]) -> Optional[str]:
    """``EPSG:n`` when the CRS is an EPSG one, else its WKT.

    The code stated in the WKT is used directly; otherwise the EPSG database is searched once per distinct CRS
    (rasterio's ``to_epsg``, ~0.3 s, hence the cache).
    """
    if not wkt:
        return None
    match = re.search(r'(?:AUTHORITY|ID)\["EPSG",\s*"?(\d+)"?\]\]\s*$', wkt)
    if match:
        return f'EPSG:{match.group(1)}'
    epsg = rasterio.crs.CRS.from_wkt(wkt).to_epsg()
    return f'EPSG:{epsg}' if epsg else wkt


def _rel(path: Optional[str], out: Path) -> Optional[str]:
    if path is None or is_vsi(path):
        return path
    return os.path.relpath(Path(path).resolve(), out.resolve())


def _scene_path(scenes: Sequence[Scene], name: str) -> str:
    return next(s.image for s in scenes if s.name == name)


def _message(path: str, exc: BaseException) -> str:
    text = str(exc)
    return text if str(path) in text or isinstance(exc, GeoError) else f'{path}: {text}'


def _json_float(value: Optional[float]) -> Optional[float]:
    """A nodata value as a float (None stays None)."""
    return None if value is None else float(value)


def _json_value(value: Optional[float]) -> Any:
    """A nodata value for JSON: NaN becomes the string ``'nan'`` (JSON has no NaN)."""
    if value is None:
        return None
    return 'nan' if math.isnan(float(value)) else float(value)

