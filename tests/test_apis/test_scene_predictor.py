"""ScenePredictor: seamless blending, strip invariance, georeferencing, nodata, GSD, data settings, bad input."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from rsseg.apis import ScenePredictor, collect_scenes
from rsseg.apis.infer_settings import resolve_settings
from rsseg.formats.errors import GeoError, RasterReadError
from rsseg.formats.manifest import Manifest
from rsseg.geo.cog import is_complete, validate_cog
from rsseg.geo.normalization import NormStats
from rsseg.geo.tiling import spread_starts
from rsseg.geo.working_grid import SceneHeader, grid_factor
from tests.fixtures import REPO_MODEL, predict_array, smooth_image, write_scene, write_tiny_model


@pytest.fixture(scope='module')
def model_files(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp('model'))


@pytest.fixture(scope='module')
def predictor(model_files) -> ScenePredictor:
    return ScenePredictor(str(model_files[0]), str(model_files[1]), window=48, overlap=0.5, progress=False)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


# ----------------------------------------------------------------------------------------------- blending
@pytest.mark.parametrize('blend,tol', [('hann', 2e-3), ('pyramid', 5e-2)])
def test_blended_sliding_prediction_equals_whole_image_prediction(model_files, blend: str, tol: float) -> None:
    """3x3 receptive field: each pixel seen with context by some window; weights hide window-edge padding."""
    p = ScenePredictor(str(model_files[0]), str(model_files[1]), window=48, overlap=0.5, blend=blend, progress=False)
    img = smooth_image(3, 150, 170, seed=3)
    classes, conf = predict_array(p, img)
    whole = p.forward((img / 255.0).astype(np.float32)[None])[0]       # one window = the whole image
    inner = (slice(1, -1), slice(1, -1))
    assert np.abs(conf - whole.max(0))[inner].max() < tol
    assert (classes == whole.argmax(0))[inner].mean() > 0.999
    assert len(np.unique(classes)) >= 2


def test_plain_averaging_would_show_seams(model_files) -> None:
    """The same comparison with mmseg's uniform average fails: the test above has teeth."""
    p = ScenePredictor(str(model_files[0]), str(model_files[1]), window=48, overlap=0.5, blend='uniform',
                       progress=False)
    img = smooth_image(3, 150, 170, seed=3)
    _, conf = predict_array(p, img)
    whole = p.forward((img / 255.0).astype(np.float32)[None])[0]
    assert np.abs(conf - whole.max(0)).max() > 0.05


# ----------------------------------------------------------------------------------------------- files
def test_output_georeferencing_nodata_and_cog(predictor, tmp_path: Path) -> None:
    scene = write_scene(tmp_path / 'area.tif', width=170, height=130, nodata_box=(0, 0, 20, 30))
    result = predictor.predict_scene(scene, tmp_path / 'out', confidence=True)
    assert result.status == 'done' and result.output == tmp_path / 'out' / 'area.tif'
    with rasterio.open(scene) as src, rasterio.open(result.output) as out:
        assert out.crs == src.crs and out.transform == src.transform and out.shape == src.shape
        assert out.nodata == 255 and out.dtypes[0] == 'uint8'
        invalid = src.read_masks(1) == 0
        classes = out.read(1)
        assert invalid.sum() == 600
        np.testing.assert_array_equal(classes == 255, invalid)
        assert json.loads(out.tags()['CLASS_NAMES']) == ['c0', 'c1', 'c2', 'c3']
        assert out.colormap(1)[0][:3] == (230, 25, 75)
    with rasterio.open(tmp_path / 'out' / 'area.confidence.tif') as conf:
        c = conf.read(1)
        assert conf.scales[0] == pytest.approx(0.01) and conf.transform == out.transform
        np.testing.assert_array_equal(c == 255, invalid)
        assert 25 <= c[~invalid].min() and c[~invalid].max() <= 100      # max of 4 probabilities is >= 25 %
    for path in (result.output, tmp_path / 'out' / 'area.confidence.tif'):
        assert validate_cog(path)[0]
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == ['area.confidence.tif', 'area.qml', 'area.tif',
                                                                       'area.tif.aux.xml']


def test_every_stage_reports_its_time(predictor, tmp_path: Path) -> None:
    """bench/bench_predict.py's breakdown: each stage of the pipeline is timed, and no stage's time goes missing."""
    scene = write_scene(tmp_path / 's.tif', width=150, height=110)
    stats = predictor.predict_scene(scene, tmp_path / 'out', confidence=True).stats
    stages = ('read_s', 'normalise_s', 'forward_s', 'blend_s', 'write_s', 'overviews_s', 'cog_copy_s')
    assert all(stats[k] > 0 for k in stages), {k: stats.get(k) for k in stages}


def test_file_prediction_equals_in_memory_prediction(predictor, tmp_path: Path) -> None:
    scene = write_scene(tmp_path / 's.tif', width=150, height=110, nodata=None)
    with rasterio.open(scene) as src:
        data = src.read()
    classes, _ = predict_array(predictor, data)
    np.testing.assert_array_equal(_read(predictor.predict_scene(scene, tmp_path / 'out').output), classes)


def test_batching_and_read_ahead_do_not_change_the_result(model_files, tmp_path: Path) -> None:
    """Batches spanning window rows, one window per batch, deep or shallow read-ahead: the same maps (the exact model:
    the fast one's channels-last kernels may round differently per batch size)."""
    scene = write_scene(tmp_path / 'tall.tif', width=140, height=300, nodata_box=(100, 40, 60, 60))
    outs = []
    for batch, prefetch in ((1, 1), (7, 4)):
        p = ScenePredictor(str(model_files[0]), str(model_files[1]), window=40, overlap=0.25, batch_size=batch,
                           prefetch=prefetch, progress=False, fast_model=False)
        out = tmp_path / f'b{batch}'
        p.predict_scene(scene, out, confidence=True)
        outs.append((_read(out / 'tall.tif'), _read(out / 'tall.confidence.tif')))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


def test_the_fast_model_gives_the_exact_models_maps(model_files, tmp_path: Path) -> None:
    """The default fast copy (BatchNorm folded, channels-last) is used, and changes outputs by rounding only."""
    scene = write_scene(tmp_path / 's.tif', width=170, height=130, nodata_box=(0, 0, 20, 30))
    maps = {}
    for fast in (True, False):
        p = ScenePredictor(str(model_files[0]), str(model_files[1]), window=48, overlap=0.25, progress=False,
                           fast_model=fast)
        assert p.fast_model is fast
        out = p.predict_scene(scene, tmp_path / str(fast), confidence=True).output
        maps[fast] = _read(out), _read(out.with_name('s.confidence.tif')).astype(int)
    np.testing.assert_array_equal(maps[True][0], maps[False][0])
    assert np.abs(maps[True][1] - maps[False][1]).max() <= 1


def test_a_model_the_fast_copy_would_change_runs_as_it_is(model_files, monkeypatch) -> None:
    """A fused copy whose logits differ from the model's on the probe is not used."""
    import mmcv.cnn

    def broken_fuse(module):
        for m in module.modules():
            if isinstance(m, torch.nn.modules.conv._ConvNd):
                m.weight.data.mul_(1.5)
        return module
    monkeypatch.setattr(mmcv.cnn, 'fuse_conv_bn', broken_fuse)
    p = ScenePredictor(str(model_files[0]), str(model_files[1]), window=48, overlap=0.25, progress=False)
    assert p.fast_model is False


def test_blending_memory_does_not_depend_on_scene_height(model_files, tmp_path: Path) -> None:
    p = ScenePredictor(str(model_files[0]), str(model_files[1]), window=48, overlap=0.25, progress=False)
    peaks = []
    for height in (48 + 36 * 2, 48 + 36 * 8):          # no shifted last window row: the same cell geometry
        scene = write_scene(tmp_path / f'h{height}.tif', width=1200, height=height, nodata=None)
        peaks.append(p.predict_scene(scene, tmp_path / 'out').stats['blend_peak_mb'])
    assert peaks[1] <= 1.05 * peaks[0]                 # 3x the window rows, no more memory (batch phase aside)
    strip_buffer = (4 * 4 + 4 + 1) * 1200 * 48 / 2 ** 20     # a whole-width window row of sums, weights, validity
    assert peaks[0] < 0.6 * strip_buffer


def test_windows_entirely_nodata_skip_the_model(predictor, tmp_path: Path, monkeypatch) -> None:
    scene = write_scene(tmp_path / 'holes.tif', width=120, height=120, nodata_box=(0, 0, 72, 120))
    seen = []
    forward = ScenePredictor.forward

    def counting(self, batch, weights=None):
        seen.append(len(batch))
        return forward(self, batch, weights)

    monkeypatch.setattr(ScenePredictor, 'forward', counting)
    stats = predictor.predict_scene(scene, tmp_path / 'out').stats
    rows = spread_starts(120, 48, 24)
    empty = sum(1 for r in rows if r + 48 <= 72) * len(rows)
    assert stats['windows'] == len(rows) ** 2 and stats['skipped_windows'] == empty > 0
    assert sum(seen) == len(rows) ** 2 - empty
    assert (_read(tmp_path / 'out' / 'holes.tif')[:72] == 255).all()


def test_a_failure_mid_scene_leaves_no_output_and_no_thread(predictor, tmp_path: Path, monkeypatch) -> None:
    import threading
    scene = write_scene(tmp_path / 'boom.tif', width=200, height=160)
    calls = []
    forward = ScenePredictor.forward

    def failing(self, batch, weights=None):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError('CUDA out of memory (simulated)')
        return forward(self, batch, weights)

    monkeypatch.setattr(ScenePredictor, 'forward', failing)
    with pytest.raises(RuntimeError, match='simulated'):
        predictor.predict_scene(scene, tmp_path / 'out', confidence=True)
    assert list((tmp_path / 'out').iterdir()) == []
    assert not [t for t in threading.enumerate() if t.name.startswith('rsseg-')]


def test_resume_skips_complete_outputs_and_redoes_incomplete_ones(predictor, tmp_path: Path) -> None:
    scene = write_scene(tmp_path / 'r.tif', width=80, height=70)
    out = tmp_path / 'out'
    assert predictor.predict_scene(scene, out).status == 'done'
    stamp = os.stat(out / 'r.tif').st_mtime_ns
    assert predictor.predict_scene(scene, out).status == 'skipped'
    assert os.stat(out / 'r.tif').st_mtime_ns == stamp
    assert predictor.predict_scene(scene, out, confidence=True).status == 'done'  # a requested companion is missing
    assert predictor.predict_scene(scene, out, overwrite=True).status == 'done'
    # A file at the output name that is not a finished rsseg output (e.g. a killed foreign write) is redone.
    with rasterio.open(out / 'r.tif', 'w', driver='GTiff', width=80, height=70, count=1, dtype='uint8') as dst:
        dst.write(np.zeros((1, 70, 80), np.uint8))
    assert not is_complete(out / 'r.tif')
    assert predictor.predict_scene(scene, out).status == 'done' and is_complete(out / 'r.tif')


def test_preview_png(predictor, tmp_path: Path) -> None:
    from matplotlib.image import imread
    scene = write_scene(tmp_path / 'p.tif', width=90, height=60)
    with pytest.raises(ValueError, match='would overwrite the scene'):
        predictor.predict_scene(scene, tmp_path)
    predictor.predict_scene(scene, tmp_path / 'out', preview=True)
    png = imread(tmp_path / 'out' / 'p.preview.png')
    assert png.ndim == 3 and png.shape[0] > 100 and png.shape[1] > 200
    assert len(np.unique(png.reshape(-1, png.shape[2]), axis=0)) > 50   # an image, not a blank canvas


# ----------------------------------------------------------------------------------------------- data settings
def test_training_gsd_resampling_and_back_to_the_scene_grid(model_files, tmp_path: Path) -> None:
    config, ckpt = write_tiny_model(tmp_path / 'm', infer_settings=dict(gsd=2.0))
    p = ScenePredictor(str(config), str(ckpt), window=32, overlap=0.25, progress=False)
    scene = write_scene(tmp_path / 'fine.tif', width=130, height=100, pixel=1.0, nodata_box=(0, 0, 21, 33))
    result = p.predict_scene(scene, tmp_path / 'out')
    windows_2m = len(spread_starts(65, 32, 24)) * len(spread_starts(50, 32, 24))
    assert result.stats['windows'] == windows_2m                          # predicted on a 2 m grid
    with rasterio.open(scene) as src, rasterio.open(result.output) as out:
        assert out.transform == src.transform and out.shape == src.shape and out.crs == src.crs
        classes = out.read(1)
        np.testing.assert_array_equal(classes == 255, src.read_masks(1) == 0)
    assert validate_cog(result.output)[0]
    assert sorted(q.name for q in (tmp_path / 'out').iterdir()) == ['fine.qml', 'fine.tif', 'fine.tif.aux.xml']
    native = ScenePredictor(str(config), str(ckpt), window=32, overlap=0.25, native_gsd=True, progress=False)
    assert native.predict_scene(scene, tmp_path / 'native').stats['windows'] == len(spread_starts(130, 32, 24)) * len(
        spread_starts(100, 32, 24))


def test_resampling_factor_beyond_limit_is_refused(tmp_path: Path) -> None:
    config, ckpt = write_tiny_model(tmp_path / 'm', infer_settings=dict(gsd=100.0))
    p = ScenePredictor(str(config), str(ckpt), window=32, progress=False)
    scene = write_scene(tmp_path / 'fine.tif', width=64, height=64, pixel=1.0)
    with pytest.raises(GeoError, match='factor 100.0'):
        p.predict_scene(scene, tmp_path / 'out')
    assert not (tmp_path / 'out' / 'fine.tif').exists()


def test_gsd_on_a_geographic_crs_is_converted_to_metres() -> None:
    from affine import Affine
    info = SceneHeader(Path('x.tif'), 100, 100, 3, 'uint8', rasterio.crs.CRS.from_epsg(4326),
                     Affine(1e-5, 0, 10.0, 0, -1e-5, 45.0), None)
    from rsseg.geo.grid import pixel_size_m

    class Src:  # the attributes pixel_size_m reads
        crs, transform, width, height = info.crs, info.transform, 100, 100

    info.pixel_size_m = pixel_size_m(Src)
    assert info.pixel_size_m[0] == pytest.approx(0.787, rel=0.01) and info.pixel_size_m[1] == pytest.approx(1.106,
                                                                                                          rel=0.01)
    fx, fy = grid_factor(info, 2.0)
    assert fx == pytest.approx(2.54, rel=0.01) and fy == pytest.approx(1.81, rel=0.01)


def test_settings_from_the_validation_manifest(tmp_path: Path) -> None:
    """Bands [3, 1, 2] of a 4-band uint16 scene and the manifest's statistics are what the model gets."""
    stats = NormStats(low=[100.0, 200.0, 300.0], high=[3000.0, 3500.0, 2500.0], bands=[3, 1, 2], dtype='uint16')
    stats.save(tmp_path / 'stats.json')
    Manifest(classes=['w', 'x', 'y', 'z'], palette=[[1, 2, 3]] * 4, bands=[3, 1, 2], norm_stats='stats.json',
             gsd=None).save(tmp_path / 'manifest.json')
    val = dict(type='GeoChipDataset', manifest=str(tmp_path / 'manifest.json'), split='val', pipeline=[])
    config, ckpt = write_tiny_model(tmp_path / 'm', val_dataloader=dict(batch_size=1, dataset=val))
    p = ScenePredictor(str(config), str(ckpt), window=40, overlap=0.25, progress=False)
    assert p.settings.bands == [3, 1, 2] and p.settings.classes == ['w', 'x', 'y', 'z']
    assert 'manifest' in p.settings.source
    scene = write_scene(tmp_path / 'u16.tif', count=4, dtype='uint16', high=4000, width=90, height=70, nodata=None)
    out = _read(p.predict_scene(scene, tmp_path / 'out').output)
    with rasterio.open(scene) as src:
        raw = src.read([3, 1, 2])
    np.testing.assert_array_equal(out, predict_array(p, raw, stats=stats)[0])
    assert not np.array_equal(out, predict_array(p, raw[::-1].copy(), stats=stats)[0])  # band order matters


def test_config_infer_settings_win_over_the_manifest(tmp_path: Path) -> None:
    from mmengine.config import Config
    cfg = Config(dict(infer_settings=dict(bands=[2, 1, 3], gsd=0.5, classes=['a', 'b']),
                      val_dataloader=dict(dataset=dict(manifest=str(tmp_path / 'missing.json')))))
    settings = resolve_settings(cfg, tmp_path / 'c.py', None)
    assert settings.bands == [2, 1, 3] and settings.gsd == 0.5 and 'infer_settings' in settings.source
    with pytest.raises(FileNotFoundError, match='missing.json'):
        resolve_settings(Config(dict(val_dataloader=dict(dataset=dict(manifest=str(tmp_path / 'missing.json'))))),
                         None, None)
    with pytest.raises(ValueError, match='unknown infer_settings'):
        resolve_settings(Config(dict(infer_settings=dict(gsd=1, band=[1]))), None, None)


# ----------------------------------------------------------------------------------------------- bad input
def test_uint16_scene_without_statistics_is_refused(predictor, tmp_path: Path) -> None:
    scene = write_scene(tmp_path / 'u16.tif', dtype='uint16', high=4000, width=64, height=64)
    with pytest.raises(ValueError, match='normalisation statistics'):
        predictor.predict_scene(scene, tmp_path / 'out')


def test_band_count_mismatch_is_refused(predictor, tmp_path: Path) -> None:
    scene = write_scene(tmp_path / 'one.tif', count=1, width=64, height=64)
    with pytest.raises(GeoError, match=r'one.tif: the scene gives 1 band\(s\) .* trained on 3'):
        predictor.predict_scene(scene, tmp_path / 'out')
    assert not (tmp_path / 'out' / 'one.tif').exists()


def test_scene_without_crs_needs_the_flag(model_files, predictor, tmp_path: Path) -> None:
    scene = write_scene(tmp_path / 'nocrs.tif', crs=None, width=64, height=50)
    with pytest.raises(GeoError, match='nocrs.tif: the scene has no CRS'):
        predictor.predict_scene(scene, tmp_path / 'out')
    p = ScenePredictor(str(model_files[0]), str(model_files[1]), window=32, allow_no_crs=True, progress=False)
    with rasterio.open(p.predict_scene(scene, tmp_path / 'out').output) as out:
        assert out.crs is None and out.shape == (50, 64)


def test_checkpoint_that_does_not_match_the_config_is_refused(model_files, tmp_path: Path) -> None:
    _, other = write_tiny_model(tmp_path / 'six', num_classes=6)
    with pytest.raises(ValueError, match=r'does not match config .*conv_seg.weight \(6, 8, 1, 1\) vs \(4, 8, 1, 1\)'):
        ScenePredictor(str(model_files[0]), str(other), progress=False)
    _, wider = write_tiny_model(tmp_path / 'wide', base_channels=16)
    with pytest.raises(ValueError, match='does not match'):
        ScenePredictor(str(model_files[0]), str(wider), progress=False)


def test_corrupt_geotiff_fails_cleanly(model_files, shared_data: Path, tmp_path: Path) -> None:
    corrupt = shared_data / 'rasterio' / 'corrupt.tif'
    p = ScenePredictor(str(model_files[0]), str(model_files[1]), window=256, progress=False)
    with pytest.raises(RasterReadError, match='corrupt.tif: corrupt or truncated'):
        p.predict_scene(corrupt, tmp_path / 'out')
    assert list((tmp_path / 'out').iterdir()) == [], 'no partial or temporary output may remain'


def test_collect_scenes_from_files_globs_folders_and_lists(tmp_path: Path) -> None:
    a = write_scene(tmp_path / 'a.tif', width=8, height=8)
    b = write_scene(tmp_path / 'b.tif', width=8, height=8)
    (tmp_path / 'sub').mkdir()
    c = write_scene(tmp_path / 'sub' / 'c.tif', width=8, height=8)
    (tmp_path / 'list.txt').write_text('# scenes\nsub/c.tif\n\na.tif\n')
    assert collect_scenes([tmp_path / 'list.txt']) == [tmp_path / 'sub' / 'c.tif', tmp_path / 'a.tif']
    assert collect_scenes([str(tmp_path / '*.tif'), a]) == [a, b]
    assert collect_scenes([tmp_path / 'sub']) == [c]
    write_scene(tmp_path / 'sub' / 'a.tif', width=8, height=8)
    with pytest.raises(ValueError, match='share the scene name'):
        collect_scenes([a, tmp_path / 'sub' / 'a.tif'])
    with pytest.raises(FileNotFoundError, match='missing.tif does not exist'):
        collect_scenes([tmp_path / 'missing.tif'])
    with pytest.raises(FileNotFoundError, match='scene pattern .* matches no raster file'):
        collect_scenes([str(tmp_path / '*.jp2')])


def test_real_architecture_with_output_stride_and_small_scenes(tmp_path: Path) -> None:
    """The repository's DeepLabV3+ (stride-8 features resized back by its head): odd sizes, scene < window."""
    assert REPO_MODEL.is_file(), f'{REPO_MODEL} is missing: renamed? tests/fixtures.py REPO_MODEL names it'
    from mmengine.config import Config
    model = Config.fromfile(str(REPO_MODEL)).model.to_dict()
    config, ckpt = write_tiny_model(tmp_path / 'm', model=model, num_classes=5)
    p = ScenePredictor(str(config), str(ckpt), window=72, overlap=0.3, batch_size=3, progress=False)
    for name, (w, h) in (('odd', (101, 83)), ('small', (40, 50))):
        scene = write_scene(tmp_path / f'{name}.tif', width=w, height=h, nodata_box=(0, 0, 5, 7))
        result = p.predict_scene(scene, tmp_path / 'out', confidence=True)
        with rasterio.open(result.output) as out:
            classes = out.read(1)
            assert out.shape == (h, w) and (classes[:5, :7] == 255).all() and (classes[5:] < 5).all()
        assert validate_cog(result.output)[0]


def test_class_map_names_its_classes_for_gis_clients_and_resume_restores_them(predictor, tmp_path: Path,
                                                                            monkeypatch) -> None:
    from rsseg.geo.class_styles import read_category_names, write_class_sidecars

    from ..test_geo.test_class_styles import gdal_category_names
    scene, out_dir = write_scene(tmp_path / 'a.tif', width=60, height=50), tmp_path / 'out'
    out, classes = predictor.outputs(scene, out_dir), predictor.settings.classes
    predictor.predict_scene(scene, out_dir)
    assert gdal_category_names(out['classes']) == classes == ['c0', 'c1', 'c2', 'c3']
    assert 'label="c3"' in out['style'].read_text() and validate_cog(out['classes'])[0]
    stamp = out['classes'].stat().st_mtime_ns
    out['categories'].unlink()                                  # e.g. killed between the map and its sidecars
    assert predictor.predict_scene(scene, out_dir).status == 'skipped'
    assert read_category_names(out['classes']) == classes and out['classes'].stat().st_mtime_ns == stamp
    write_class_sidecars(out['classes'], ['old'] * 4, {i: (0, 0, 0, 255) for i in range(4)})
    with monkeypatch.context() as m:                            # a new map never keeps the old map's names
        m.setattr('rsseg.apis.scene_predictor.writers.write_class_sidecars',
                  lambda *a: (_ for _ in ()).throw(OSError()))
        with pytest.raises(OSError):
            predictor.predict_scene(scene, out_dir, overwrite=True)
    assert not out['categories'].exists() and not out['style'].exists()
    assert predictor.predict_scene(scene, out_dir).status == 'skipped'
    assert read_category_names(out['classes']) == classes and 'label="c0"' in out['style'].read_text()


def test_first_and_last_windows_go_alone(tmp_path: Path) -> None:
    """The model starts after one window is read and only one window is left to blend after its last call; every
    window is read once, in order, and ``upto`` ends on the last; nodata-only windows are counted, not batched."""
    from contextlib import contextmanager

    from rsseg.apis.scene_predictor.reader import read_batches

    @contextmanager
    def open_reader():
        def read(row, col, h, w):
            return np.ones((1, h, w), np.uint8), np.full((h, w), (row, col) != (0, 10), bool)
        yield read

    timings = dict(read_s=0.0, normalise_s=0.0)
    grid = ([0, 10, 20], [0, 10, 20], 10, 10)          # 9 windows; (0, 10) holds no valid pixel
    batches = list(read_batches(open_reader, grid, 4, NormStats.identity_uint8(1), timings))
    assert [len(b[0]) for b in batches] == [1, 4, 2, 1]
    assert [b[3] for b in batches] == [0, 5, 7, 8] and [b[4] for b in batches] == [0, 1, 0, 0]
    assert [pos for b in batches for pos in b[0]] == [(r, c) for r in (0, 10, 20) for c in (0, 10, 20)
                                                     if (r, c) != (0, 10)]
