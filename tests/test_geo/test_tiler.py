"""The tiler on generated GeoTIFFs: chip content and georeferencing, nodata, grids, splits, resume, bad input."""
import hashlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from rsseg.formats.label_coding import LabelCoding
from rsseg.formats.manifest import Manifest
from rsseg.geo import NormStats
from rsseg.geo.scenes import Scene, match_scenes
from rsseg.geo.tiler import TileConfig, TilingError, assign_splits, tile_scenes
from rsseg.geo.tiling import iter_windows
from tests.data.tiler_scenes.data import ISPRS_COLORS, class_blocks, make_color_label, make_scene
from tests.fixtures import write_raster

CLASSES3 = LabelCoding(classes=['a', 'b', 'c'])


def _config(**kw) -> TileConfig:
    kw.setdefault('chip', 32)
    kw.setdefault('stride', 24)
    kw.setdefault('coding', CLASSES3)
    return TileConfig(**kw)


def _tile(scenes, out, workers=1, keep_going=False, **kw):
    return tile_scenes(scenes, str(out), _config(**kw), workers=workers, keep_going=keep_going, progress=False)


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob('*')) if p.is_file()}


class TestChips:

    def test_content_georef_nodata(self, tmp_path):
        img, lab = make_scene(tmp_path / 'in', 'scene', width=96, height=80, nodata_corner=(20, 30))
        report = _tile([Scene('scene', str(img), str(lab))], tmp_path / 'out', min_valid=0.3)
        m = Manifest.load(report.manifest)
        with rasterio.open(img) as src, rasterio.open(lab) as lsrc:
            raw, raw_lbl, scene_tf, scene_crs = src.read(), lsrc.read(1), src.transform, src.crs
        valid = (raw != 0).any(axis=0)
        expected = [w for w in iter_windows(96, 80, 32, 24)
                    if valid[w.row_off:w.row_off + 32, w.col_off:w.col_off + 32].mean() >= 0.3]
        assert [c.window for c in m.chips] == [[w.col_off, w.row_off, 32, 32] for w in expected]
        assert m.crs == 'EPSG:32632' and m.gsd == pytest.approx(0.5) and m.bands == [1, 2, 3]
        assert m.classes == ['a', 'b', 'c'] and m.ignore_index == 255
        for chip in m.chips:
            col, row, w, h = chip.window
            sl = np.s_[row:row + h, col:col + w]
            with rasterio.open(report.manifest.parent / chip.img) as c:
                assert c.crs == scene_crs and c.nodata == 0 and c.dtypes[0] == 'uint16'
                assert c.transform.almost_equals(window_transform(Window(col, row, w, h), scene_tf))
                np.testing.assert_array_equal(c.read(), raw[(slice(None),) + sl])
            with rasterio.open(report.manifest.parent / chip.ann) as a:
                lbl = a.read(1)
                assert a.dtypes[0] == 'uint8' and a.nodata == 255 and a.crs == scene_crs
                assert a.colormap(1)[1][:3] == (0, 0, 255)
            want = raw_lbl[sl].copy()
            want[~valid[sl]] = 255  # image nodata → ignore in the label
            np.testing.assert_array_equal(lbl, want)
            assert chip.class_hist == np.bincount(want[want != 255], minlength=3).tolist()
            assert chip.valid_fraction == pytest.approx(valid[sl].mean(), abs=1e-6)
            assert chip.bounds == pytest.approx(list(rasterio.windows.bounds(Window(col, row, w, h), scene_tf)))

    def test_every_valid_pixel_covered_right_bottom_edges(self, tmp_path):
        img, lab = make_scene(tmp_path / 'in', 'odd', width=101, height=77, nodata=None)
        report = _tile([Scene('odd', str(img), str(lab))], tmp_path / 'out', chip=32, stride=32, min_valid=0.0)
        m = Manifest.load(report.manifest)
        cover = np.zeros((77, 101), int)
        for c in m.chips:
            col, row, w, h = c.window
            cover[row:row + h, col:col + w] += 1
        assert cover.min() == 1  # stride == chip: each pixel exactly once except the shifted last row/column
        assert len({tuple(c.window) for c in m.chips}) == len(m.chips) == 4 * 3
        assert max(c.window[0] for c in m.chips) == 101 - 32 and max(c.window[1] for c in m.chips) == 77 - 32

    def test_min_valid_and_all_invalid_chips_skipped(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', width=64, height=64, label=False, nodata_corner=(32, 32))
        report = _tile([Scene('s', str(img))], tmp_path / 'out', chip=32, stride=32, min_valid=0.0, coding=None)
        assert sorted(tuple(c.window[:2]) for c in Manifest.load(report.manifest).chips) == [(0, 32), (32, 0),
                                                                                             (32, 32)]

    def test_band_selection_recorded(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', count=4, label=False, nodata=None)
        report = _tile([Scene('s', str(img))], tmp_path / 'out', bands=[4, 1, 2], band_names=['ir', 'r', 'g'],
                       coding=None)
        m = Manifest.load(report.manifest)
        assert m.bands == [4, 1, 2] and m.meta['band_names'] == ['ir', 'r', 'g']
        with rasterio.open(img) as src, rasterio.open(report.manifest.parent / m.chips[0].img) as c:
            col, row, w, h = m.chips[0].window
            np.testing.assert_array_equal(c.read(), src.read([4, 1, 2], window=Window(col, row, w, h)))
        stats = NormStats.load(report.manifest.parent / m.norm_stats)
        assert stats.bands == [4, 1, 2] and len(stats.low) == 3

    def test_norm_stats_percentiles_of_valid_pixels(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', label=False, nodata_corner=(40, 48))
        report = _tile([Scene('s', str(img))], tmp_path / 'out', coding=None, percentiles=(5.0, 95.0))
        m = Manifest.load(report.manifest)
        stats = NormStats.load(report.manifest.parent / m.norm_stats)
        with rasterio.open(img) as src:
            raw = src.read()
        pixels = raw[:, (raw != 0).any(axis=0)].astype(float)
        np.testing.assert_allclose(stats.low, np.percentile(pixels, 5, axis=1))
        np.testing.assert_allclose(stats.high, np.percentile(pixels, 95, axis=1))
        assert stats.scope == 'domain' and stats.dtype == 'uint16' and stats.percentiles == [5.0, 95.0]

    def test_per_scene_stats(self, tmp_path):
        scenes = []
        for i, scale in enumerate((1, 3)):
            img, _ = make_scene(tmp_path / 'in', f's{i}', label=False, nodata=None, seed=i)
            with rasterio.open(img, 'r+') as dst:
                dst.write((dst.read() // 4 * scale).astype('uint16'))
            scenes.append(Scene(f's{i}', str(img)))
        report = _tile(scenes, tmp_path / 'out', coding=None, norm_scope='scene')
        m = Manifest.load(report.manifest)
        by_scene = m.meta['norm_stats_by_scene']
        s0, s1 = (NormStats.load(report.manifest.parent / by_scene[n]) for n in ('s0', 's1'))
        assert s0.scope == s1.scope == 'scene' and s1.high[0] > 2.5 * s0.high[0]

    def test_uint8_has_no_sidecar(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', dtype='uint8', label=False)
        report = _tile([Scene('s', str(img))], tmp_path / 'out', coding=None)
        assert Manifest.load(report.manifest).norm_stats is None
        assert not (report.manifest.parent / 'norm_stats.json').exists()

    def test_nodata_override(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', dtype='uint8', nodata=None, label=False)
        with rasterio.open(img, 'r+') as dst:
            data = dst.read()
            data[:, :, :48] = 7
            dst.write(data)
        report = _tile([Scene('s', str(img))], tmp_path / 'out', coding=None, nodata=7, chip=32, stride=32,
                       min_valid=0.0)
        m = Manifest.load(report.manifest)
        assert {c.window[0] for c in m.chips} == {32, 64}
        assert [c.valid_fraction for c in m.chips if c.window[0] == 32] == [0.5] * 3
        with rasterio.open(report.manifest.parent / m.chips[0].img) as c:
            assert c.nodata == 7

    def test_parallel_equals_serial(self, tmp_path):
        scenes = [Scene(f's{i}', *map(str, make_scene(tmp_path / 'in', f's{i}', seed=i))) for i in range(3)]
        _tile(scenes, tmp_path / 'a', workers=1)
        _tile(scenes, tmp_path / 'b', workers=2)
        assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')

    def test_report_times_each_stage_of_every_worker(self, tmp_path):
        """bench/bench_tiler.py's breakdown: reading, encoding and writing are timed in the workers and summed."""
        scenes = [Scene(f's{i}', *map(str, make_scene(tmp_path / 'in', f's{i}', seed=i))) for i in range(3)]
        one, two = (_tile(scenes, tmp_path / f'w{n}', workers=n) for n in (1, 2))
        for report in (one, two):
            assert sorted(report.timings) == ['encode_s', 'read_s', 'write_s']
            assert all(v > 0 for v in report.timings.values()), report.timings
            assert sum(report.timings.values()) < report.seconds * 2
        resumed = _tile(scenes, tmp_path / 'w1', workers=1)
        assert resumed.resumed == ['s0', 's1', 's2'] and resumed.timings == {}


class TestGrid:

    def test_gsd_resampling_aligned(self, tmp_path):
        from affine import Affine
        tf = Affine(0.5, 0, 500000.25, 0, -0.5, 5000000.25)  # origin off the 1 m grid
        img, lab = make_scene(tmp_path / 'in', 's', width=96, height=80, transform=tf, nodata=None)
        report = _tile([Scene('s', str(img), str(lab))], tmp_path / 'out', gsd=1.0, chip=16, stride=16,
                       min_valid=0.0)
        m = Manifest.load(report.manifest)
        assert m.gsd == 1.0 and m.meta['scenes']['s']['size'] == [49, 41]
        with rasterio.open(report.manifest.parent / m.chips[0].img) as c:
            assert c.res == (1.0, 1.0) and c.transform.c % 1.0 == 0 and c.transform.f % 1.0 == 0
        with rasterio.open(report.manifest.parent / m.chips[0].ann) as a:
            assert set(np.unique(a.read(1))) <= {0, 1, 2, 255}

    def test_average_vs_mode(self, tmp_path):
        data = np.zeros((1, 8, 8), np.uint16)
        data[0, :, 1::2] = 100  # alternating columns: average gives 50, bilinear/nearest would not
        img = write_raster(tmp_path / 'avg.tif', data + 1)
        lbl = np.zeros((1, 8, 8), np.uint8)
        lbl[0, :, :] = 1
        lbl[0, ::2, ::2] = 2  # 1 of 4 pixels per 2x2 block: mode keeps 1
        lab = write_raster(tmp_path / 'avg_label.tif', lbl)
        report = _tile([Scene('avg', str(img), str(lab))], tmp_path / 'out', gsd=1.0, chip=4, stride=4,
                       min_valid=0.0)
        m = Manifest.load(report.manifest)
        with rasterio.open(report.manifest.parent / m.chips[0].img) as c:
            assert (c.read() == 51).all()
        with rasterio.open(report.manifest.parent / m.chips[0].ann) as a:
            assert (a.read(1) == 1).all()

    def test_geographic_scene_goes_to_utm(self, tmp_path):
        from rasterio.transform import from_origin
        tf = from_origin(-3.70, 40.42, 0.0001, 0.0001)  # Madrid, ~8.5 x 11 m pixels
        img, _ = make_scene(tmp_path / 'in', 'geo', width=64, height=64, crs='EPSG:4326', transform=tf, label=False,
                            nodata=None)
        report = _tile([Scene('geo', str(img))], tmp_path / 'out', gsd=10.0, coding=None, chip=16, stride=16)
        m = Manifest.load(report.manifest)
        assert m.crs == 'EPSG:32630' and m.gsd == 10.0
        with rasterio.open(report.manifest.parent / m.chips[0].img) as c:
            assert c.crs.to_epsg() == 32630 and c.res == (10.0, 10.0)
        w, h = m.meta['scenes']['geo']['size']
        assert 52 <= w <= 60 and 70 <= h <= 78  # 64 x 0.0001 deg = ~5.3 km east-west, ~7.1 km north-south

    def test_geographic_without_gsd_keeps_native_grid(self, tmp_path):
        from rasterio.transform import from_origin
        img, _ = make_scene(tmp_path / 'in', 'geo', width=40, height=40, crs='EPSG:4326', label=False,
                            transform=from_origin(10, 50, 0.001, 0.001), dtype='uint8')
        report = _tile([Scene('geo', str(img))], tmp_path / 'out', coding=None, chip=16, stride=16)
        m = Manifest.load(report.manifest)
        assert m.crs == 'EPSG:4326' and m.gsd is None and m.meta['scenes']['geo']['size'] == [40, 40]

    def test_geographic_target_crs_with_gsd_refused(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', label=False)
        with pytest.raises(TilingError, match='geographic target CRS'):
            _tile([Scene('s', str(img))], tmp_path / 'out', coding=None, gsd=1.0, crs='EPSG:4326')

    def test_target_crs(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', label=False, dtype='uint8')
        report = _tile([Scene('s', str(img))], tmp_path / 'out', coding=None, crs='EPSG:3857', chip=16, stride=16)
        assert Manifest.load(report.manifest).crs == 'EPSG:3857'

    def test_pixel_grid_without_georeferencing(self, tmp_path):
        data = np.random.default_rng(0).integers(0, 255, (3, 40, 50)).astype(np.uint8)
        img = write_raster(tmp_path / 'photo.png', data, crs=None, driver='PNG')
        mask = make_color_label(tmp_path / 'photo_mask.png', class_blocks(40, 50, 3), ISPRS_COLORS[:3],
                                driver='PNG')
        coding = LabelCoding(classes=['a', 'b', 'c'], colors=ISPRS_COLORS[:3], mode='color')
        with pytest.warns(UserWarning, match='no georeferencing'):
            report = _tile([Scene('photo', str(img), str(mask))], tmp_path / 'out', coding=coding, chip=16,
                           stride=16)
        m = Manifest.load(report.manifest)
        assert m.crs is None and m.gsd is None and m.chips[0].bounds is None
        with rasterio.open(report.manifest.parent / m.chips[-1].ann) as a:
            col, row, w, h = m.chips[-1].window
            np.testing.assert_array_equal(a.read(1), class_blocks(40, 50, 3)[row:row + h, col:col + w])
        with pytest.raises(TilingError, match='no georeferencing.*--gsd'):
            _tile([Scene('photo', str(img))], tmp_path / 'out2', coding=None, gsd=1.0)

    def test_a_warning_shared_by_many_scenes_is_said_once(self, tmp_path):
        data = np.random.default_rng(0).integers(0, 255, (3, 32, 32)).astype(np.uint8)
        scenes = [Scene(f'p{i}', str(write_raster(tmp_path / f'p{i}.png', data, crs=None, driver='PNG')))
                  for i in range(5)]
        with pytest.warns(UserWarning) as caught:
            _tile(scenes, tmp_path / 'out', coding=None, chip=16, stride=16)
        said = [str(w.message) for w in caught if 'no georeferencing' in str(w.message)]
        assert said == ['5 scenes (p0.png, p1.png, p2.png and 2 more): no georeferencing (no CRS); tiled on the '
                        'pixel grid']
        assert not [w for w in caught if w.category.__name__ == 'NotGeoreferencedWarning']

    def test_raster_smaller_than_chip(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', width=20, height=12, label=False, nodata=None, dtype='uint8')
        report = _tile([Scene('s', str(img))], tmp_path / 'out', coding=None, chip=32, stride=16)
        m = Manifest.load(report.manifest)
        assert [c.window for c in m.chips] == [[0, 0, 20, 12]]


class TestSplitsResume:

    def test_split_by_scene_deterministic(self, tmp_path):
        scenes = [Scene(f's{i}', str(make_scene(tmp_path / 'in', f's{i}', seed=i, width=40, height=40,
                                                label=False, dtype='uint8')[0])) for i in range(10)]
        r1 = _tile(scenes, tmp_path / 'a', coding=None, chip=16, stride=16, split_seed=3)
        m = Manifest.load(r1.manifest)
        by_scene = {}
        for c in m.chips:
            by_scene.setdefault(c.scene, set()).add(c.split)
        assert all(len(v) == 1 for v in by_scene.values())  # never split a scene across splits
        splits = {k: v.pop() for k, v in by_scene.items()}
        assert sorted(splits.values()).count('val') == 1 and sorted(splits.values()).count('test') == 1
        assert splits == assign_splits([s.name for s in scenes], (0.8, 0.1, 0.1), 3)
        assert splits != assign_splits([s.name for s in scenes], (0.8, 0.1, 0.1), 4)
        assert assign_splits(list(reversed(list(splits))), (0.8, 0.1, 0.1), 3) == splits  # order-independent
        fixed = assign_splits(list(splits), (0.8, 0.1, 0.1), 3, {'s0': 'test', 's1': 'test'})
        assert fixed['s0'] == fixed['s1'] == 'test'

    def test_few_scenes_get_val_and_test(self):
        assert sorted(assign_splits(['a', 'b', 'c'], (0.8, 0.1, 0.1), 0).values()) == ['test', 'train', 'val']
        assert set(assign_splits(['a', 'b'], (0.8, 0.1, 0.1), 0).values()) <= {'train', 'val', 'test'}
        assert list(assign_splits(['a'], (1.0, 0.0, 0.0), 0).values()) == ['train']

    def test_rerun_identical_and_resumed(self, tmp_path):
        scenes = [Scene(f's{i}', *map(str, make_scene(tmp_path / 'in', f's{i}', seed=i))) for i in range(2)]
        r1 = _tile(scenes, tmp_path / 'out')
        before = _digest(tmp_path / 'out')
        r2 = _tile(scenes, tmp_path / 'out')
        assert r1.tiled == ['s0', 's1'] and r2.tiled == [] and r2.resumed == ['s0', 's1']
        assert _digest(tmp_path / 'out') == before
        # a fresh folder gives byte-identical output too
        _tile(scenes, tmp_path / 'fresh')
        assert _digest(tmp_path / 'fresh') == before

    def test_killed_run_resumes_only_unfinished(self, tmp_path):
        scenes = [Scene(f's{i}', *map(str, make_scene(tmp_path / 'in', f's{i}', seed=i))) for i in range(2)]
        _tile(scenes, tmp_path / 'out')
        before = _digest(tmp_path / 'out')
        out = tmp_path / 'out'
        # simulate a kill while s1 was being tiled: no record, one chip missing, a temp file and no manifest
        (out / '.tiles' / 's1.json').unlink()
        next((out / 'img_dir').glob('s1_*.tif')).unlink()
        (out / 'img_dir' / '.s1_r0_c0.tif.tmp999').write_bytes(b'partial')
        (out / 'manifest.json').unlink()
        report = _tile(scenes, out)
        assert report.resumed == ['s0'] and report.tiled == ['s1']
        assert _digest(out) == before

    def test_changed_settings_retile_and_drop_stale_chips(self, tmp_path):
        img, lab = make_scene(tmp_path / 'in', 's')
        _tile([Scene('s', str(img), str(lab))], tmp_path / 'out', chip=32, stride=24)
        report = _tile([Scene('s', str(img), str(lab))], tmp_path / 'out', chip=32, stride=32)
        assert report.tiled == ['s']
        m = Manifest.load(report.manifest)
        on_disk = sorted(p.name for p in (tmp_path / 'out' / 'img_dir').iterdir())
        assert on_disk == sorted(Path(c.img).name for c in m.chips)


class TestBadInput:

    def test_empty_input(self, tmp_path):
        with pytest.raises(ValueError, match='no input scenes'):
            tile_scenes([], str(tmp_path / 'out'), _config())
        with pytest.raises(ValueError, match='no input scenes'):
            match_scenes([])

    def test_band_out_of_range(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', label=False)
        with pytest.raises(TilingError, match=r's\.tif: band index \[5\] out of range'):
            _tile([Scene('s', str(img))], tmp_path / 'out', bands=[1, 5], coding=None)
        assert not (tmp_path / 'out' / 'manifest.json').exists()

    def test_truncated_geotiff(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', label=False, width=256, height=256)
        good, _ = make_scene(tmp_path / 'in', 'good', label=False)
        raw = img.read_bytes()
        img.write_bytes(raw[:len(raw) // 2])
        with pytest.raises(TilingError, match=r's\.tif: .*(corrupt|truncated|not a readable)'):
            _tile([Scene('good', str(good)), Scene('s', str(img))], tmp_path / 'out', coding=None)
        assert not (tmp_path / 'out' / 'manifest.json').exists()
        assert not list((tmp_path / 'out' / 'img_dir').glob('s_*'))

    def test_label_size_mismatch(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', label=False)
        lab = write_raster(tmp_path / 'in' / 's_label.tif', np.zeros((1, 40, 96), np.uint8))
        with pytest.raises(TilingError, match=r's_label\.tif: label size 96x40 does not match its image .*96x80'):
            _tile([Scene('s', str(img), str(lab))], tmp_path / 'out')

    def test_label_transform_mismatch(self, tmp_path):
        from rasterio.transform import from_origin
        img, _ = make_scene(tmp_path / 'in', 's', label=False)
        lab = write_raster(tmp_path / 'in' / 's_label.tif', np.zeros((1, 80, 96), np.uint8),
                           transform=from_origin(500010, 5000000, 0.5, 0.5))
        with pytest.raises(TilingError, match='label transform .* does not match'):
            _tile([Scene('s', str(img), str(lab))], tmp_path / 'out')

    def test_label_crs_mismatch_and_override(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', label=False)
        lab = write_raster(tmp_path / 'in' / 's_label.tif', class_blocks(80, 96, 3)[None], crs='EPSG:32633')
        with pytest.raises(TilingError, match=r'label CRS EPSG:32633 differs from its image .*EPSG:32632'):
            _tile([Scene('s', str(img), str(lab))], tmp_path / 'out')
        with pytest.warns(UserWarning, match='CRS tag EPSG:32633 differs'):
            report = _tile([Scene('s', str(img), str(lab))], tmp_path / 'out', trust_label_grid=True)
        assert Manifest.load(report.manifest).crs == 'EPSG:32632'

    def test_unknown_label_values_reported_with_counts(self, tmp_path):
        img, lab = make_scene(tmp_path / 'in', 's')
        with rasterio.open(lab, 'r+') as dst:
            data = dst.read()
            data[0, :2, :] = 7
            data[0, 2, :5] = 9
            dst.write(data)
        with pytest.raises(TilingError, match=r'2 value\(s\) that are not classes: 7 \(192 px\), 9 \(5 px\)'):
            _tile([Scene('s', str(img), str(lab))], tmp_path / 'out')
        assert not list((tmp_path / 'out' / 'img_dir').iterdir())

    def test_unknown_colours_reported_with_counts(self, tmp_path):
        img, _ = make_scene(tmp_path / 'in', 's', label=False)
        index = class_blocks(80, 96, 3)
        lab = make_color_label(tmp_path / 'in' / 's_label.tif', index, [(255, 255, 255), (0, 0, 255), (1, 2, 3)])
        coding = LabelCoding(classes=['a', 'b', 'c'], colors=ISPRS_COLORS[:3], mode='color')
        want = rf'1 colour\(s\) not in the palette: #010203 \({(index == 2).sum()} px\)'
        with pytest.raises(TilingError, match=want):
            _tile([Scene('s', str(img), str(lab))], tmp_path / 'out', coding=coding)

    def test_all_nodata_scene_warned_and_skipped(self, tmp_path):
        empty = write_raster(tmp_path / 'empty.tif', np.zeros((3, 40, 40), np.uint16), nodata=0)
        good, _ = make_scene(tmp_path / 'in', 'good', label=False)
        with pytest.warns(UserWarning, match=r'empty\.tif: the scene is entirely nodata'):
            report = _tile([Scene('empty', str(empty)), Scene('good', str(good))], tmp_path / 'out', coding=None)
        assert report.empty == {'empty': 'the scene is entirely nodata'}
        assert {c.scene for c in Manifest.load(report.manifest).chips} == {'good'}
        with pytest.raises(TilingError, match='no chip was written'):
            _tile([Scene('empty', str(empty))], tmp_path / 'out2', coding=None)

    def test_all_nodata_uint8_scene(self, tmp_path):
        empty = write_raster(tmp_path / 'empty8.tif', np.zeros((3, 40, 40), np.uint8), nodata=0)
        good, _ = make_scene(tmp_path / 'in', 'good', label=False, dtype='uint8')
        with pytest.warns(UserWarning, match='entirely nodata'):
            report = _tile([Scene('empty8', str(empty)), Scene('good', str(good))], tmp_path / 'out', coding=None)
        assert 'empty8' in report.empty

    def test_keep_going_tiles_the_rest(self, tmp_path):
        good, _ = make_scene(tmp_path / 'in', 'good', label=False)
        bad = tmp_path / 'in' / 'bad.tif'
        bad.write_bytes(b'II*\x00 this is not a tiff')
        report = _tile([Scene('bad', str(bad)), Scene('good', str(good))], tmp_path / 'out', coding=None,
                       keep_going=True)
        assert list(report.failed) == ['bad'] and 'bad.tif' in report.failed['bad']
        m = Manifest.load(report.manifest)
        assert {c.scene for c in m.chips} == {'good'} and 'bad' in m.meta['failed']
        assert 'failed' in report.summary() and 'bad.tif' in report.summary()

    def test_mixed_dtypes_refused(self, tmp_path):
        a, _ = make_scene(tmp_path / 'in', 'a', label=False, dtype='uint8')
        b, _ = make_scene(tmp_path / 'in', 'b', label=False, dtype='uint16')
        with pytest.raises(TilingError, match='share a data type'):
            _tile([Scene('a', str(a)), Scene('b', str(b))], tmp_path / 'out', coding=None)

    def test_labels_need_classes(self, tmp_path):
        img, lab = make_scene(tmp_path / 'in', 's')
        with pytest.raises(TilingError, match='labels need class names'):
            _tile([Scene('s', str(img), str(lab))], tmp_path / 'out', coding=None)


class TestMatching:

    def test_label_pattern_forms(self, tmp_path):
        imgs = [str(tmp_path / 'top_2_10_RGB.tif'), str(tmp_path / 'x_S2Hand.tif')]
        labs = [str(tmp_path / 'top_2_10_label.tif'), str(tmp_path / 'x_LabelHand.tif')]
        s = match_scenes(imgs[:1], labs[:1], '_RGB$=>_label')
        assert s[0].label == labs[0]
        s = match_scenes(imgs[1:], labs[1:], 'S2Hand=>LabelHand')
        assert s[0].label == labs[1]
        s = match_scenes([str(tmp_path / 'a.tif')], [str(tmp_path / 'a_mask.png')], '{stem}_mask')
        assert s[0].label.endswith('a_mask.png')
        with pytest.raises(FileNotFoundError, match='no label raster named a_gt'):
            match_scenes([str(tmp_path / 'a.tif')], [str(tmp_path / 'a_mask.png')], '{stem}_gt')
        with pytest.raises(ValueError, match='share the scene name'):
            match_scenes([str(tmp_path / 'a' / 'x.tif'), str(tmp_path / 'b' / 'x.tif')])


class TestAlpha:

    def _rgbi(self, tmp_path):
        data = np.random.default_rng(0).integers(1, 255, (4, 64, 64)).astype(np.uint8)
        data[3, :32, :] = 0  # "alpha" 0 on the top half
        path = write_raster(tmp_path / 'rgbi.tif', data)  # GDAL tags the 4th uint8 band as alpha by default
        with rasterio.open(path) as src:
            assert src.colorinterp[3] == rasterio.enums.ColorInterp.alpha
        return path

    def test_alpha_is_the_mask_by_default(self, tmp_path):
        path = self._rgbi(tmp_path)
        report = _tile([Scene('rgbi', str(path))], tmp_path / 'out', coding=None, bands=None, chip=32, stride=32,
                       min_valid=0.0)
        assert sorted(c.window[1] for c in Manifest.load(report.manifest).chips) == [32, 32]

    def test_alpha_is_data_for_nir(self, tmp_path):
        path = self._rgbi(tmp_path)
        with pytest.warns(UserWarning, match='band 4 is tagged alpha'):
            report = _tile([Scene('rgbi', str(path))], tmp_path / 'w', coding=None, bands=[4, 1, 2], chip=32,
                           stride=32, min_valid=0.0)
        assert len(Manifest.load(report.manifest).chips) == 2
        report = _tile([Scene('rgbi', str(path))], tmp_path / 'out', coding=None, bands=[4, 1, 2], chip=32,
                       stride=32, min_valid=0.0, alpha_is_data=True)
        m = Manifest.load(report.manifest)
        assert len(m.chips) == 4 and all(c.valid_fraction == 1.0 for c in m.chips)
        with rasterio.open(report.manifest.parent / m.chips[0].img) as c:
            assert (c.read(1) == 0).all()  # the NIR band's zeros are data


class TestDatasetReadsChips:

    @pytest.fixture(autouse=True)
    def _mmseg_scope(self):
        from mmengine.registry import init_default_scope
        init_default_scope('mmseg')

    def test_geochipdataset_loads_tiler_output(self, tmp_path):
        from rsseg.datasets import GeoChipDataset
        img, lab = make_scene(tmp_path / 'in', 's', nodata_corner=(20, 30))
        report = _tile([Scene('s', str(img), str(lab))], tmp_path / 'out', min_valid=0.2, splits=(1.0, 0.0, 0.0))
        ds = GeoChipDataset(manifest=str(report.manifest), split='train',
                            pipeline=[dict(type='LoadRasterImage'), dict(type='LoadRasterAnnotation')])
        stats = NormStats.load(report.manifest.parent / 'norm_stats.json')
        sample = ds[0]
        m = Manifest.load(report.manifest)
        with rasterio.open(report.manifest.parent / m.chips[0].img) as c:
            raw = c.read()
        assert m.chips[0].window == [0, 0, 32, 32]
        np.testing.assert_allclose(sample['img'][25, 31], stats.apply(raw)[:, 25, 31], rtol=1e-6)
        assert sample['img'].dtype == np.float32 and 0.0 <= sample['img'].min() and sample['img'].max() <= 1.0
        assert (sample['gt_seg_map'][:20, :30] == 255).all()  # the image's nodata corner is ignored
        assert 'UTM zone 32N' in sample['crs']

    def test_per_scene_stats_reach_the_loader(self, tmp_path):
        from rsseg.datasets import GeoChipDataset
        scenes = []
        for i, scale in enumerate((1, 3)):
            img, _ = make_scene(tmp_path / 'in', f's{i}', label=False, nodata=None, seed=i)
            with rasterio.open(img, 'r+') as dst:
                dst.write((dst.read() // 4 * scale).astype('uint16'))
            scenes.append(Scene(f's{i}', str(img)))
        report = _tile(scenes, tmp_path / 'out', coding=None, norm_scope='scene', splits=(1.0, 0.0, 0.0))
        ds = GeoChipDataset(manifest=str(report.manifest), split=None, with_label=False,
                            pipeline=[dict(type='LoadRasterImage')])
        infos = [ds.get_data_info(i) for i in range(len(ds))]
        by_scene = {d['scene']: d['norm_stats'] for d in infos}
        assert by_scene['s0'].endswith('norm_stats/s0.json') and by_scene['s1'].endswith('norm_stats/s1.json')
        means = {ds[i]['scene']: ds[i]['img'].mean() for i in range(len(ds))}
        assert abs(means['s0'] - means['s1']) < 0.1  # each scene stretched by its own statistics
