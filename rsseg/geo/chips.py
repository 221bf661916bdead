"""Writing chip GeoTIFFs: CRS, window transform and nodata kept; encoded in memory, written, then renamed."""
import warnings
from typing import Dict, Mapping, Optional, Sequence, Union

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from rsseg.formats.files import PathLike, write_bytes

from .compression import check_compression

# Options every chip writer (tiler, naive baseline, codec floor in bench/) shares.
CHIP_ENV = dict(GDAL_TIFF_INTERNAL_MASK=True, GDAL_PAM_ENABLED=False)


def chip_profile(dtype: str, count: int, height: int, width: int, crs: Optional[Union[str, CRS]],
                 nodata: Optional[float], compress: str = 'deflate') -> dict:
    """GTiff creation profile of a chip (no transform: set per chip).

    Chips whose sides are multiples of 16 are tiled (blocks of up to 256 px), others stored in one strip. Pass the
    CRS as a :class:`~rasterio.crs.CRS` when writing many chips: a WKT string is parsed again for every file.
    """
    compress = check_compression(compress)
    profile = dict(driver='GTiff', dtype=dtype, count=count, height=height, width=width, crs=crs, nodata=nodata,
                   interleave='pixel' if count > 1 else 'band')
    if compress != 'none':
        profile['compress'] = compress
    if height % 16 == 0 and width % 16 == 0:
        profile.update(tiled=True, blockxsize=min(256, width), blockysize=min(256, height))
    else:
        profile.update(tiled=False, blockysize=height)
    return profile


def write_chip(path: PathLike, data: np.ndarray, profile: dict, transform: Affine,
               mask: Optional[np.ndarray] = None, colormap: Optional[Mapping[int, Sequence[int]]] = None,
               tags: Optional[Dict[str, str]] = None, band_tags: Optional[Dict[str, str]] = None) -> None:
    """Write a (C, H, W) chip atomically: :func:`encode_chip`, its bytes written under a temporary name, then renamed
    (:func:`~rsseg.formats.files.write_bytes`: a full disk raises there, so nothing needs decoding again)."""
    write_bytes(path, encode_chip(data, profile, transform, mask, colormap, tags, band_tags))


def encode_chip(data: np.ndarray, profile: dict, transform: Affine, mask: Optional[np.ndarray] = None,
                colormap: Optional[Mapping[int, Sequence[int]]] = None, tags: Optional[Dict[str, str]] = None,
                band_tags: Optional[Dict[str, str]] = None) -> bytes:
    """A (C, H, W) chip encoded as GeoTIFF bytes (in memory, nothing touches the disk).

    Args:
        data: Pixels, (C, H, W), in the profile's dtype.
        profile: From :func:`chip_profile` (height/width are taken from ``data``).
        transform: The chip window's transform (``src.window_transform(window)``).
        mask: Optional (H, W) bool validity written as an internal mask band (for sources masked without a
            nodata value).
        colormap: Optional colour table for band 1 (label chips).
        tags: Optional dataset tags.
        band_tags: Optional tags of band 1 (e.g. ``CLASSES`` of a label raster).
    """
    prof = dict(profile, height=data.shape[1], width=data.shape[2], transform=transform)
    if prof.get('crs') is None and Affine(*tuple(transform)[:6]) == Affine.identity():
        del prof['transform']  # a pixel-grid chip: GDAL stores no geotransform either way
    if prof.get('tiled') and (data.shape[1] % 16 or data.shape[2] % 16):
        prof.update(tiled=False, blockysize=data.shape[1])
        prof.pop('blockxsize', None)
    with warnings.catch_warnings(), MemoryFile() as memory:
        if 'transform' not in prof:  # written without georeferencing on purpose
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
        _encode_into(memory, data, prof, mask, colormap, tags, band_tags)
        return bytes(memory.getbuffer())


def _encode_into(memory: MemoryFile, data: np.ndarray, prof: dict, mask: Optional[np.ndarray],
                 colormap: Optional[Mapping[int, Sequence[int]]], tags: Optional[Dict[str, str]],
                 band_tags: Optional[Dict[str, str]]) -> None:
    """Encode the chip's pixels, mask, colour table and tags into ``memory``."""
    with memory.open(**prof) as dst:
        dst.write(data)
        if mask is not None:
            dst.write_mask(mask.astype(np.uint8) * 255)
        if colormap is not None:
            dst.write_colormap(1, colormap)
        if tags:
            dst.update_tags(**tags)
        if band_tags:
            dst.update_tags(1, **band_tags)

