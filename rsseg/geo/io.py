"""Opening and reading rasters with clear errors and explicit validity masks."""
import warnings
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, MaskFlags
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from rsseg.formats.errors import GeoError, RasterReadError

PathLike = Union[str, Path]


def is_vsi(path: PathLike) -> bool:
    """Whether ``path`` is a GDAL virtual file system path (``/vsizip/...``, ``/vsicurl/...``)."""
    return str(path).startswith('/vsi')


def open_raster(path: PathLike) -> rasterio.DatasetReader:
    """Open ``path`` for reading; a missing or undecodable file raises :class:`RasterReadError`.

    GDAL virtual paths (``/vsizip/archive.zip/member.tif``) are opened as they are.
    """
    if not is_vsi(path) and not Path(path).is_file():
        raise RasterReadError(path, 'file does not exist')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as exc:
        raise RasterReadError(path, f'not a readable raster ({exc})') from None


def check_bands(path: PathLike, count: int, bands: Optional[Sequence[int]]) -> list:
    """Validate 1-based band indices against a file's band count and return them as a list."""
    if bands is None:
        return list(range(1, count + 1))
    bad = [b for b in bands if not 1 <= int(b) <= count]
    if bad:
        raise GeoError(path, f'band index {bad} out of range: the file has {count} band(s) (1-based)')
    return [int(b) for b in bands]


def read_raster(
    path: PathLike,
    bands: Optional[Sequence[int]] = None,
    window: Optional[Window] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Read bands (1-based, in the given order) of ``path`` and its validity mask.

    Args:
        path: Raster file.
        bands: Band indices to read, in output order; all bands when None.
        window: Pixel window; the whole raster when None.

    Returns:
        ``(data, valid)``: data as (C, H, W) in the file's dtype; ``valid`` (H, W) bool, False where *every* selected
        band is masked (nodata value, NaN, alpha or an external ``.msk``), as GDAL's dataset masks say.
    """
    with open_raster(path) as src:
        band_list = check_bands(path, src.count, bands)
        try:
            data = src.read(band_list, window=window)
            masks = src.read_masks(band_list, window=window)
        except RasterioIOError as exc:
            raise RasterReadError(path, f'corrupt or truncated raster, reading failed ({exc})') from None
    valid = masks.any(axis=0)
    if np.issubdtype(data.dtype, np.floating):
        valid &= ~np.isnan(data).all(axis=0)
    return data, valid


def valid_from_masks(src: rasterio.io.DatasetReader, bands: Sequence[int], data: np.ndarray,
                     window: Optional[Window] = None, nodata: Optional[float] = None,
                     alpha_is_data: bool = False) -> np.ndarray:
    """Validity (H, W) of ``data`` read from ``bands`` of ``src`` in ``window``, by :func:`read_raster`'s rule.

    A pixel is invalid when *every* band is masked (alpha bands are the mask and do not count as data). Masks come
    from the nodata value (compared in memory, no second read), else from GDAL's mask bands (alpha, external
    ``.msk``, internal masks); NaN is always invalid.

    Args:
        src: Dataset the data came from (a file or a :class:`~rasterio.vrt.WarpedVRT`).
        bands: 1-based bands of ``data``, in order.
        data: (C, H, W) pixels.
        window: Window they were read from.
        nodata: Override of the nodata value (the file's masks are then ignored).
        alpha_is_data: A band tagged alpha holds data (e.g. near-infrared written as RGBA): no alpha mask.
    """
    flags = [src.mask_flag_enums[b - 1] for b in bands]
    if alpha_is_data:
        flags = [[MaskFlags.all_valid] if MaskFlags.alpha in f else f for f in flags]
    else:
        keep = [i for i, b in enumerate(bands) if src.colorinterp[b - 1] != ColorInterp.alpha]
        if keep and len(keep) < len(bands):  # the alpha band is the mask, not data: judge validity by the others
            bands, data, flags = [bands[i] for i in keep], data[keep], [flags[i] for i in keep]
    per_band_nodata = nodata is not None or all(MaskFlags.nodata in f for f in flags)
    if per_band_nodata:
        value = nodata if nodata is not None else src.nodata
        valid = ~_equal_nodata(data, value).all(axis=0) if value is not None else np.ones(data.shape[1:], bool)
    elif all(f == [MaskFlags.all_valid] for f in flags):
        valid = np.ones(data.shape[1:], bool)
    elif all(MaskFlags.per_dataset in f for f in flags):
        valid = src.read_masks(bands[0], window=window) > 0
    else:
        valid = (src.read_masks(list(bands), window=window) > 0).any(axis=0)
    if np.issubdtype(data.dtype, np.floating):
        valid &= ~np.isnan(data).all(axis=0)
    return valid


def _equal_nodata(data: np.ndarray, value: float) -> np.ndarray:
    """``data == value`` that also matches a NaN nodata value."""
    if isinstance(value, float) and np.isnan(value):
        return np.isnan(data)
    return data == np.asarray(value).astype(data.dtype) if _representable(value, data.dtype) else np.zeros(
        data.shape, bool)


def _representable(value: float, dtype: np.dtype) -> bool:
    """Whether ``value`` is exactly representable in ``dtype`` (a uint8 raster never holds -99999)."""
    if np.issubdtype(dtype, np.floating):
        return True
    info = np.iinfo(dtype)
    return float(value).is_integer() and info.min <= value <= info.max


def read_window(src: rasterio.io.DatasetReader, path: PathLike, bands: Sequence[int], window: Optional[Window] = None,
                nodata: Optional[float] = None, alpha_is_data: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Read ``bands`` of an open dataset in ``window`` with its validity (see :func:`valid_from_masks`).

    Args:
        src: Open dataset (file or warped VRT).
        path: Its path, named in errors.
        bands: 1-based bands in output order.
        window: Window to read; the whole dataset when None.
        nodata: Nodata override.
        alpha_is_data: See :func:`valid_from_masks`.

    Returns:
        ``(data (C, H, W), valid (H, W) bool)``.

    Raises:
        RasterReadError: Decoding failed (corrupt or truncated file).
    """
    try:
        data = src.read(list(bands), window=window)
        valid = valid_from_masks(src, bands, data, window, nodata, alpha_is_data)
    except RasterioIOError as exc:
        raise RasterReadError(path, f'corrupt or truncated raster, reading failed ({exc})') from None
    return data, valid
