"""The run's manifest (``OUT/manifest.json``) from the scene records: chips with their scene's split, scene metadata,
the settings that made them, the classes and the normalisation sidecar(s)."""
import functools
import os
import re
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import rasterio

from rsseg.formats.label_coding import default_colors
from rsseg.formats.manifest import ChipRecord, Manifest

from ..io import is_vsi
from ..scenes import Scene
from .config import TileConfig, json_value
from .report import TileReport
from .scene_plan import ScenePlan
from .splits import assign_splits


def build_manifest(scenes: Sequence[Scene], done: Dict[str, dict], infos: Dict[str, ScenePlan],
                   config: TileConfig, out: Path, stats_meta: Dict[str, Any], report: TileReport) -> Manifest:
    """The manifest of the finished scenes ``done`` (their records), split by scene."""
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
    """The run's settings as the manifest records them (the label coding as mode, value map and nodata)."""
    s = config.chip_settings()
    s.pop('coding', None)
    s.update(norm_scope=config.norm_scope, percentiles=list(config.percentiles), stats_pixels=config.stats_pixels,
             label_mode=config.coding.mode if config.coding else None,
             label_map=sorted(config.coding.value_map.items()) if config.coding and config.coding.value_map
             else None, label_nodata=json_value(config.coding.nodata) if config.coding else None)
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
    """A scene file's path relative to the output folder (a VSI path as it is)."""
    if path is None or is_vsi(path):
        return path
    return os.path.relpath(Path(path).resolve(), out.resolve())
