"""PairedDomainDataset on generated GeoTIFF chips: pairing, target labels dropped, build-time checks, training."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from rasterio.transform import from_origin

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.datasets import PairedDomainDataset
from rsseg.formats.manifest import ChipRecord, Manifest
from tests.fixtures import single_thread, write_raster  # noqa: F401  (single_thread: autouse)

CLASSES = ['a', 'b', 'c', 'd']
PALETTE = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]]
PIPELINE = [dict(type='LoadRasterImage'), dict(type='LoadRasterAnnotation'), dict(type='PackSegInputs')]
TARGET_PIPELINE = [dict(type='LoadRasterImage'), dict(type='PackSegInputs')]
METRE = from_origin(500000, 5000000, 1, 1)  # 1 m pixels in UTM 32N


def make_domain(root: Path, n: int, bands: int = 3, classes=CLASSES, seed: int = 0, split='train') -> str:
    """``n`` labelled 64×64 uint8 chips; pixel value of band 1 at (0, 0) encodes the chip index."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    chips = []
    for i in range(n):
        img = rng.integers(0, 255, size=(bands, 64, 64)).astype('uint8')
        img[0, 0, 0] = i
        write_raster(root / f'img_{i}.tif', img, transform=METRE)
        write_raster(root / f'ann_{i}.tif', rng.integers(0, len(classes), size=(1, 64, 64)).astype('uint8'),
                     transform=METRE)
        chips.append(ChipRecord(img=f'img_{i}.tif', ann=f'ann_{i}.tif', scene=f's{i}', split=split))
    Manifest(classes=list(classes), palette=PALETTE[:len(classes)], chips=chips).save(root / 'manifest.json')
    return str(root / 'manifest.json')


def paired_cfg(src: str, tgt: str, tgt_pipeline=TARGET_PIPELINE, **tgt_kw):
    return dict(type='PairedDomainDataset',
                source=dict(type='GeoChipDataset', manifest=src, split='train', pipeline=PIPELINE),
                target=dict(type='GeoChipDataset', manifest=tgt, split='train', pipeline=tgt_pipeline, **tgt_kw))


@pytest.fixture
def domains(tmp_path):
    return make_domain(tmp_path / 'src', 3, seed=0), make_domain(tmp_path / 'tgt', 4, seed=1)


class TestPairedDomainDataset:

    def test_item_layout(self, domains):
        init_default_scope('mmseg')
        ds = DATASETS.build(paired_cfg(*domains, with_label=False))
        assert isinstance(ds, PairedDomainDataset)
        assert len(ds) == 3
        item = ds[1]
        assert item['inputs']['src'].shape == item['inputs']['tgt'].shape == (3, 64, 64)
        assert item['data_samples']['src'].gt_sem_seg.shape == (64, 64)
        assert round(float(item['inputs']['src'][0, 0, 0]) * 255) == 1  # source sample idx 1 (image in [0, 1])
        assert ds.metainfo['classes'] == tuple(CLASSES)

    def test_target_labels_are_dropped(self, domains):
        init_default_scope('mmseg')
        ds = DATASETS.build(paired_cfg(*domains, tgt_pipeline=PIPELINE, with_label=True))
        assert ds.target[0]['data_samples'].gt_sem_seg is not None  # the target dataset has labels ...
        for i in range(len(ds)):
            assert 'gt_sem_seg' not in ds[i]['data_samples']['tgt']  # ... the pairs never carry them
            assert 'gt_log_seg' not in ds[i]['data_samples']['tgt']

    def test_target_labels_kept_for_the_log_only_on_request(self, domains):
        init_default_scope('mmseg')
        ds = DATASETS.build(dict(paired_cfg(*domains, tgt_pipeline=PIPELINE, with_label=True),
                                 log_target_labels=True))
        for i in range(len(ds)):
            sample = ds[i]['data_samples']['tgt']
            assert 'gt_sem_seg' not in sample  # never under the name the losses read
            target_item = next(ds.target[j] for j in range(len(ds.target))
                               if ds.target[j]['data_samples'].img_path == sample.img_path)
            assert torch.equal(sample.gt_log_seg.data, target_item['data_samples'].gt_sem_seg.data)

    def test_random_target_covers_all(self, domains):
        init_default_scope('mmseg')
        ds = DATASETS.build(paired_cfg(*domains))
        torch.manual_seed(0)
        seen = {int(ds[0]['inputs']['tgt'][0, 0, 0] * 255 + 0.5) for _ in range(40)}
        assert seen == {0, 1, 2, 3}

    def test_class_mismatch(self, tmp_path):
        init_default_scope('mmseg')
        src = make_domain(tmp_path / 'src', 2)
        tgt = make_domain(tmp_path / 'tgt', 2, classes=['a', 'b', 'x', 'd'])
        with pytest.raises(ValueError, match=r"classes \['a', 'b', 'c', 'd'\] but the target .*tgt/manifest.json.* "
                                             r"\['a', 'b', 'x', 'd'\]"):
            DATASETS.build(paired_cfg(src, tgt))

    def test_band_mismatch(self, tmp_path):
        init_default_scope('mmseg')
        src = make_domain(tmp_path / 'src', 2)
        tgt = make_domain(tmp_path / 'tgt', 2, bands=4)
        with pytest.raises(ValueError, match='3-band images but the target .* 4-band'):
            DATASETS.build(paired_cfg(src, tgt))

    def test_empty_target(self, tmp_path):
        init_default_scope('mmseg')
        src = make_domain(tmp_path / 'src', 2)
        tgt = make_domain(tmp_path / 'tgt', 2, split='val')
        with pytest.raises(ValueError, match=r'tgt/manifest.json.*(no chips|empty)'):
            DATASETS.build(paired_cfg(src, tgt))

    def test_empty_target_instance(self, tmp_path):
        init_default_scope('mmseg')
        src = DATASETS.build(dict(type='GeoChipDataset', manifest=make_domain(tmp_path / 'src', 2), pipeline=PIPELINE))
        with pytest.raises(ValueError, match='target dataset .* is empty'):
            PairedDomainDataset(src, [])

    def test_lazy_init(self, domains):
        init_default_scope('mmseg')
        ds = DATASETS.build(dict(paired_cfg(*domains), lazy_init=True))
        assert not ds._fully_initialized
        assert ds[0]['inputs']['src'].shape[0] == 3
        assert ds._fully_initialized

    def test_trains_stdaseg(self, domains):
        """Collated pairs go through PairedSegDataPreProcessor into one STDASegmentor step."""
        from tests.test_models.stdaseg_utils import build_model, build_optim, tiny_model_cfg
        init_default_scope('mmseg')
        ds = DATASETS.build(paired_cfg(*domains))
        model = build_model(tiny_model_cfg())
        batch = pseudo_collate([ds[0], ds[1]])
        assert set(batch['inputs']) == {'src', 'tgt'} and len(batch['inputs']['src']) == 2
        log_vars = model.train_step(batch, build_optim(model))
        assert all(torch.isfinite(v) for v in log_vars.values())
