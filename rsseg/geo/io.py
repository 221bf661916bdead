"""Opening and reading rasters with clear errors; every read comes with its validity (:mod:`.validity`)."""
import warnings
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from rsseg.formats.errors import GeoError, RasterReadError
from rsseg.formats.files import PathLike

from .validity import pixel_validity


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
        ``(data, valid)``: data as (C, H, W) in the file's dtype; ``valid`` (H, W) bool by
        :func:`~rsseg.geo.validity.pixel_validity`.
    """
    with open_raster(path) as src:
        return read_window(src, path, check_bands(path, src.count, bands), window)


def read_window(src: rasterio.io.DatasetReader, path: PathLike, bands: Sequence[int], window: Optional[Window] = None,
                nodata: Optional[float] = None, alpha_is_data: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Read ``bands`` of an open dataset in ``window`` with its validity (:func:`~rsseg.geo.validity.pixel_validity`).

    Args:
        src: Open dataset (file or warped VRT).
        path: Its path, named in errors.
        bands: 1-based bands in output order.
        window: Window to read; the whole dataset when None.
        nodata: Nodata override.
        alpha_is_data: A band tagged alpha holds data (no alpha mask).

    Returns:
        ``(data (C, H, W), valid (H, W) bool)``.

    Raises:
        RasterReadError: Decoding failed (corrupt or truncated file).
    """
    try:
        data = src.read(list(bands), window=window)
        valid = pixel_validity(src, list(bands), data, window, nodata, alpha_is_data)
    except RasterioIOError as exc:
        raise RasterReadError(path, f'corrupt or truncated raster, reading failed ({exc})') from None
    return data, valid
