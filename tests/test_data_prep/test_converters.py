"""Potsdam / Vaihingen / LoveDA converters on files shaped like the originals and on real mmseg samples."""
import zipfile

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from rsseg.cli import convert_loveda, convert_potsdam, convert_vaihingen
from rsseg.formats.manifest import Manifest
from rsseg.geo.converters import convert_loveda as api_loveda
from rsseg.geo.converters import convert_potsdam as api_potsdam
from rsseg.geo.converters import convert_vaihingen as api_vaihingen
from rsseg.geo.converters.isprs import ISPRS_COLORS
from rsseg.geo.tiler import TilingError
from tests.data.tiler_scenes.data import class_blocks, make_color_label
from tests.fixtures import write_raster

POTSDAM_TF = from_origin(366000, 5808000, 0.05, 0.05)


def _isprs_label(size=64, seed=0, boundary=True):
    """Class indices 0..5 with a black boundary line (index 6 → black) like the eroded ISPRS labels."""
    idx = class_blocks(size, size, 6, block=16, seed=seed)
    if boundary:
        idx[::16, :] = 6
    return idx


def _zip(folder, name, files):
    with zipfile.ZipFile(folder / f'{name}.zip', 'w') as zf:
        for f in files:
            zf.write(f, f'{name}/{f.name}')
            f.unlink()


def _potsdam_raw(root):
    """Potsdam-shaped download: 4_Ortho_RGBIR.zip and 5_Labels_all_noBoundary.zip with two tiles (train, val)."""
    root.mkdir()
    imgs, labs = [], []
    for seed, tile in enumerate(('2_10', '2_13')):
        data = np.random.default_rng(seed).integers(0, 255, (4, 64, 64)).astype(np.uint8)
        imgs.append(write_raster(root / f'top_potsdam_{tile}_RGBIR.tif', data, crs='EPSG:32633', transform=POTSDAM_TF))
        labs.append(make_color_label(root / f'top_potsdam_{tile}_label_noBoundary.tif', _isprs_label(seed=seed),
                                     list(ISPRS_COLORS) + [(0, 0, 0)], crs='EPSG:32633', transform=POTSDAM_TF))
    _zip(root, '4_Ortho_RGBIR', imgs)
    _zip(root, '5_Labels_all_noBoundary', labs)


def test_potsdam_from_zips_irrg_clutter_ignored(tmp_path):
    _potsdam_raw(tmp_path / 'raw')
    report = api_potsdam(str(tmp_path / 'raw'), str(tmp_path / 'out'), variant='irrg', clutter='ignore', chip=32,
                         stride=32, progress=False)
    m = Manifest.load(report.manifest)
    assert m.classes == ['impervious_surface', 'building', 'low_vegetation', 'tree', 'car']
    assert m.bands == [4, 1, 2] and m.meta['band_names'] == ['ir', 'r', 'g'] and m.crs == 'EPSG:32633'
    assert {c.scene: c.split for c in m.chips} == {'potsdam_2_10': 'train', 'potsdam_2_13': 'val'}
    assert len(m.chips) == 8 and m.domain == 'potsdam-irrg'
    chip = next(c for c in m.chips if c.scene == 'potsdam_2_10' and c.window[:2] == [0, 0])
    idx = _isprs_label(seed=0)[:32, :32]
    want = np.where((idx == 6) | (idx == 5), 255, idx)  # boundary and clutter → ignore
    with rasterio.open(report.manifest.parent / chip.ann) as a, rasterio.open(report.manifest.parent / chip.img) as c:
        np.testing.assert_array_equal(a.read(1), want)
        src = f'/vsizip/{tmp_path / "raw" / "4_Ortho_RGBIR.zip"}/4_Ortho_RGBIR/top_potsdam_2_10_RGBIR.tif'
        with rasterio.open(src) as s:
            np.testing.assert_array_equal(c.read(), s.read([4, 1, 2], window=((0, 32), (0, 32))))


def test_potsdam_rgb_six_classes_from_folders(tmp_path):
    raw = tmp_path / 'raw'
    (raw / '2_Ortho_RGB').mkdir(parents=True)
    (raw / '5_Labels_all').mkdir()
    data = np.random.default_rng(0).integers(0, 255, (3, 64, 64)).astype(np.uint8)
    write_raster(raw / '2_Ortho_RGB' / 'top_potsdam_6_7_RGB.tif', data, crs='EPSG:32633', transform=POTSDAM_TF)
    idx = _isprs_label(boundary=False)
    make_color_label(raw / '5_Labels_all' / 'top_potsdam_6_7_label.tif', idx, ISPRS_COLORS, crs='EPSG:32633',
                     transform=POTSDAM_TF)
    report = api_potsdam(str(raw), str(tmp_path / 'out'), variant='rgb', labels='full', chip=64, stride=64,
                         progress=False)
    m = Manifest.load(report.manifest)
    assert len(m.classes) == 6 and m.bands == [1, 2, 3] and m.chips[0].split == 'train'
    assert m.chips[0].class_hist == np.bincount(idx.ravel(), minlength=6).tolist()


def test_potsdam_unknown_colour_reported(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    data = np.zeros((3, 32, 32), np.uint8) + 9
    write_raster(raw / 'top_potsdam_2_10_RGB.tif', data, crs='EPSG:32633', transform=POTSDAM_TF)
    idx = np.zeros((32, 32), int)
    idx[:4, :] = 1
    make_color_label(raw / 'top_potsdam_2_10_label_noBoundary.tif', idx, [(255, 255, 255), (10, 20, 30)],
                     crs='EPSG:32633', transform=POTSDAM_TF)
    with pytest.raises(TilingError, match=r'top_potsdam_2_10_label_noBoundary\.tif: .*#0A141E \(128 px\)'):
        api_potsdam(str(raw), str(tmp_path / 'out'), variant='rgb', chip=32, stride=32, progress=False)


def test_vaihingen_layout_dsm_ignored(tmp_path, capsys):
    raw = tmp_path / 'raw'
    for sub in ('top', 'dsm', 'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE',
                'ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE'):
        (raw / sub).mkdir(parents=True)
    for seed, area in enumerate((1, 2)):
        data = np.random.default_rng(seed).integers(0, 255, (3, 48, 40)).astype(np.uint8)
        write_raster(raw / 'top' / f'top_mosaic_09cm_area{area}.tif', data, crs=None, driver='GTiff')
        write_raster(raw / 'dsm' / f'dsm_09cm_matching_area{area}.tif', np.zeros((1, 48, 40), np.float32), crs=None)
        idx = class_blocks(48, 40, 6, seed=seed)
        make_color_label(raw / 'ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE' /
                         f'top_mosaic_09cm_area{area}.tif', idx, ISPRS_COLORS, crs=None)
        make_color_label(raw / 'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE' /
                         f'top_mosaic_09cm_area{area}_noBoundary.tif', idx, ISPRS_COLORS, crs=None)
    from rsseg.utils.cli import run_cli
    with pytest.raises(SystemExit) as exc:
        run_cli(convert_vaihingen.main, [str(raw), '--out', str(tmp_path / 'out'), '--chip', '24', '--labels', 'full',
                                         '--no-progress'])
    assert exc.value.code == 0, capsys.readouterr().err
    m = Manifest.load(tmp_path / 'out' / 'manifest.json')
    assert {c.scene: c.split for c in m.chips} == {'vaihingen_area1': 'train', 'vaihingen_area2': 'val'}
    assert m.crs is None and m.meta['band_names'] == ['ir', 'r', 'g'] and len(m.chips) == 2 * 4
    assert all(str(tmp_path / 'raw' / 'top') in str((tmp_path / 'out' / s['image']).resolve())
               for s in m.meta['scenes'].values())
    report = api_vaihingen(str(raw), str(tmp_path / 'out2'), chip=24, stride=24, progress=False)
    assert Manifest.load(report.manifest).chips[0].ann


def test_loveda_original_layout(tmp_path):
    raw = tmp_path / 'raw'
    for split, dom, stem, mask in (('Train', 'Rural', '0', True), ('Val', 'Rural', '5', True),
                                   ('Test', 'Rural', '9', False), ('Train', 'Urban', '100', True)):
        (raw / split / dom / 'images_png').mkdir(parents=True, exist_ok=True)
        data = np.random.default_rng(int(stem)).integers(0, 255, (3, 32, 32)).astype(np.uint8)
        write_raster(raw / split / dom / 'images_png' / f'{stem}.png', data, crs=None, driver='PNG')
        if mask:
            (raw / split / dom / 'masks_png').mkdir(parents=True, exist_ok=True)
            lbl = class_blocks(32, 32, 8, seed=int(stem))  # 0..7, 0 = no-data
            write_raster(raw / split / dom / 'masks_png' / f'{stem}.png', lbl[None], crs=None, driver='PNG')
    report = api_loveda(str(raw), str(tmp_path / 'out'), domains=['Rural'], chip=16, stride=16, progress=False)
    m = Manifest.load(report.manifest)
    assert {c.scene: c.split for c in m.chips} == {'rural_0': 'train', 'rural_5': 'val', 'rural_9': 'benchmark'}
    assert len(m.classes) == 7 and m.classes[0] == 'background'
    assert all(c.ann is None for c in m.chips if c.scene == 'rural_9')
    chip = next(c for c in m.chips if c.scene == 'rural_0' and c.window[:2] == [0, 0])
    lbl = class_blocks(32, 32, 8, seed=0)[:16, :16].astype(int)
    with rasterio.open(report.manifest.parent / chip.ann) as a:
        np.testing.assert_array_equal(a.read(1), np.where(lbl == 0, 255, lbl - 1))


def test_real_mmseg_samples(shared_data, tmp_path):
    root = shared_data / 'mmseg-samples'
    pots = api_potsdam(str(root / 'potsdam'), str(tmp_path / 'p'), chip=256, stride=256, progress=False)
    vaih = api_vaihingen(str(root / 'vaihingen'), str(tmp_path / 'v'), chip=256, stride=256, progress=False)
    for report, name, src in ((pots, 'potsdam', '2_10_0_0_512_512'), (vaih, 'vaihingen', 'area1_0_0_512_512')):
        m = Manifest.load(report.manifest)
        assert len(m.chips) == 4 and len(m.classes) == 6 and m.domain == name
        with rasterio.open(root / name / 'ann_dir' / f'{src}.png') as s:
            raw = s.read(1).astype(int)
        chip = next(c for c in m.chips if c.window[:2] == [256, 256])
        with rasterio.open(report.manifest.parent / chip.ann) as a:
            np.testing.assert_array_equal(a.read(1), np.where(raw == 0, 255, raw - 1)[256:, 256:])
    from rsseg.utils.cli import run_cli
    with pytest.raises(SystemExit) as exc:
        run_cli(convert_loveda.main, [str(root / 'loveda'), '--out', str(tmp_path / 'l'), '--chip', '512',
                                      '--no-progress', '--workers', '2'])
    assert exc.value.code == 0
    m = Manifest.load(tmp_path / 'l' / 'manifest.json')
    assert len(m.chips) == 12 and m.classes[1] == 'building'
    hist = np.sum([c.class_hist for c in m.chips], axis=0)
    with rasterio.open(root / 'loveda' / 'ann_dir' / '0.png') as s:
        assert hist.sum() > 0 and (s.read(1) == 0).sum() == 0  # these samples have no no-data pixels
    assert convert_potsdam.main is not None and callable(convert_potsdam.cli)
