"""Grid planning: UTM zones for degrees, GSD units, alignment, label/image grid checks."""
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from rsseg.formats.errors import GeoError
from rsseg.geo.grid import check_label_grid, metres_per_unit, plan_grid, utm_crs
from tests.fixtures import write_raster


@pytest.mark.parametrize('lon,lat,epsg', [(-3.7, 40.4, 32630), (9.2, 48.8, 32632), (151.2, -33.9, 32756),
                                          (-180.0, 0.0, 32601), (179.99, 10.0, 32660)])
def test_utm_zone(lon, lat, epsg):
    assert utm_crs(lon, lat).to_epsg() == epsg


def test_gsd_in_metres_on_a_feet_crs(tmp_path):
    # NC State Plane in US survey feet (EPSG:2264), 3 ft pixels; a 2 m GSD is 6.56 ft
    path = write_raster(tmp_path / 'ft.tif', np.ones((1, 100, 100), np.uint8), crs='EPSG:2264',
                        transform=from_origin(2000000, 700000, 3.0, 3.0))
    with rasterio.open(path) as src:
        assert metres_per_unit(src.crs) == pytest.approx(0.3048006)
        grid = plan_grid(src, path, gsd=2.0)
    assert grid.gsd == 2.0 and grid.transform[0] == pytest.approx(2.0 / 0.3048006096)
    assert grid.width == pytest.approx(100 * 3.0 * 0.3048006 / 2.0, abs=2)


def test_native_grid_untouched_and_aligned_with_gsd(tmp_path):
    tf = from_origin(500000.3, 5000000.7, 0.5, 0.5)
    path = write_raster(tmp_path / 'n.tif', np.ones((1, 40, 40), np.uint8), transform=tf)
    with rasterio.open(path) as src:
        native = plan_grid(src, path)
        assert native.matches(src) and native.gsd == 0.5
        aligned = plan_grid(src, path, gsd=0.5)
    assert not aligned.matches(rasterio.open(path))
    assert aligned.transform[2] % 0.5 == 0 and aligned.transform[5] % 0.5 == 0


def test_label_grid_checks(tmp_path):
    img = write_raster(tmp_path / 'i.tif', np.ones((1, 20, 30), np.uint8))
    same = write_raster(tmp_path / 'same.tif', np.ones((1, 20, 30), np.uint8))
    shifted = write_raster(tmp_path / 'shift.tif', np.ones((1, 20, 30), np.uint8),
                           transform=from_origin(500000.5, 5000000, 0.5, 0.5))
    with rasterio.open(img) as i, rasterio.open(same) as s, rasterio.open(shifted) as sh:
        assert check_label_grid(i, img, s, same) == (None, None)
        with pytest.raises(GeoError, match='shift.tif: label transform'):
            check_label_grid(i, img, sh, shifted)
