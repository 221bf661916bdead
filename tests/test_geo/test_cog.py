"""COG writing (streamed rows, overviews, colour table, class names, atomic rename) and validation by rio-cogeo."""
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin

from rsseg.formats.files import WriteError
from rsseg.geo.class_styles import class_colormap
from rsseg.geo.cog import CogWriter, is_complete, validate_cog
from tests.fixtures import write_cog

TRANSFORM = from_origin(500000.0, 5000000.0, 2.0, 2.0)


def _class_map(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 5, size=(height // 16 + 1, width // 16 + 1)).astype(np.uint8)
    out = np.kron(coarse, np.ones((16, 16), np.uint8))[:height, :width]
    out[:40, :50] = 255
    return np.ascontiguousarray(out)


def test_write_cog_is_a_valid_georeferenced_class_map(tmp_path: Path) -> None:
    data = _class_map(1300, 1100)
    palette = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [9, 9, 9], [200, 200, 0]]
    path = write_cog(tmp_path / 'map.tif', data, crs='EPSG:32632', transform=TRANSFORM,
                     colormap=class_colormap(palette), class_names=['a', 'b,c', 'd', 'e', 'f'],
                     overview_resampling='mode', tags=dict(RSSEG_CONFIG='x.py'))
    valid, errors, warnings = validate_cog(path)
    assert valid and not errors and not warnings, (errors, warnings)
    assert is_complete(path)
    with rasterio.open(path) as src:
        assert (src.width, src.height, src.count, src.dtypes[0]) == (1100, 1300, 1, 'uint8')
        assert src.crs.to_epsg() == 32632 and src.transform == TRANSFORM and src.nodata == 255
        assert src.block_shapes[0] == (512, 512) and src.profile["tiled"]
        assert src.profile['compress'] == 'deflate'
        assert src.overviews(1) == [2, 4]
        assert src.colorinterp[0] == ColorInterp.palette
        assert src.colormap(1)[1] == (0, 255, 0, 255) and src.colormap(1)[255][3] == 0
        assert src.tags()['CLASS_NAMES'] == '["a", "b,c", "d", "e", "f"]' and src.tags()['RSSEG_CONFIG'] == 'x.py'
        assert src.tags()['OVERVIEW_RESAMPLING'] == 'MODE'
        np.testing.assert_array_equal(src.read(1), data)
        assert (src.read_masks(1)[:40, :50] == 0).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['map.tif'], 'temporary files left behind'


def test_streamed_rows_in_odd_chunks_equal_the_whole_array(tmp_path: Path) -> None:
    data = _class_map(1100, 700, seed=1)
    whole = write_cog(tmp_path / 'whole.tif', data, crs='EPSG:32632', transform=TRANSFORM)
    with CogWriter(tmp_path / 'rows.tif', 700, 1100, crs='EPSG:32632', transform=TRANSFORM, compress='zstd') as w:
        for row in range(0, 1100, 37):
            w.write_rows(row, data[row:row + 37])
    with rasterio.open(whole) as a, rasterio.open(tmp_path / 'rows.tif') as b:
        np.testing.assert_array_equal(a.read(), b.read())
        assert b.profile['compress'] == 'zstd'
    assert validate_cog(tmp_path / 'rows.tif')[0]


def test_mode_overviews_keep_the_majority_class(tmp_path: Path) -> None:
    data = np.ones((1024, 1024), np.uint8)
    data[::2, ::2] = 2                                    # one pixel in four is class 2, at each block's origin
    write_cog(tmp_path / 'mode.tif', data, overview_resampling='mode')
    write_cog(tmp_path / 'near.tif', data, overview_resampling='nearest')
    with rasterio.open(tmp_path / 'mode.tif', OVERVIEW_LEVEL=0) as mode:
        assert (mode.read(1) == 1).all()
    with rasterio.open(tmp_path / 'near.tif', OVERVIEW_LEVEL=0) as near:
        assert set(np.unique(near.read(1))) <= {1, 2}  # nearest never invents a class


def test_an_error_while_writing_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / 'map.tif').write_bytes(b'previous output')
    with pytest.raises(RuntimeError, match='boom'):
        with CogWriter(tmp_path / 'map.tif', 600, 600, crs='EPSG:32632', transform=TRANSFORM) as w:
            w.write_rows(0, np.zeros((512, 600), np.uint8))
            raise RuntimeError('boom')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['map.tif']
    assert (tmp_path / 'map.tif').read_bytes() == b'previous output'


def test_rows_out_of_order_or_missing_are_refused(tmp_path: Path) -> None:
    w = CogWriter(tmp_path / 'a.tif', 64, 64)
    with pytest.raises(ValueError, match='in order'):
        w.write_rows(10, np.zeros((4, 64), np.uint8))
    w.write_rows(0, np.zeros((10, 64), np.uint8))
    with pytest.raises(ValueError, match='only 10 of 64 rows'):
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_validation_flags_a_plain_striped_geotiff(tmp_path: Path) -> None:
    path = tmp_path / 'striped.tif'
    with rasterio.open(path, 'w', driver='GTiff', width=1200, height=1200, count=1, dtype='uint8') as dst:
        dst.write(np.zeros((1, 1200, 1200), np.uint8))
    valid, errors, _ = validate_cog(path)
    assert not valid and any('not tiled' in e for e in errors)
    assert not is_complete(path) and not is_complete(tmp_path / 'missing.tif')


def test_raster_without_crs_and_unwritable_folder(tmp_path: Path) -> None:
    path = write_cog(tmp_path / 'plain.tif', np.zeros((50, 60), np.uint8))
    with rasterio.open(path) as src:
        assert src.crs is None and src.shape == (50, 60)
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    with pytest.raises(WriteError, match=r'cannot write .*file/out\.tif'):
        CogWriter(blocker / 'out.tif', 10, 10)
