"""Raster loading keeps bands, bit depth and georeferencing; nodata becomes the ignore index."""
from pathlib import Path

import numpy as np
import pytest
import rasterio

from rsseg.datasets.transforms import LoadRasterAnnotation, LoadRasterImage, RSAlbu
from rsseg.formats.errors import GeoError
from rsseg.geo import NormStats


def test_uint16_four_bands_kept_with_sidecar(utm_raster, tmp_path: Path) -> None:
    path = utm_raster(count=4, dtype='uint16')
    stats = NormStats(low=[0, 0, 0, 1000], high=[4000, 4000, 4000, 3000])
    stats.save(tmp_path / 'stats.json')
    out = LoadRasterImage()(dict(img_path=str(path), norm_stats=str(tmp_path / 'stats.json')))
    with rasterio.open(path) as src:
        raw = src.read()
    assert out['img'].shape == (80, 96, 4) and out['img'].dtype == np.float32
    np.testing.assert_allclose(out['img'][40, 50], np.clip((raw[:, 40, 50] - [0, 0, 0, 1000]) /
                                                            np.array([4000, 4000, 4000, 2000]), 0, 1), rtol=1e-6)
    assert not out['valid_mask'][:10, :12].any() and out['valid_mask'][10:, 12:].all()
    assert 'UTM zone 32N' in out['crs'] and out['geo_transform'][0] == 0.5


def test_band_selection_and_order(utm_raster) -> None:
    path = utm_raster(count=4, dtype='uint8', nodata=None)
    out = LoadRasterImage(bands=[4, 1, 2])(dict(img_path=str(path)))
    with rasterio.open(path) as src:
        raw = src.read([4, 1, 2]).transpose(1, 2, 0)
    np.testing.assert_allclose(out['img'], raw / 255.0, rtol=1e-6)
    with pytest.raises(GeoError, match=r'band index \[5\] out of range'):
        LoadRasterImage(bands=[5])(dict(img_path=str(path)))


def test_16bit_without_stats_is_refused(utm_raster) -> None:
    with pytest.raises(ValueError, match='uint16 imagery needs normalisation statistics'):
        LoadRasterImage()(dict(img_path=str(utm_raster(dtype='uint16'))))


def test_label_nodata_to_ignore(utm_raster) -> None:
    img = utm_raster('img.tif', count=3, dtype='uint8')
    lab = utm_raster('lab.tif', count=1, dtype='uint8', nodata=None)
    with rasterio.open(lab, 'r+') as dst:
        dst.write(np.full((1, 80, 96), 3, np.uint8))
    results = LoadRasterImage()(dict(img_path=str(img)))
    results = LoadRasterAnnotation()(dict(results, seg_map_path=str(lab), seg_fields=[]))
    seg = results['gt_seg_map']
    assert seg.dtype == np.uint8 and (seg[:10, :12] == 255).all() and (seg[10:, 12:] == 3).all()


def test_rsalbu_keeps_all_bands_and_moves_mask() -> None:
    img = np.random.default_rng(0).random((32, 40, 5), dtype=np.float32)
    seg = np.arange(32 * 40, dtype=np.uint8).reshape(32, 40) % 7
    out = RSAlbu([dict(type='HorizontalFlip', p=1.0), dict(type='RandomBrightnessContrast', p=1.0)])(
        dict(img=img.copy(), gt_seg_map=seg.copy()))
    assert out['img'].shape == (32, 40, 5) and out['img'].min() >= 0 and out['img'].max() <= 1
    np.testing.assert_array_equal(out['gt_seg_map'], seg[:, ::-1])
    crop = RSAlbu([dict(type='RandomCrop', height=16, width=20, p=1.0)])(dict(img=img, gt_seg_map=seg))
    assert crop['img_shape'] == (16, 20) and crop['gt_seg_map'].shape == (16, 20)


def test_rsalbu_follows_the_global_seed():
    """albumentations 2 seeds its own generators from OS entropy; RSAlbu reseeds them from numpy's RNG."""
    aug = RSAlbu([dict(type='RandomBrightnessContrast', p=1.0), dict(type='RandomResizedCrop', size=(8, 8))])
    image = np.random.default_rng(0).random((16, 16, 5), dtype=np.float32)

    def run(seed: int) -> np.ndarray:
        np.random.seed(seed)
        return aug.transform(dict(img=image.copy()))['img']
    assert np.array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))
