"""Phase-2 worker: read a job's extent once on the common grid and write its chips.

The extent is read through a ``WarpedVRT`` when resampling or reprojecting; each chip whose valid fraction reaches
``min_valid`` is written: the image chip in the source dtype with CRS, window transform and nodata (or an internal
mask), the label chip as uint8 class indices with nodata → 255 and a colour table.
"""
import time
import warnings
from pathlib import Path
from typing import Any, List

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window
from rasterio.windows import bounds as window_bounds
from rasterio.windows import transform as window_transform

from rsseg.formats.errors import GeoError
from rsseg.formats.files import WriteError, write_bytes
from rsseg.formats.label_coding import default_colors

from ..chips import CHIP_ENV, chip_profile, encode_chip
from ..class_styles import class_colormap
from ..grid import open_on_grid, pick_resampling
from ..io import open_raster, read_window
from .errors import failure_message
from .jobs import TileJob
from .layout import remove_files
from .scene_plan import label_and_coding, label_nodata_override


def tile_job(job: TileJob) -> dict:
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
        remove_files(written)
        msg = failure_message(job.scene.image, exc) if isinstance(exc, (GeoError, ValueError, WriteError)) else (
            f'{job.scene.image}: {type(exc).__name__}: {exc}')
        return dict(records=[], written=[], error=msg, any_valid=False, timings={})


def _tile(job: TileJob, written: List[str]) -> dict:
    """Write the job's chips (their paths go to ``written`` as they appear); returns their records and the seconds
    spent reading (``read_s``), encoding chips (``encode_s``) and writing their files (``write_s``)."""
    scene, info, config = job.scene, job.info, job.config
    grid, out = info.grid, Path(job.out)
    col0, row0, width, height = job.union
    union = Window(col0, row0, width, height)
    timings = dict(read_s=0.0, encode_s=0.0, write_s=0.0)
    tic = time.perf_counter()
    with open_raster(scene.image) as img:
        ds = open_on_grid(img, grid, pick_resampling(config.resampling, 'image', img, grid), config.nodata,
                          alpha_is_data=config.alpha_is_data)
        data, valid = read_window(ds, scene.image, info.bands, union, config.nodata, config.alpha_is_data)
        if ds is not img:
            ds.close()
    labels = _read_labels(job, union, valid) if scene.label else None
    timings['read_s'] = time.perf_counter() - tic

    def write(path: Path, *args: Any, **kwargs: Any) -> None:
        """Encode a chip (:func:`~rsseg.geo.chips.encode_chip`) and write it atomically, timing both."""
        tic = time.perf_counter()
        chip = encode_chip(*args, **kwargs)
        toc = time.perf_counter()
        write_bytes(path, chip)
        written.append(str(path))
        timings['encode_s'] += toc - tic
        timings['write_s'] += time.perf_counter() - toc
    crs = grid.rio_crs  # parsed once: a WKT string in the profile would be parsed again for every chip (~5 ms)
    profile = chip_profile(info.dtype, len(info.bands), config.chip[0], config.chip[1], crs, info.nodata,
                           config.compress)
    coding = config.coding
    lbl_profile = chip_profile('uint8', 1, config.chip[0], config.chip[1], crs, 255, config.compress)
    cmap = class_colormap(coding.colors or default_colors(coding.num_classes)) if coding and labels is not None \
        else None
    records = []
    all_valid = bool(valid.all())  # the common case: no chip needs its valid fraction counted
    for col, row, w, h in job.windows:
        sl = (slice(row - row0, row - row0 + h), slice(col - col0, col - col0 + w))
        chip_valid = valid[sl]
        fraction = 1.0 if all_valid else float(chip_valid.mean())
        if fraction == 0.0 or fraction < config.min_valid:
            continue
        window = Window(col, row, w, h)
        transform = window_transform(window, grid.affine)
        stem = f'{scene.name}_r{row}_c{col}'
        img_path = out / 'img_dir' / f'{stem}.tif'
        mask = chip_valid if info.masked and not all_valid and not chip_valid.all() else None
        write(img_path, np.ascontiguousarray(data[(slice(None),) + sl]), profile, transform, mask=mask)
        record = dict(img=f'img_dir/{stem}.tif', scene=scene.name, window=[col, row, w, h],
                      bounds=[float(v) for v in window_bounds(window, grid.affine)] if grid.crs else None,
                      valid_fraction=round(fraction, 6))
        if labels is not None and coding is not None:  # labels are read with a coding (_read_labels)
            chip_lbl = labels[sl]
            ann_path = out / 'ann_dir' / f'{stem}.tif'
            write(ann_path, np.ascontiguousarray(chip_lbl)[None], lbl_profile, transform, colormap=cmap)
            hist = np.bincount(chip_lbl[chip_lbl != coding.ignore_index].ravel(), minlength=coding.num_classes)
            record.update(ann=f'ann_dir/{stem}.tif', class_hist=[int(v) for v in hist[:coding.num_classes]])
        records.append(record)
    return dict(records=records, any_valid=bool(valid.any()), timings=timings)


def _read_labels(job: TileJob, union: Window, valid: np.ndarray) -> np.ndarray:
    """Label extent on the common grid as uint8 class indices; nodata / invalid image pixels → ignore index."""
    info, config = job.info, job.config
    label, coding = label_and_coding(job.scene, config)
    kind = 'color_label' if coding.mode == 'color' else 'label'
    with open_raster(label) as lbl:
        src_crs = rasterio.crs.CRS.from_wkt(info.label_crs) if info.label_crs else None
        src_transform = Affine(*info.label_transform) if info.label_transform else None
        nodata_override = label_nodata_override(coding, info)
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
