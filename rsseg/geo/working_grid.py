"""A scene on the scene predictor's working grid: its header, the grid (native, or resampled to the model's GSD with
a ``WarpedVRT``), windowed reads with validity, warping results back onto the scene grid, decimated previews.

Written for ``rsseg.apis.ScenePredictor``; opening, reading with validity and CRS units come from
:mod:`rsseg.geo.io`, :mod:`rsseg.geo.validity` and :mod:`rsseg.geo.grid`, as for the tiler.
"""
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Tuple

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import MaskFlags, Resampling
from rasterio.errors import RasterioIOError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from rsseg.formats.errors import GeoError, RasterReadError
from rsseg.formats.files import PathLike

from .grid import pixel_size_m
from .io import check_bands, open_raster, read_window
from .validity import pixel_validity


@dataclass
class SceneHeader:
    """A scene's header: what the predictor needs to know about it before reading a pixel.

    Attributes:
        path: Scene file.
        width: Width in pixels.
        height: Height in pixels.
        count: Number of bands.
        dtype: Data type of band 1.
        crs: rasterio CRS, or None for a raster without georeferencing.
        transform: Pixel-to-CRS affine transform (identity without georeferencing).
        pixel_size_m: ``(x, y)`` pixel size in metres (approximate on a geographic CRS), or None without a CRS.
    """

    path: Path
    width: int
    height: int
    count: int
    dtype: str
    crs: object
    transform: Affine
    pixel_size_m: Optional[Tuple[float, float]]


def inspect_scene(path: PathLike, allow_no_crs: bool = False) -> SceneHeader:
    """Open ``path`` once and describe it; a raster without CRS is refused unless ``allow_no_crs``."""
    with open_raster(path) as src:
        if src.crs is None and not allow_no_crs:
            raise GeoError(path, 'the scene has no CRS, so its output could not be georeferenced; pass '
                                 '--allow-no-crs (allow_no_crs=True) to predict on its pixel grid anyway')
        return SceneHeader(Path(path), src.width, src.height, src.count, src.dtypes[0], src.crs, src.transform,
                         pixel_size_m(src))


def grid_factor(info: SceneHeader, gsd: Optional[float], max_factor: float = 8.0) -> Optional[Tuple[float, float]]:
    """Scale ``(fx, fy)`` from the scene's pixels to ``gsd``-metre pixels, or None to stay on the scene grid.

    Args:
        info: The scene.
        gsd: The model's training GSD in metres; None (or a scene without CRS) keeps the scene grid.
        max_factor: Largest accepted up- or down-sampling factor; beyond it the scene is refused rather than
            allocating a giant (or uselessly tiny) working grid.
    """
    if gsd is None or info.pixel_size_m is None:
        return None
    fx, fy = gsd / info.pixel_size_m[0], gsd / info.pixel_size_m[1]
    worst = max(fx, 1 / fx, fy, 1 / fy)
    if worst > max_factor:
        raise GeoError(info.path, f'pixel size {info.pixel_size_m[0]:.3g} m differs from the model\'s training GSD '
                                  f'{gsd:g} m by a factor {worst:.1f} (limit {max_factor:g}): refusing to resample; '
                                  'pass --native-gsd to predict on the scene grid')
    if abs(fx - 1) < 1e-3 and abs(fy - 1) < 1e-3:
        return None
    return fx, fy


def working_shape(info: SceneHeader, factor: Optional[Tuple[float, float]]) -> Tuple[int, int]:
    """``(height, width)`` of the grid the model sees."""
    if factor is None:
        return info.height, info.width
    return max(1, math.ceil(info.height / factor[1])), max(1, math.ceil(info.width / factor[0]))


class SceneWindowReader:
    """Reads windows of a scene on the working grid; open it in the thread that reads (one handle per thread).

    Args:
        path: Scene file.
        bands: 1-based bands to read, in the model's order.
        factor: ``(fx, fy)`` from :func:`grid_factor`, or None for the scene grid.
    """

    def __init__(self, path: PathLike, bands: Sequence[int], factor: Optional[Tuple[float, float]] = None) -> None:
        self.path, self.bands, self.factor = Path(path), list(bands), factor
        self._src = open_raster(path)
        check_bands(path, self._src.count, self.bands)
        self._ds = self._src if factor is None else self._warped(factor)
        self.height, self.width = self._ds.height, self._ds.width

    def _warped(self, factor: Tuple[float, float]) -> WarpedVRT:
        """A virtual raster of the scene at the working GSD (average when shrinking, bilinear when enlarging)."""
        # not grid.open_on_grid: that one always masks outside the footprint and picks resampling by pixel count
        src = self._src
        info = SceneHeader(self.path, src.width, src.height, src.count, '', src.crs, src.transform, None)
        height, width = working_shape(info, factor)
        resampling = Resampling.average if min(factor) > 1 else Resampling.bilinear
        masked = src.nodata is None and any(f != [MaskFlags.all_valid] for f in src.mask_flag_enums)
        return WarpedVRT(src, crs=src.crs, transform=grid_transform(info, factor), width=width,
                         height=height, resampling=resampling, add_alpha=masked)

    def read(self, window: Window) -> Tuple[np.ndarray, np.ndarray]:
        """``(data (C, h, w) in the file's dtype, valid (h, w) bool)`` for a window of the working grid."""
        return read_window(self._ds, self.path, self.bands, window)

    def read_at(self, row: int, col: int, height: int, width: int) -> Tuple[np.ndarray, np.ndarray]:
        """:meth:`read` of the window at ``(row, col)`` of size ``height`` x ``width``."""
        return self.read(Window(col, row, width, height))

    def close(self) -> None:
        """Close the handles."""
        if self._ds is not self._src:
            self._ds.close()
        self._src.close()

    def __enter__(self) -> 'SceneWindowReader':
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def open_window_reader(path: PathLike, bands: Sequence[int], factor: Optional[Tuple[float, float]] = None
                       ) -> Iterator[Callable[[int, int, int, int], Tuple[np.ndarray, np.ndarray]]]:
    """Open a :class:`SceneWindowReader` and give its ``read_at(row, col, height, width)``; closes it afterwards."""
    with SceneWindowReader(path, bands, factor) as reader:
        yield reader.read_at


@contextmanager
def gdal_cache(limit_bytes: int) -> Iterator[None]:
    """Bound GDAL's (process-wide) block cache while a scene is processed, so it cannot grow with the scene.

    GDAL's default is 5 % of the RAM, which a large scene fills with blocks it never reads again.
    """
    with rasterio.Env(GDAL_CACHEMAX=int(limit_bytes)):
        yield


def grid_transform(info: SceneHeader, factor: Optional[Tuple[float, float]]) -> Affine:
    """Transform of the working grid: the scene's, scaled by ``factor`` when resampled."""
    return info.transform if factor is None else info.transform @ Affine.scale(*factor)


def warp_to_scene(grid_path: PathLike, info: SceneHeader, bands: Sequence[int], resampling: str = 'nearest',
                  rows: int = 512) -> Iterator[Tuple[int, np.ndarray]]:
    """Resample a working-grid result back onto the scene grid, block row by block row.

    Args:
        grid_path: Single-band raster on the working grid (same CRS as the scene), with a nodata value.
        info: The scene whose grid the output takes.
        bands: Scene bands the model read; pixels invalid in all of them become nodata, as on the native grid.
        resampling: ``'nearest'`` for class maps, ``'bilinear'`` for confidences.
        rows: Rows per chunk.

    Yields:
        ``(row, data (n, width))`` chunks in row order.
    """
    with rasterio.open(grid_path) as grid, open_raster(info.path) as scene:
        nodata = grid.nodata
        with WarpedVRT(grid, crs=info.crs, transform=info.transform, width=info.width, height=info.height,
                       resampling=Resampling[resampling], nodata=nodata) as vrt:
            for row in range(0, info.height, rows):
                window = Window(0, row, info.width, min(rows, info.height - row))
                data = vrt.read(1, window=window)
                data[~read_window(scene, info.path, bands, window)[1]] = nodata
                yield row, data


def read_decimated(path: PathLike, bands: Optional[Sequence[int]], out_shape: Tuple[int, int],
                   resampling: str = 'average') -> Tuple[np.ndarray, np.ndarray]:
    """Read a raster shrunk to ``out_shape`` (overviews are used when present), e.g. for a preview.

    Returns:
        ``(data (C, h, w), valid (h, w))``.
    """
    with open_raster(path) as src:
        band_list = check_bands(path, src.count, bands)
        try:
            data = src.read(band_list, out_shape=(len(band_list), *out_shape), resampling=Resampling[resampling])
            valid = pixel_validity(src, band_list, data)
        except RasterioIOError as exc:
            raise RasterReadError(path, f'corrupt or truncated raster, reading failed ({exc})') from None
    return data, valid
