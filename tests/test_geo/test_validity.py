"""One pixel-validity rule: the chip loader, the tiler and the scene predictor mark the same pixels valid.

Each raster kind GDAL masks differently (nodata value, NaN, alpha band, external ``.msk``, per-band nodata) is read
the way each caller reads it; all must agree with the expected mask (invalid only where every band is masked).
"""
import json
import warnings
from pathlib import Path
from typing import Callable, Dict, Tuple

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from rsseg.formats.manifest import Manifest
from rsseg.geo.scenes import Scene
from rsseg.geo.tiler import TileConfig, tile_scenes
from rsseg.geo.working_grid import open_window_reader, read_decimated
from tests.fixtures import write_raster

H, W = 12, 16
PROFILE = dict(width=W, height=H, crs='EPSG:32632', transform=from_origin(500000, 5000000, 0.5, 0.5))
Case = Tuple[Path, np.ndarray]


def _data(count: int, dtype: str) -> np.ndarray:
    return np.random.default_rng(0).integers(1, 200, (count, H, W)).astype(dtype)


def nodata_value(tmp: Path) -> Case:
    """nodata 0 on every band: a pixel is invalid where all bands are 0, valid where only some are."""
    data = _data(3, 'uint16')
    data[:, :4, :5] = 0
    data[0, 6:, :] = 0
    return write_raster(tmp / 'nodata.tif', data, nodata=0), ~np.pad(np.ones((4, 5), bool), ((0, H - 4), (0, W - 5)))


def nan_float(tmp: Path) -> Case:
    """float32 without nodata: NaN in every band is invalid, NaN in one band is not."""
    data = _data(2, 'float32')
    data[:, 2:5, 3:9] = np.nan
    data[1, 8:, :] = np.nan
    valid = np.ones((H, W), bool)
    valid[2:5, 3:9] = False
    return write_raster(tmp / 'nan.tif', data), valid


def nan_nodata(tmp: Path) -> Case:
    """float32 with nodata NaN."""
    path, valid = nan_float(tmp)
    with rasterio.open(path, 'r+') as dst:
        dst.nodata = float('nan')
    return path, valid


def nodata_and_nan(tmp: Path) -> Case:
    """float32 with nodata -9999: a pixel that is nodata in one band and NaN in the other holds no data."""
    data = _data(2, 'float32')
    data[0, :, :6] = -9999
    data[1, 4:8, :] = np.nan
    valid = np.ones((H, W), bool)
    valid[4:8, :6] = False
    return write_raster(tmp / 'nodata_nan.tif', data, nodata=-9999), valid


def alpha_band(tmp: Path) -> Case:
    """RGBA: the alpha band masks the colour bands and is no data of its own."""
    data = _data(4, 'uint8')
    data[3] = 255
    data[3, 5:9, 2:12] = 0
    valid = data[3] > 0
    path = write_raster(tmp / 'rgba.tif', data, photometric='RGB', alpha='YES')
    with rasterio.open(path) as src:
        assert src.colorinterp[3] == rasterio.enums.ColorInterp.alpha
    return path, valid


def external_msk(tmp: Path) -> Case:
    """An external ``.msk`` mask band (as GDAL writes it with GDAL_TIFF_INTERNAL_MASK=NO)."""
    valid = np.ones((H, W), bool)
    valid[:, 10:] = False
    valid[0, 0] = False
    path = tmp / 'masked.tif'
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=False):
        with rasterio.open(path, 'w', driver='GTiff', count=3, dtype='uint8', **PROFILE) as dst:
            dst.write(_data(3, 'uint8'))
            dst.write_mask(valid.astype(np.uint8) * 255)
    assert Path(f'{path}.msk').is_file()
    return path, valid


def per_band_nodata(tmp: Path) -> Case:
    """Each band its own nodata (Erdas Imagine keeps per-band values; GeoTIFF cannot): 0 on band 1, 7 on band 2."""
    data = _data(2, 'uint8')
    data[data == 7] = 8
    data[0, :3, :] = 0
    data[1, :3, :4] = 7      # masked in both bands: invalid
    data[1, :3, 8:] = 0      # band 1 masked, but 0 is data in band 2: valid
    data[1, 9:, :] = 7       # masked in band 2 only: valid
    valid = np.ones((H, W), bool)
    valid[:3, :4] = False
    path = tmp / 'per_band.img'
    with rasterio.open(path, 'w', driver='HFA', count=2, dtype='uint8', **PROFILE) as dst:
        dst.write(data)
        dst._set_nodatavals([0, 7])  # rasterio has no public per-band setter
    with rasterio.open(path) as src:
        assert src.nodatavals == (0.0, 7.0)
    return path, valid


def _shared(name: str) -> Callable[[Path], Case]:
    def make(_: Path, shared: Path) -> Case:
        path = shared / 'rasterio' / name
        with rasterio.open(path) as src:
            return path, src.dataset_mask() > 0    # GDAL's own dataset mask (no NaN in these files)
    make.__name__ = name
    return make


CASES = [nodata_value, nan_float, nan_nodata, nodata_and_nan, alpha_band, external_msk, per_band_nodata]
SHARED = ['RGB.byte.tif', 'RGB2.byte.tif', 'RGBA.uint16.tif']


def _stats(tmp: Path, count: int) -> str:
    path = tmp / 'stats.json'
    path.write_text(json.dumps(dict(low=[0.0] * count, high=[1.0] * count)))
    return str(path)


def loader_valid(path: Path, tmp: Path) -> np.ndarray:
    """The chip loader transform (``LoadRasterImage``)."""
    from rsseg.datasets.transforms import LoadRasterImage
    with rasterio.open(path) as src:
        count = src.count
    return LoadRasterImage()(dict(img_path=str(path), norm_stats=_stats(tmp, count)))['valid_mask']


def predictor_valid(path: Path) -> Dict[str, np.ndarray]:
    """The scene predictor's window reader (scene grid) and its preview read."""
    with rasterio.open(path) as src:
        bands = list(range(1, src.count + 1))
    with open_window_reader(path, bands) as read:
        window = read(0, 0, *_shape(path))[1]
    return dict(window=window, preview=read_decimated(path, bands, _shape(path))[1])


def tiler_valid(path: Path, tmp: Path) -> Tuple[float, np.ndarray]:
    """The tiler, one chip covering the raster: its recorded valid fraction, and the validity its chip carries."""
    shape = _shape(path)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        report = tile_scenes([Scene('s', str(path))], str(tmp / 'tiles'),
                             TileConfig(chip=shape, stride=shape, min_valid=0.0), progress=False)
    chip = Manifest.load(report.manifest).chips[0]
    return chip.valid_fraction, loader_valid(report.manifest.parent / chip.img, tmp)


def _shape(path: Path) -> Tuple[int, int]:
    with rasterio.open(path) as src:
        return src.height, src.width


def _check_callers_agree(path: Path, expected: np.ndarray, tmp: Path) -> None:
    loader = loader_valid(path, tmp)
    predictor = predictor_valid(path)
    fraction, chip = tiler_valid(path, tmp)
    np.testing.assert_array_equal(loader, expected, err_msg='chip loader')
    np.testing.assert_array_equal(predictor['window'], expected, err_msg='scene predictor windows')
    np.testing.assert_array_equal(predictor['preview'], expected, err_msg='scene predictor preview')
    assert fraction == pytest.approx(expected.mean(), abs=1e-6), 'tiler valid fraction'
    np.testing.assert_array_equal(chip, expected, err_msg='tiler chip (as the loader reads it back)')


@pytest.mark.parametrize('make', CASES, ids=[c.__name__ for c in CASES])
def test_loader_tiler_and_predictor_agree(make, tmp_path: Path) -> None:
    path, expected = make(tmp_path)
    assert expected.any() and not expected.all()
    _check_callers_agree(path, expected, tmp_path)


@pytest.mark.parametrize('name', SHARED)
def test_loader_tiler_and_predictor_agree_on_real_files(name: str, shared_data: Path, tmp_path: Path) -> None:
    path, expected = _shared(name)(tmp_path, shared_data)
    assert expected.any() and not expected.all()
    _check_callers_agree(path, expected, tmp_path)
