"""Phase 1 of a run: inspect every scene (in the workers) into a :class:`ScenePlan` before any chip is written.

A scene is opened, its bands checked, its common grid planned (:mod:`rsseg.geo.grid`), its label checked to lie on
the image's grid and to hold only known classes / colours (the whole label is scanned, so every unknown value is
reported with its pixel count), and its pixels sampled for the normalisation statistics of non-8-bit imagery.
"""
import warnings
from typing import Dict, Optional, Sequence, Union

import numpy as np
import rasterio
from rasterio.windows import Window

from rsseg.formats.errors import GeoError
from rsseg.formats.label_coding import LabelCoding

from ..chips import CHIP_ENV
from ..grid import check_label_grid, open_on_grid, pick_resampling, plan_grid
from ..io import check_bands, open_raster, read_window
from ..scenes import Scene
from ..stats import sample_windows, scene_sample
from ..tiling import iter_windows
from ..validity import nodata_or_mask
from .config import TileConfig
from .errors import TilerWarning, TilingError, failure_message, merge_scene_warnings
from .pool import Pool
from .report import TileReport
from .scene_plan import ScenePlan, label_and_coding, label_nodata_override


def inspect_all(pool: Pool, scenes: Sequence[Scene], config: TileConfig, keys: Dict[str, str],
                done: Dict[str, dict], need_stats: bool, keep_going: bool,
                report: TileReport) -> Dict[str, ScenePlan]:
    """Inspect every scene; failures stop the run (before anything is written) unless ``keep_going``."""
    per_scene_pixels = config.stats_pixels if config.norm_scope == 'scene' else max(
        4096, config.stats_pixels // len(scenes))
    futures = [pool.submit(inspect_scene, s, config, keys[s.name], need_stats, per_scene_pixels,
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


def inspect_scene(scene: Scene, config: TileConfig, key: str, need_stats: bool, stats_pixels: int,
                  check_label: bool) -> Union[ScenePlan, str]:
    """Phase-1 worker: a :class:`ScenePlan`, or the error message (str) naming the file."""
    try:
        with warnings.catch_warnings(record=True) as caught, rasterio.Env(**CHIP_ENV):
            warnings.simplefilter('always')
            info = _inspect(scene, config, key, need_stats, stats_pixels, check_label)
        info.warnings = [str(w.message) for w in caught
                         if issubclass(w.category, UserWarning) and 'NotGeoreferenced' not in w.category.__name__]
        return info
    except (GeoError, ValueError) as exc:
        return failure_message(scene.image, exc)
    except Exception as exc:  # noqa: BLE001 - reported per scene (keep_going), never swallowed silently
        return f'{scene.image}: {type(exc).__name__}: {exc}'


def _inspect(scene: Scene, config: TileConfig, key: str, need_stats: bool, stats_pixels: int,
             check_label: bool) -> ScenePlan:
    """Bands, grid, nodata or mask, label and statistics sample of one scene."""
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
    label, coding = label_and_coding(scene, config)
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


def _scan_label(path: str, lbl: rasterio.io.DatasetReader, coding: LabelCoding, info: ScenePlan) -> None:
    """Scan every label pixel in strips; unknown values / colours raise one error listing all with counts."""
    unknown: Dict[float, int] = {}
    rows = max(1, min(lbl.height, (16 << 20) // max(1, lbl.width * 8)))
    for row in range(0, lbl.height, rows):
        window = Window(0, row, lbl.width, min(rows, lbl.height - row))
        raw, lvalid = read_window(lbl, path, info.label_bands, window, label_nodata_override(coding, info))
        keys = coding.keys_of(raw, info.label_colormap)
        _, bad = coding.encode(keys, ~lvalid if coding.mode == 'index' else None)
        if bad.any():
            values, counts = np.unique(keys[bad], return_counts=True)
            for v, n in zip(values.tolist(), counts.tolist()):
                unknown[v] = unknown.get(v, 0) + n
    if unknown:
        keys_arr = np.array(list(unknown), np.float64)
        raise coding.unknown_error(path, keys_arr, np.array(list(unknown.values())))


def check_consistent(infos: Dict[str, ScenePlan], config: TileConfig) -> None:
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


def _json_float(value: Optional[float]) -> Optional[float]:
    """A nodata value as a float (None stays None)."""
    return None if value is None else float(value)
