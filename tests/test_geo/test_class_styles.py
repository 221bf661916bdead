"""Class names for GIS clients: GDAL reads the category names beside a COG that stays valid; QGIS style entries."""
import ctypes
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import List

import numpy as np
import pytest
import rasterio

from rsseg.geo.class_styles import class_colormap, class_sidecars, read_category_names, write_class_sidecars
from rsseg.geo.cog import validate_cog
from tests.fixtures import write_cog

NAMES = ['building', 'low & <vegetation>', 'road']
PALETTE = [[60, 16, 152], [132, 41, 246], [110, 193, 228]]


def gdal_category_names(path: Path) -> List[str]:
    """Band 1's category names as GDAL itself reports them, through the libgdal that rasterio ships (no GDAL
    Python bindings here). The georeferencing is asked first, as gdalinfo and QGIS do: GTiff loads PAM lazily."""
    libs = sorted((Path(rasterio.__file__).parent.parent / 'rasterio.libs').glob('libgdal*.so*'))
    if not libs:
        pytest.skip('rasterio does not ship its own libgdal here')
    gdal = ctypes.CDLL(str(libs[0]))
    gdal.GDALOpen.restype = gdal.GDALGetRasterBand.restype = ctypes.c_void_p
    gdal.GDALOpen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    gdal.GDALGetRasterBand.argtypes = [ctypes.c_void_p, ctypes.c_int]
    gdal.GDALGetProjectionRef.argtypes = gdal.GDALClose.argtypes = [ctypes.c_void_p]
    gdal.GDALGetRasterCategoryNames.argtypes = [ctypes.c_void_p]
    gdal.GDALGetRasterCategoryNames.restype = ctypes.POINTER(ctypes.c_char_p)
    gdal.GDALAllRegister()
    handle = gdal.GDALOpen(str(path).encode(), 0)
    assert handle, f'GDAL cannot open {path}'
    try:
        gdal.GDALGetProjectionRef(handle)
        names = gdal.GDALGetRasterCategoryNames(gdal.GDALGetRasterBand(handle, 1))
        out, i = [], 0
        while names and names[i] is not None:
            out.append(names[i].decode())
            i += 1
        return out
    finally:
        gdal.GDALClose(handle)


@pytest.fixture
def class_map(tmp_path: Path) -> Path:
    data = np.tile(np.arange(3, dtype=np.uint8), (600, 200))
    data[:10] = 255
    path = write_cog(tmp_path / 'map.tif', data, crs='EPSG:32632', transform=rasterio.Affine(1, 0, 0, 0, -1, 0),
                     colormap=class_colormap(PALETTE), class_names=NAMES, overview_resampling='mode')
    write_class_sidecars(path, NAMES, class_colormap(PALETTE))
    return path


def test_gdal_reads_the_category_names_and_the_cog_stays_valid(class_map: Path) -> None:
    assert sorted(p.name for p in class_map.parent.iterdir()) == ['map.qml', 'map.tif', 'map.tif.aux.xml']
    assert read_category_names(class_map) == NAMES
    assert gdal_category_names(class_map) == NAMES
    assert validate_cog(class_map) == (True, [], [])
    if shutil.which('gdalinfo'):
        info = subprocess.run(['gdalinfo', str(class_map)], capture_output=True, text=True, check=True).stdout
        assert 'Categories:' in info and 'LAYOUT=COG' in info


def test_without_the_sidecar_gdal_sees_no_names(class_map: Path) -> None:
    """The read-back above has teeth: the COG alone carries no category names."""
    class_sidecars(class_map)['categories'].unlink()
    assert gdal_category_names(class_map) == [] and read_category_names(class_map) == []


def test_qgis_style_is_a_paletted_renderer_with_colours_and_names(class_map: Path) -> None:
    root = ET.parse(class_sidecars(class_map)['style']).getroot()
    renderer = root.find('./pipe/rasterrenderer')
    assert root.tag == 'qgis' and renderer is not None
    assert renderer.get('type') == 'paletted' and renderer.get('band') == '1'
    entries = [(e.get('value'), e.get('color'), e.get('label'), e.get('alpha'))
               for e in renderer.findall('./colorPalette/paletteEntry')]
    assert entries == [('0', '#3c1098', NAMES[0], '255'), ('1', '#8429f6', NAMES[1], '255'),
                       ('2', '#6ec1e4', NAMES[2], '255')]
