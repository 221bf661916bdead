"""Self-supervised pretraining (DenseCL, tools/pretrain.py) on tiny 4-band and 13-band manifests."""
import copy
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.apis.runner import build_runner
from rsseg.utils.checkpoint import safe_torch_load
from rsseg.utils.pretrained import check_start_bands, check_start_fits
from tests.conftest import REPO

SSL_CONFIG = REPO / 'configs' / 'ssl' / 'densecl_efficientnet-lite0_1xb8-200i_dubai-demo-128x128.py'


def tile(utm_raster, tmp: Path, name: str, bands: int, labels: bool) -> Path:
    """A scene of ``bands`` uint16 bands tiled into 48² chips (with labels when asked): its manifest."""
    import numpy as np
    import rasterio

    from rsseg.cli.tile import main as tile_main
    scene = utm_raster(f'{name}.tif', count=bands, width=144, height=144, nodata=None, seed=bands)
    args = ['--images', str(scene), '--out', str(tmp / name), '--chip', '48', '--stride', '48', '--no-progress',
            '--splits', '1,0,0']
    if labels:
        label = tmp / 'labels' / f'{name}.tif'
        label.parent.mkdir(exist_ok=True)
        with rasterio.open(scene) as src:
            profile = dict(src.profile, count=1, dtype='uint8', nodata=None)
        with rasterio.open(label, 'w', **profile) as dst:
            dst.write(np.random.default_rng(0).integers(0, 2, (1, 144, 144)).astype('uint8'))
        args += ['--labels', str(label.parent), '--classes', 'a,b']
    assert tile_main(args) == 0
    return tmp / name / 'manifest.json'


def ssl_config(manifests, bands: int, work: Path, iters: int = 8) -> Config:
    """The shipped DenseCL config with a tiny backbone, 48² views and ``iters`` steps on ``manifests``."""
    cfg = Config.fromfile(str(SSL_CONFIG))
    dataset = cfg.train_dataloader.dataset
    dataset.manifests = [str(m) for m in manifests]
    dataset.pipeline[1].transforms[0].transforms[0].size = (48, 48)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.model.backbone = dict(type='ResNetV1c', depth=18, in_channels=bands, stem_channels=8, base_channels=8,
                              num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1))
    cfg.model.update(neck=dict(hidden_channels=16, out_channels=8), queue_size=32)
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler[0].update(T_max=iters, end=iters)
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work)
    cfg.visualizer.name = f'visualizer-{work}'  # mmengine keeps one instance per name: one per run
    return cfg


def fixed_loss(model, initial, batch) -> float:
    """DenseCL's loss on ``batch`` with ``initial``'s queues (a copy of ``model``: nothing changes)."""
    model = copy.deepcopy(model)
    for name in ('queue', 'dense_queue'):
        getattr(model, name).copy_(getattr(initial, name))
    torch.manual_seed(0)
    with torch.no_grad():
        return float(sum(model(**batch, mode='loss').values()))


@pytest.mark.parametrize('bands', [4, 13])
def test_pretraining_changes_the_backbone_lowers_the_loss_and_writes_a_start(bands, utm_raster, tmp_path):
    manifests = [tile(utm_raster, tmp_path, f'{d}{bands}', bands, labels=d == 'source') for d in ('source', 'target')]
    runner = build_runner(ssl_config(manifests, bands, tmp_path / 'work', iters=12))
    runner.model.init_weights()
    untrained = copy.deepcopy(runner.model)
    before = {k: v.clone() for k, v in runner.model.backbone.state_dict().items()}
    runner.train()
    records = [json.loads(line) for line in next((tmp_path / 'work').glob('*/vis_data/scalars.json')).open()]
    assert len([r for r in records if 'loss' in r]) == 12
    # the logged loss rises while the queues fill with real keys; on one fixed batch against the initial queues the
    # trained encoders score lower than the untrained ones
    batch = runner.model.data_preprocessor(next(iter(runner.train_dataloader)), True)
    assert fixed_loss(runner.model, untrained, batch) < fixed_loss(untrained, untrained, batch)
    start = safe_torch_load(str(tmp_path / 'work' / 'backbone.pth'))
    assert set(start['state_dict']) == set(before)  # the backbone's own keys: no prefix surgery
    assert any(not torch.equal(start['state_dict'][k], before[k]) for k in before)
    meta = start['meta']
    assert meta['method'] == 'DenseCL' and meta['bands'] == bands and meta['iterations'] == 12
    assert meta['mean'] == [0.5] * bands and meta['manifests'] == [str(m) for m in manifests]


def test_the_start_loads_through_init_cfg_into_a_training_config(utm_raster, tmp_path):
    manifests = [tile(utm_raster, tmp_path, 'four', 4, labels=True)]
    build_runner(ssl_config(manifests, 4, tmp_path / 'ssl', iters=2)).train()
    start = str(tmp_path / 'ssl' / 'backbone.pth')
    cfg = Config.fromfile(
        str(REPO / 'configs/source_only/source-only_deeplabv3plus-r18-tiny_1xb4-100i_dubai-demo-128x128.py'))
    cfg.model.backbone.update(in_channels=4, stem_channels=8, base_channels=8, init_cfg=dict(type='Pretrained',
                                                                                               checkpoint=start))
    cfg.model.data_preprocessor.update(mean=[0.5] * 4, std=[0.25] * 4)
    cfg.model.decode_head.update(in_channels=64, c1_in_channels=8)
    check_start_bands(cfg.model.to_dict(), 'cfg.py')
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    check_start_fits(model, 'cfg.py')
    model.init_weights()
    weights = safe_torch_load(start)['state_dict']
    assert all(torch.equal(v, weights[k]) for k, v in model.backbone.state_dict().items())
    # the same start for a 3-band backbone, or for another architecture: refused, naming the file
    cfg.model.backbone.in_channels = 3
    with pytest.raises(ValueError, match=r'backbone\.init_cfg: .*backbone\.pth was pretrained on 4-band chips but '
                                         r'model\.backbone takes 3 bands'):
        check_start_bands(cfg.model.to_dict(), 'cfg.py')
    other = MODELS.build(dict(type='EfficientNetLite', in_channels=4,
                              init_cfg=dict(type='Pretrained', checkpoint=start)))
    with pytest.raises(ValueError, match=r'backbone\.pth does not fit EfficientNetLite .*another architecture'):
        check_start_fits(other, 'cfg.py')


def test_label_files_are_never_opened(utm_raster, tmp_path, monkeypatch):
    import rasterio
    manifest = tile(utm_raster, tmp_path, 'labelled', 4, labels=True)
    opened = []
    real_open = rasterio.open
    monkeypatch.setattr(rasterio, 'open', lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k))
    build_runner(ssl_config([manifest], 4, tmp_path / 'work', iters=2)).train()
    assert any('img_dir' in p or 'labelled/' in p for p in opened)
    assert not [p for p in opened if 'ann_dir' in p or '/labels/' in p]


def test_bad_manifests_are_refused(utm_raster, tmp_path):
    init_default_scope('mmseg')
    four, three = tile(utm_raster, tmp_path, 'four', 4, False), tile(utm_raster, tmp_path, 'three', 3, False)
    bands = r'different band counts \(.*four/manifest\.json: 4, .*three/manifest\.json: 3'
    with pytest.raises(ValueError, match=bands):
        DATASETS.build(dict(type='UnlabelledChipDataset', manifests=[str(four), str(three)]))
    with pytest.raises(ValueError, match=r"four/manifest\.json: no chips in split 'test'"):
        DATASETS.build(dict(type='UnlabelledChipDataset', manifests=[str(four)], split='test'))


def test_pretrain_refuses_a_segmentation_config(tmp_path):
    from tests.conftest import run_tool
    proc = run_tool('tools/pretrain.py', str(REPO / 'configs/source_only/'
                                             'source-only_deeplabv3plus-r18-tiny_1xb4-100i_dubai-demo-128x128.py'),
                    '--work-dir', str(tmp_path))
    assert proc.returncode != 0
    assert 'not a pretraining config' in proc.stderr and 'tools/train.py' in proc.stderr
