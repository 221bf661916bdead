"""Pixel validity: which pixels of a read hold data. The one rule the loader, the tiler and the predictor follow.

Each band is judged by its GDAL mask flags (RFC 15), then the bands are combined:

* a band with nodata (per band: each band's own value; a NaN nodata matches NaN) is masked where it equals it;
* a band masked per dataset (external ``.msk``, internal mask band, the alpha band) is masked where that mask is 0;
* NaN in float data is masked, with or without a nodata value;
* an alpha-tagged band is the mask, not data: it has no vote of its own (unless ``alpha_is_data``: then it holds data,
  e.g. near-infrared written as RGBA, and no band is masked by it);
* a nodata override replaces the file's masks: every band is masked where it equals the override.

A pixel is valid when at least one of its data bands is valid (the union of band masks, as rasterio's
``dataset_mask``); it is invalid only where every band is masked. Nodata comparisons are made on the data already
read, so only masks that are not nodata-based cost a read.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, MaskFlags
from rasterio.windows import Window


def pixel_validity(src: rasterio.io.DatasetReader, bands: Sequence[int], data: np.ndarray,
                   window: Optional[Window] = None, nodata: Optional[float] = None,
                   alpha_is_data: bool = False) -> np.ndarray:
    """Validity (H, W) of ``data`` read from ``bands`` of ``src`` in ``window`` (see the module docstring).

    Args:
        src: Dataset the data came from (a file or a :class:`~rasterio.vrt.WarpedVRT`).
        bands: 1-based bands of ``data``, in order.
        data: (C, H, W) pixels; read with ``out_shape`` (a decimated read), masks are read at that shape too.
        window: Window they were read from; the whole dataset when None.
        nodata: Nodata override (the file's masks are then ignored).
        alpha_is_data: A band tagged alpha holds data: no alpha mask.
    """
    valid = np.zeros(data.shape[1:], bool)
    shared: Dict[str, np.ndarray] = {}
    for i in _data_band_positions(src, bands, alpha_is_data):
        valid |= _band_validity(src, bands[i], data[i], window, nodata, alpha_is_data, shared)
    return valid


def _data_band_positions(src: rasterio.io.DatasetReader, bands: Sequence[int], alpha_is_data: bool) -> List[int]:
    """Positions in ``bands`` of the bands that hold data: all but alpha bands (which are the mask), unless only
    alpha bands were asked for or ``alpha_is_data``."""
    keep = [i for i, b in enumerate(bands) if alpha_is_data or src.colorinterp[b - 1] != ColorInterp.alpha]
    return keep or list(range(len(bands)))


def _band_validity(src: rasterio.io.DatasetReader, band: int, values: np.ndarray, window: Optional[Window],
                   nodata: Optional[float], alpha_is_data: bool, shared: Dict[str, np.ndarray]) -> np.ndarray:
    """Validity (H, W) of one band's ``values`` (not to be modified: it may be the shared per-dataset mask)."""
    flags = src.mask_flag_enums[band - 1]
    if nodata is not None or MaskFlags.nodata in flags:
        value = nodata if nodata is not None else src.nodatavals[band - 1]
        valid = ~_equal_nodata(values, value)
    elif flags == [MaskFlags.all_valid] or (alpha_is_data and MaskFlags.alpha in flags):
        valid = np.ones(values.shape, bool)
    elif MaskFlags.per_dataset in flags:
        if 'dataset' not in shared:
            shared['dataset'] = src.read_masks(band, window=window, out_shape=values.shape) > 0
        valid = shared['dataset']
    else:
        valid = src.read_masks(band, window=window, out_shape=values.shape) > 0
    if np.issubdtype(values.dtype, np.floating):
        valid = valid & ~np.isnan(values)
    return valid


def nodata_or_mask(src: rasterio.io.DatasetReader, bands: Sequence[int], nodata: Optional[float] = None,
                   alpha_is_data: bool = False) -> Tuple[Optional[float], bool]:
    """How a copy of ``bands`` (a chip) keeps their validity: ``(nodata value, needs a mask band)``.

    One nodata value carries it when ``nodata`` overrides the masks or every data band is masked by the same nodata
    value; bands that are all valid need neither. Anything else (per-dataset masks, alpha, nodata values that differ
    between bands, nodata on some bands only) needs a mask band, and then no nodata value is given.
    """
    if nodata is not None:
        return nodata, False
    data_bands = [bands[i] for i in _data_band_positions(src, bands, alpha_is_data)]
    flags = [src.mask_flag_enums[b - 1] for b in data_bands]
    if all(f == [MaskFlags.all_valid] or (alpha_is_data and MaskFlags.alpha in f) for f in flags):
        return None, False
    values = {_nodata_key(src.nodatavals[b - 1]) for b in data_bands}
    if all(f == [MaskFlags.nodata] for f in flags) and len(values) == 1:
        return src.nodatavals[data_bands[0] - 1], False
    return None, True


def _nodata_key(value: Optional[float]) -> object:
    """A nodata value as a set member (NaN equals NaN)."""
    return 'nan' if value is not None and np.isnan(value) else value


def _equal_nodata(values: np.ndarray, value: Optional[float]) -> np.ndarray:
    """``values == value``, matching a NaN nodata value too; a value the dtype cannot hold matches nothing."""
    if value is None:
        return np.zeros(values.shape, bool)
    if isinstance(value, float) and np.isnan(value):
        return np.isnan(values)
    if not _representable(value, values.dtype):
        return np.zeros(values.shape, bool)
    return values == np.asarray(value).astype(values.dtype)


def _representable(value: float, dtype: np.dtype) -> bool:
    """Whether ``value`` is exactly representable in ``dtype`` (a uint8 raster never holds -99999)."""
    if np.issubdtype(dtype, np.floating):
        return True
    info = np.iinfo(dtype)
    return float(value).is_integer() and info.min <= value <= info.max
