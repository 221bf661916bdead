"""The common grid scenes are tiled on: target CRS and GSD, aligned pixels, resampling, label/image alignment.

Decisions (tested in ``tests/test_geo/test_grid.py``):

* ``gsd`` is always in **metres**. On a projected CRS whose unit is not the metre (US feet...) it is converted to
  CRS units. A scene in a geographic CRS (degrees, e.g. Sentinel-2 tiles of Sen1Floods11 in EPSG:4326) is warped to
  the WGS 84 UTM zone of its centre when a GSD is asked for; degrees are never treated as metres. An explicit
  geographic ``crs`` with a GSD is refused.
* Without ``gsd`` and ``crs`` a scene keeps its own grid (no resampling at all). A scene in degrees is then tiled on
  its native grid and the recorded GSD is None.
* With ``gsd`` the grid's origin is snapped to multiples of the GSD (``rasterio.warp.aligned_target``), so scenes of
  one domain that share a CRS share pixel boundaries.
* Imagery is resampled with ``average`` when the grid is coarser than the scene and ``bilinear`` otherwise; class
  labels with ``mode`` / ``nearest`` (colour-coded labels always ``nearest``: a per-channel mode could invent colours).
* Rasters without a CRS (plain JPG/PNG datasets) are tiled on their pixel grid with a warning; asking for a GSD or CRS
  for them is an error.
* A label raster must have its image's size and transform. When the CRS *tags* differ but the grids coincide (the
  North Carolina sample: image EPSG:32119, label EPSG:3358 = NAD83(HARN), the same projection on a realisation of the
  datum that differs by centimetres) the label is accepted with a warning when the two CRSs are equivalent or place
  the scene's corners less than half a pixel apart; otherwise it is an error unless ``trust_label_grid`` is set. The
  image's CRS is used for the chips either way.
"""
import math
import warnings
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import aligned_target, calculate_default_transform
from rasterio.warp import transform as transform_coords

from rsseg.formats.errors import GeoError

METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LON_EQUATOR = 111_320.0
IMAGE_RESAMPLING = ('auto', 'nearest', 'bilinear', 'cubic', 'average', 'lanczos')
LABEL_RESAMPLING = ('auto', 'nearest', 'mode')


class GeoWarning(UserWarning):
    """Something about a raster's georeferencing the user should know (pixel-grid tiling, CRS tag mismatch)."""


@dataclass(frozen=True)
class Grid:
    """A target pixel grid.

    Attributes:
        crs: CRS as WKT, or None for a pixel grid without georeferencing.
        transform: Affine coefficients ``(a, b, c, d, e, f)`` of the grid.
        width: Columns.
        height: Rows.
        gsd: Pixel size in metres, or None (pixel grid, or a native grid in degrees).
    """

    crs: Optional[str]
    transform: Tuple[float, ...]
    width: int
    height: int
    gsd: Optional[float] = None

    @property
    def affine(self) -> Affine:
        """The grid's transform as an :class:`affine.Affine`."""
        return Affine(*self.transform[:6])

    @property
    def rio_crs(self) -> Optional[CRS]:
        """The grid's CRS as a rasterio CRS (None without georeferencing)."""
        return CRS.from_user_input(self.crs) if self.crs else None

    def matches(self, src: rasterio.io.DatasetReader) -> bool:
        """Whether ``src`` already lies on this grid (so it can be read without warping)."""
        if (src.width, src.height) != (self.width, self.height):
            return False
        if self.crs is None:
            return True
        if src.crs is None or src.crs != self.rio_crs:
            return False
        return src.transform.almost_equals(self.affine, precision=1e-9 * max(abs(self.transform[0]), 1e-12) + 1e-12)


def is_georeferenced(src: rasterio.io.DatasetReader) -> bool:
    """A raster is georeferenced when it has a CRS (a bare transform without CRS is ignored)."""
    return src.crs is not None


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone CRS (EPSG:326xx north / 327xx south) containing ``(lon, lat)``."""
    zone = min(max(int(math.floor((lon + 180.0) / 6.0)) + 1, 1), 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def metres_per_unit(crs: CRS) -> float:
    """Metres per linear unit of a projected CRS."""
    try:
        return float(crs.linear_units_factor[1])
    except Exception:  # noqa: BLE001 - CRSs without a linear unit
        return 1.0


def pixel_size_m(src: rasterio.io.DatasetReader) -> Optional[Tuple[float, float]]:
    """``(x, y)`` pixel size in metres, or None without CRS; degrees are converted at the scene centre's latitude
    (an estimate: :func:`plan_grid` warps scenes in degrees to UTM instead), never taken as metres."""
    if src.crs is None:
        return None
    t = src.transform
    size_x, size_y = math.hypot(t.a, t.d), math.hypot(t.b, t.e)
    if src.crs.is_geographic:
        _, lat = t @ (src.width / 2, src.height / 2)
        return (size_x * METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(lat)), size_y * METRES_PER_DEGREE_LAT)
    factor = metres_per_unit(src.crs)
    return (size_x * factor, size_y * factor)


def native_gsd(src: rasterio.io.DatasetReader) -> Optional[float]:
    """The scene's own pixel size in metres (mean of x and y), or None in degrees or without CRS."""
    size = pixel_size_m(src) if src.crs is not None and not src.crs.is_geographic else None
    return None if size is None else float((size[0] + size[1]) / 2.0)


def scene_centre_lonlat(src: rasterio.io.DatasetReader) -> Tuple[float, float]:
    """Longitude and latitude of the scene's centre."""
    left, bottom, right, top = src.bounds
    xs, ys = transform_coords(src.crs, CRS.from_epsg(4326), [(left + right) / 2.0], [(bottom + top) / 2.0])
    return float(xs[0]), float(ys[0])


def plan_grid(src: rasterio.io.DatasetReader, path: object, gsd: Optional[float] = None,
              crs: Optional[str] = None) -> Grid:
    """The grid a scene is tiled on (see the module docstring for the rules).

    Args:
        src: The open scene.
        path: Its path, for messages.
        gsd: Target pixel size in metres, or None for the scene's own.
        crs: Target CRS (anything ``CRS.from_user_input`` takes), or None for the scene's own (its UTM zone when the
            scene is in degrees and ``gsd`` is set).

    Returns:
        The target grid.

    Raises:
        GeoError: GSD/CRS asked for a scene without georeferencing; GSD with a geographic target CRS.
    """
    if gsd is not None and not gsd > 0:
        raise GeoError(path, f'GSD must be a positive number of metres, got {gsd}')
    if not is_georeferenced(src):
        if gsd is not None or crs is not None:
            raise GeoError(path, 'has no georeferencing (no CRS), so a target GSD/CRS cannot be applied; '
                                 'tile it without --gsd/--crs to use its pixel grid')
        warnings.warn(f'{path}: no georeferencing (no CRS); tiled on the pixel grid', GeoWarning, stacklevel=2)
        return Grid(None, tuple(Affine.identity())[:6], src.width, src.height, None)
    dst_crs = _target_crs(src, path, gsd, crs)
    if gsd is None and dst_crs == src.crs:
        return Grid(src.crs.to_wkt(), tuple(src.transform)[:6], src.width, src.height, native_gsd(src))
    res = gsd / metres_per_unit(dst_crs) if gsd is not None else None
    kwargs = dict(resolution=res) if res is not None else {}
    dst_transform, width, height = calculate_default_transform(src.crs, dst_crs, src.width, src.height, *src.bounds,
                                                               **kwargs)
    if res is not None:
        dst_transform, width, height = aligned_target(dst_transform, width, height, res)
    out_gsd = gsd if gsd is not None else float(abs(dst_transform.a) * metres_per_unit(dst_crs))
    return Grid(dst_crs.to_wkt(), tuple(dst_transform)[:6], int(width), int(height), float(out_gsd))


def _target_crs(src: rasterio.io.DatasetReader, path: object, gsd: Optional[float], crs: Optional[str]) -> CRS:
    """Target CRS: the given one, the scene's, or the scene's UTM zone when it is in degrees and a GSD is set."""
    if crs is not None:
        try:
            dst = CRS.from_user_input(crs)
        except Exception as exc:  # noqa: BLE001 - rasterio raises CRSError subclasses of various kinds
            raise GeoError(path, f'target CRS {crs!r} is not understood ({exc})') from None
        if dst.is_geographic and gsd is not None:
            raise GeoError(path, f'a GSD in metres cannot be applied on the geographic target CRS {crs}; '
                                 'pick a projected CRS or leave --crs out (the local UTM zone is used)')
        return dst
    if src.crs.is_geographic and gsd is not None:
        lon, lat = scene_centre_lonlat(src)
        return utm_crs(lon, lat)
    return src.crs


def pick_resampling(name: str, kind: str, src: rasterio.io.DatasetReader, grid: Grid) -> Resampling:
    """Resampling for ``kind`` ``'image'``, ``'label'`` or ``'color_label'``; ``'auto'`` depends on the scale."""
    if kind == 'color_label':
        return Resampling.nearest
    if name != 'auto':
        return Resampling[name]
    downsampling = src.width * src.height > grid.width * grid.height * 1.0001
    if kind == 'image':
        return Resampling.average if downsampling else Resampling.bilinear
    return Resampling.mode if downsampling else Resampling.nearest


def open_on_grid(src: rasterio.io.DatasetReader, grid: Grid, resampling: Resampling,
                 nodata: Optional[float] = None, src_crs: Optional[CRS] = None,
                 src_transform: Optional[Affine] = None, alpha_is_data: bool = False):
    """``src`` itself when it lies on ``grid``, else a :class:`WarpedVRT` onto the grid.

    Args:
        src: Open raster.
        grid: Target grid.
        resampling: Warp resampling.
        nodata: Nodata override for the source (also used as the VRT's nodata).
        src_crs: CRS override for the source (a label whose CRS tag differs from its image's).
        src_transform: Transform override for the source.
        alpha_is_data: The source's alpha-tagged band holds data; GDAL's warper would use it as alpha, so this is
            refused when warping is needed.

    Returns:
        A dataset to read windows of the grid from. Areas outside the source's footprint are masked: through the
        nodata value when there is one, else through an alpha band (the source's own, or an added one).

    Raises:
        ValueError: Warping needed for a source whose alpha-tagged band holds data.
    """
    if grid.crs is None or _lies_on(src, grid, src_crs, src_transform):
        return src
    has_alpha = any(ci == ColorInterp.alpha for ci in src.colorinterp)
    if has_alpha and alpha_is_data:
        raise ValueError('resampling/reprojection would use its alpha-tagged band as transparency, but that band '
                         'holds data (alpha_is_data); tile it on its native grid, or retag the band first '
                         '(gdal_translate -colorinterp_4 undefined)')
    src_nodata = nodata if nodata is not None else src.nodata
    kwargs = dict(crs=grid.rio_crs, transform=grid.affine, width=grid.width, height=grid.height,
                  resampling=resampling)
    if src_crs is not None:
        kwargs['src_crs'] = src_crs
    if src_transform is not None:
        kwargs['src_transform'] = src_transform
    if src_nodata is not None:
        kwargs.update(src_nodata=src_nodata, nodata=src_nodata)
    elif not has_alpha:
        kwargs['add_alpha'] = True
    return WarpedVRT(src, **kwargs)


def _lies_on(src: rasterio.io.DatasetReader, grid: Grid, src_crs: Optional[CRS],
             src_transform: Optional[Affine]) -> bool:
    """Whether ``src`` (with its georeferencing overrides) already lies on ``grid``."""
    if src_crs is None and src_transform is None:
        return grid.matches(src)
    crs, transform = src_crs or src.crs, src_transform or src.transform
    if (src.width, src.height) != (grid.width, grid.height) or crs is None or crs != grid.rio_crs:
        return False
    return transform.almost_equals(grid.affine, precision=1e-9 * max(abs(grid.transform[0]), 1e-12) + 1e-12)


def check_label_grid(img: rasterio.io.DatasetReader, img_path: object, lbl: rasterio.io.DatasetReader,
                     lbl_path: object, trust_label_grid: bool = False) -> Tuple[Optional[CRS], Optional[Affine]]:
    """Check a label raster lies on its image's grid.

    Args:
        img: Open image.
        img_path: Its path (messages).
        lbl: Open label raster.
        lbl_path: Its path (messages).
        trust_label_grid: Accept a label whose CRS differs from the image's (same size and transform) anyway.

    Returns:
        ``(src_crs, src_transform)`` overrides to read the label with (the image's georeferencing), or
        ``(None, None)`` when the label can be read as it is.

    Raises:
        GeoError: Size, transform or CRS mismatch (naming both files).
    """
    if (lbl.width, lbl.height) != (img.width, img.height):
        raise GeoError(lbl_path, f'label size {lbl.width}x{lbl.height} does not match its image {img_path} '
                                 f'({img.width}x{img.height})')
    img_geo, lbl_geo = is_georeferenced(img), is_georeferenced(lbl)
    if not img_geo and not lbl_geo:
        return None, None
    if img_geo != lbl_geo:
        which = 'label' if img_geo else 'image'
        warnings.warn(f'{lbl_path}: the {which} has no georeferencing; it is taken to lie on the pixel grid of '
                      f'{img_path} (same size)', GeoWarning, stacklevel=2)
        return (img.crs, img.transform) if img_geo else (None, None)
    tol = 1e-6 * max(abs(img.transform.a), abs(img.transform.e))
    if not lbl.transform.almost_equals(img.transform, precision=tol):
        raise GeoError(lbl_path, f'label transform {tuple(lbl.transform)[:6]} does not match its image {img_path} '
                                 f'{tuple(img.transform)[:6]}')
    if lbl.crs.to_wkt() == img.crs.to_wkt():
        return None, None
    shift = corner_shift_pixels(img, lbl.crs)
    same = lbl.crs == img.crs or shift < 0.5
    if not same and not trust_label_grid:
        raise GeoError(lbl_path, f'label CRS {_crs_name(lbl.crs)} differs from its image {img_path} '
                                 f'({_crs_name(img.crs)}): on the same grid they lie {shift:.1f} px apart; '
                                 'reproject the label, or pass --trust-label-grid if the tag is simply wrong')
    warnings.warn(f'{lbl_path}: label CRS tag {_crs_name(lbl.crs)} differs from its image {img_path} '
                  f'({_crs_name(img.crs)}) on the same grid ({shift:.2g} px apart at the corners); '
                  f'using the image CRS for both', GeoWarning, stacklevel=2)
    return img.crs, img.transform


def corner_shift_pixels(img: rasterio.io.DatasetReader, other_crs: CRS) -> float:
    """Largest distance, in image pixels, between the image's corners read in ``other_crs`` and in its own CRS."""
    left, bottom, right, top = img.bounds
    xs, ys = [left, right, left, right], [bottom, bottom, top, top]
    try:
        tx, ty = transform_coords(other_crs, img.crs, xs, ys)
    except Exception:  # noqa: BLE001 - incompatible CRSs cannot be compared
        return float('inf')
    dist = np.hypot(np.subtract(tx, xs) / abs(img.transform.a), np.subtract(ty, ys) / abs(img.transform.e))
    return float(np.nanmax(dist)) if np.isfinite(dist).any() else float('inf')


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f'EPSG:{epsg}' if epsg else crs.to_string()[:60]
