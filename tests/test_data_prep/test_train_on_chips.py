"""A tiny training run of the source-only config on chips this tiler wrote (uint16 imagery + norm-stats sidecar)."""
import json

import numpy as np
import pytest

from rsseg.formats.label_coding import LabelCoding
from rsseg.formats.manifest import Manifest
from rsseg.geo.scenes import Scene
from rsseg.geo.tiler import TileConfig, tile_scenes
from tests.conftest import TINY_CONFIG, run_tool
from tests.data.tiler_scenes.data import make_scene


@pytest.fixture(scope='module')
def chips(tmp_path_factory):
    root = tmp_path_factory.mktemp('chips')
    scenes = []
    for i, size in enumerate((200, 200, 128, 128)):  # two training scenes; one-chip val and test scenes (fast val)
        img, lab = make_scene(root / 'in', f'scene{i}', width=size, height=size - 20 * (size > 128), count=3,
                              dtype='uint16', num_classes=5, seed=i, nodata_corner=(30, 40))
        scenes.append(Scene(f'scene{i}', str(img), str(lab)))
    coding = LabelCoding(classes=['building', 'land', 'road', 'vegetation', 'water'])
    config = TileConfig(chip=128, stride=72, coding=coding, domain='synthetic',
                        split_map={'scene0': 'train', 'scene1': 'train', 'scene2': 'val', 'scene3': 'test'})
    report = tile_scenes(scenes, str(root / 'out'), config, progress=False)
    return report.manifest


def test_manifest_has_every_split_and_a_sidecar(chips):
    m = Manifest.load(chips)
    assert {c.split for c in m.chips} == {'train', 'val', 'test'}
    assert [c.scene for c in m.chips if c.split != 'train'] == ['scene2', 'scene3']
    assert m.norm_stats == 'norm_stats.json' and (chips.parent / m.norm_stats).is_file()


def test_source_only_tiny_trains_on_tiler_chips(chips, tmp_path):
    assert TINY_CONFIG.is_file(), f'{TINY_CONFIG} is missing: renamed? tests/conftest.py TINY_CONFIG names it'
    work = tmp_path / 'work'
    manifest = str(chips)
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', work, '--cfg-options', 'train_cfg.max_iters=3',
                    'train_cfg.val_interval=3', 'default_hooks.checkpoint.interval=3',
                    'default_hooks.logger.interval=1', 'train_dataloader.num_workers=0',
                    'train_dataloader.persistent_workers=False', 'train_dataloader.batch_size=2',
                    f'train_dataloader.dataset.manifest={manifest}', f'val_dataloader.dataset.manifest={manifest}',
                    f'test_dataloader.dataset.manifest={manifest}')
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (work / 'iter_3.pth').is_file()
    records = [json.loads(line) for p in work.glob('*/vis_data/scalars.json') for line in p.read_text().splitlines()]
    losses = [r['loss'] for r in records if 'loss' in r]
    assert len(losses) == 3 and all(np.isfinite(losses))
    assert any('mIoU' in r for r in records)
