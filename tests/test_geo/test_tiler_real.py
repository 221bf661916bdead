"""The tiler on the real rasters of ``../shared/data`` (skipped with a reason when that folder is absent)."""
import numpy as np
import pytest
import rasterio

from rsseg.formats.label_coding import LabelCoding
from rsseg.formats.manifest import Manifest
from rsseg.geo import NormStats
from rsseg.geo.grid import utm_crs
from rsseg.geo.scenes import Scene
from rsseg.geo.tiler import TileConfig, TilingError, tile_scenes


def _tile(scenes, out, keep_going=False, **kw):
    return tile_scenes(scenes, str(out), TileConfig(**kw), keep_going=keep_going, progress=False)


def test_rgb_byte_nodata_collar(shared_data, tmp_path):
    path = shared_data / 'rasterio' / 'RGB.byte.tif'
    report = _tile([Scene('rgb', str(path))], tmp_path / 'out', chip=256, stride=192, min_valid=0.5)
    m = Manifest.load(report.manifest)
    assert m.crs == 'EPSG:32618' and m.norm_stats is None and len(m.chips) > 4
    with rasterio.open(path) as src:
        for chip in m.chips:
            col, row, w, h = chip.window
            win = rasterio.windows.Window(col, row, w, h)
            valid = src.dataset_mask(window=win) > 0
            assert chip.valid_fraction == pytest.approx(valid.mean(), abs=1e-6) and chip.valid_fraction >= 0.5
            with rasterio.open(report.manifest.parent / chip.img) as c:
                assert c.nodata == 0 and c.crs == src.crs
                np.testing.assert_array_equal(c.read(), src.read(window=win))


def test_rgb2_external_msk_becomes_internal_mask(shared_data, tmp_path):
    path = shared_data / 'rasterio' / 'RGB2.byte.tif'
    report = _tile([Scene('rgb2', str(path))], tmp_path / 'out', chip=256, stride=256, min_valid=0.1)
    m = Manifest.load(report.manifest)
    partial = [c for c in m.chips if c.valid_fraction < 1.0]
    assert partial
    with rasterio.open(path) as src:
        for chip in partial:
            col, row, w, h = chip.window
            want = src.read_masks(1, window=rasterio.windows.Window(col, row, w, h))
            with rasterio.open(report.manifest.parent / chip.img) as c:
                assert c.nodata is None and rasterio.enums.MaskFlags.per_dataset in c.mask_flag_enums[0]
                np.testing.assert_array_equal(c.read_masks(1) > 0, want > 0)


def test_corrupt_tif_named_and_nothing_written(shared_data, tmp_path):
    path = shared_data / 'rasterio' / 'corrupt.tif'
    with pytest.raises(TilingError, match=r'corrupt\.tif: corrupt or truncated raster'):
        _tile([Scene('corrupt', str(path))], tmp_path / 'out', chip=256, stride=256)
    assert not (tmp_path / 'out' / 'manifest.json').exists()
    assert not list((tmp_path / 'out' / 'img_dir').iterdir())


def test_all_nodata_tif_warned_and_skipped(shared_data, tmp_path):
    empty = shared_data / 'rasterio' / 'all-nodata.tif'
    good = shared_data / 'rasterio' / 'RGBA.uint16.tif'
    with pytest.warns(UserWarning) as caught:
        report = _tile([Scene('empty', str(empty)), Scene('rgba', str(good))], tmp_path / 'out', chip=128,
                       stride=128, bands=[1, 2, 3])
    messages = [str(w.message) for w in caught]
    assert any('all-nodata.tif: the scene is entirely nodata' in msg for msg in messages)
    assert any('constant in the statistics sample' in msg for msg in messages)
    m = Manifest.load(report.manifest)
    assert report.empty == {'empty': 'the scene is entirely nodata'} and {c.scene for c in m.chips} == {'rgba'}
    stats = NormStats.load(report.manifest.parent / m.norm_stats)
    assert stats.dtype == 'uint16' and stats.low == stats.high == [10000.0] * 3  # the valid pixels are flat


def test_sen1floods11_degrees_to_utm_with_gsd(shared_data, tmp_path):
    folder = shared_data / 'georef' / 'sen1floods11'
    img, lab = folder / 'Spain_7370579_S2Hand.tif', folder / 'Spain_7370579_LabelHand.tif'
    coding = LabelCoding(classes=['dry', 'water'], nodata=-1)
    report = _tile([Scene('spain', str(img), str(lab))], tmp_path / 'out', chip=128, stride=96, gsd=20.0,
                   bands=[4, 3, 2], coding=coding, min_valid=0.1)
    m = Manifest.load(report.manifest)
    with rasterio.open(img) as src:
        left, bottom, right, top = src.bounds
        want = utm_crs((left + right) / 2, (bottom + top) / 2)
        deg_w = right - left
    assert m.crs == f'EPSG:{want.to_epsg()}' and m.gsd == 20.0 and m.bands == [4, 3, 2]
    w, h = m.meta['scenes']['spain']['size']
    # ~0.046 deg of longitude at 42 N is ~3.8 km: ~190 px of 20 m, not 0.046 / 20 (degrees taken as metres)
    assert 150 < w < 260 and 150 < h < 300 and w != round(deg_w / 20.0)
    stats = NormStats.load(report.manifest.parent / m.norm_stats)
    assert stats.dtype == 'int16' and stats.bands == [4, 3, 2]
    hist = np.sum([c.class_hist for c in m.chips], axis=0)
    assert hist.sum() > 0
    with rasterio.open(report.manifest.parent / m.chips[0].ann) as a, \
            rasterio.open(report.manifest.parent / m.chips[0].img) as c:
        assert a.crs == c.crs == want and c.res == (20.0, 20.0) and c.dtypes[0] == 'int16'
        assert set(np.unique(a.read(1))) <= {0, 1, 255}


def test_nc_landsat_crs_tag_mismatch_accepted(shared_data, tmp_path):
    folder = shared_data / 'georef' / 'nc-landsat'
    img, lab = folder / 'landsat_multiband.tif', folder / 'strata.tif'
    coding = LabelCoding(classes=[f'c{i}' for i in range(1, 8)], value_map={float(i): i - 1 for i in range(1, 8)})
    with pytest.warns(UserWarning, match=r'strata\.tif: label CRS tag EPSG:3358 differs .*EPSG:32119'):
        report = _tile([Scene('nc', str(img), str(lab))], tmp_path / 'out', chip=128, stride=128, coding=coding,
                       min_valid=0.2)
    m = Manifest.load(report.manifest)
    assert m.crs == 'EPSG:32119' and m.gsd == pytest.approx(28.5) and m.meta['dtype'] == 'float32'
    with rasterio.open(lab) as src:
        raw = src.read(1)
    chip = max(m.chips, key=lambda c: c.valid_fraction)
    col, row, w, h = chip.window
    want = np.where(raw[row:row + h, col:col + w] == -99999, 255, raw[row:row + h, col:col + w] - 1)
    with rasterio.open(img) as src:
        img_valid = src.dataset_mask(window=rasterio.windows.Window(col, row, w, h)) > 0
    want[~img_valid] = 255
    with rasterio.open(report.manifest.parent / chip.ann) as a:
        np.testing.assert_array_equal(a.read(1), want.astype(np.uint8))
        assert a.crs.to_epsg() == 32119


def test_spacenet_label_without_crs_on_image_grid(shared_data, tmp_path):
    folder = shared_data / 'georef' / 'spacenet'
    coding = LabelCoding(classes=['background', 'building'], value_map={0.0: 0, 255.0: 1})
    with pytest.warns(UserWarning, match='the label has no georeferencing'):
        report = _tile([Scene('sn', str(folder / 'sample_geotiff.tif'), str(folder / 'sample_fp_mask.tif'))],
                       tmp_path / 'out', chip=300, stride=300, coding=coding)
    m = Manifest.load(report.manifest)
    assert m.crs == 'EPSG:32616' and sum(c.class_hist[1] for c in m.chips) > 0


def test_dubai_jpg_png_with_palettes(shared_data, tmp_path, capsys):
    """Non-georeferenced JPG tiles with RGB (and, in Tile 2, paletted) masks; the shipped wrong palette is refused."""
    import json

    from rsseg.cli.tile import main
    from rsseg.utils.cli import run_cli
    tile1, tile2 = shared_data / 'dubai' / 'Tile 1', shared_data / 'dubai' / 'Tile 2'
    palette = {'classes': {'building': '#3C1098', 'land': '#8429F6', 'road': '#6EC1E4', 'vegetation': '#FEDD3A',
                           'water': '#E2A929'}, 'ignore': ['#9B9B9B']}
    (tmp_path / 'pal.json').write_text(json.dumps(palette))
    common = ['--chip', '256', '--stride', '256', '--no-progress', '--images']
    with pytest.raises(SystemExit) as exc:
        run_cli(main, ['--palette', str(shared_data / 'dubai' / 'classes.json'), '--out', str(tmp_path / 'bad'),
                       '--labels', str(tile1 / 'masks'), *common, str(tile1 / 'images' / 'image_part_001.jpg')])
    err = capsys.readouterr().err
    assert exc.value.code == 1 and 'image_part_001.png' in err and 'not in the palette' in err
    assert '#3C1098 (' in err and ' px)' in err  # the true building colour, with its pixel count
    assert not (tmp_path / 'bad' / 'manifest.json').exists()
    with pytest.warns(UserWarning, match='no georeferencing'):
        with pytest.raises(SystemExit) as exc:
            run_cli(main, ['--palette', str(tmp_path / 'pal.json'), '--out', str(tmp_path / 'ok'), '--labels',
                           str(tile1 / 'masks' / 'image_part_001.png'), str(tile2 / 'masks' / 'image_part_002.png'),
                           *common, str(tile1 / 'images' / 'image_part_001.jpg'),
                           str(tile2 / 'images' / 'image_part_002.jpg')])
    assert exc.value.code == 0, capsys.readouterr().err
    m = Manifest.load(tmp_path / 'ok' / 'manifest.json')
    assert m.classes == ['building', 'land', 'road', 'vegetation', 'water'] and m.crs is None
    assert sum(sum(c.class_hist) for c in m.chips) > 0 and {c.scene for c in m.chips} == {'image_part_001',
                                                                                           'image_part_002'}
