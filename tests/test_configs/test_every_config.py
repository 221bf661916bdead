"""Every config under ``configs/`` trains on a miniature of its dataset and scores its evaluation splits.

The miniatures are written in the real download layouts (tests/data/downloads.py), converted with ``data_prep/``
into ``data/<domain>/`` exactly as a user would, and each config is then run from that folder — the configs' data
root — by ``tools/train.py`` (2 iterations, then the target val split) and ``tools/test.py`` (the held-out target
test split). Nothing of a config changes but the data root (the working directory), the iterations, the data
workers and the pretrained switch (``--no-pretrained``: no test touches the network).
"""
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_tool
from tests.data.downloads import write_loveda, write_potsdam, write_vaihingen

CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)
FULL = [p for p in CONFIGS if '40k' in p.name]
SSL = [p for p in CONFIGS if 'ssl' in p.parts]  # pretraining configs: tools/pretrain.py, no evaluation
TINY = [p for p in CONFIGS if p not in FULL and p not in SSL]
# One full config per method and backbone, spread over the five pairs, trains in every run of the suite (about 15 min
# on 2 cores); the other full configs are marked `paper` and run with `pytest -m paper tests/test_configs` (about 1 h
# on 2 cores: a DeepLabV3+ ST-DASegNet config alone takes ~4.5 min, its step costs ~8 TFLOP).
CI_SAMPLE = {
    'stdaseg/stdaseg_deeplabv3plus-r50-d8_1xb2-40k_potsdam2vaihingen-384x384.py',
    'stdaseg/stdaseg_segformer-mit-b5_1xb2-40k_loveda-urban2rural-384x384.py',
    'stdaseg/baselines/source-only_deeplabv3plus-r50-d8_1xb2-40k_vaihingen2potsdam-384x384.py',
    'stdaseg/baselines/target-oracle_deeplabv3plus-r50-d8_1xb2-40k_loveda-rural2urban-384x384.py',
    'stdaseg/baselines/source-only_segformer-mit-b5_1xb2-40k_potsdam-rgb2vaihingen-384x384.py',
    'stdaseg/baselines/target-oracle_segformer-mit-b5_1xb2-40k_potsdam2vaihingen-384x384.py',
    'adaptseg/adaptseg_deeplabv3plus-r50-d8_1xb2-40k_loveda-urban2rural-384x384.py',
    'dacs/dacs_deeplabv3plus-r50-d8_1xb2-40k_potsdam-rgb2vaihingen-384x384.py',
}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# Only what the rule allows: iterations and data workers (the data root is the working directory).
OPTIONS = ['train_cfg.max_iters=2', *(f'{d}.num_workers=0' for d in LOADERS),
           *(f'{d}.persistent_workers=False' for d in LOADERS)]
CONVERSIONS = {
    'potsdam-irrg': ('convert_potsdam.py', 'potsdam', ['--variant', 'irrg']),
    'potsdam-rgb': ('convert_potsdam.py', 'potsdam', ['--variant', 'rgb']),
    'vaihingen-irrg': ('convert_vaihingen.py', 'vaihingen', []),
    'loveda-urban': ('convert_loveda.py', 'loveda', ['--domains', 'urban']),
    'loveda-rural': ('convert_loveda.py', 'loveda', ['--domains', 'rural']),
}


def _ids(paths):
    return [p.relative_to(REPO / 'configs').as_posix() for p in paths]


def _full_params():
    """Every full config; those outside the CI sample carry the ``paper`` marker (deselected by default)."""
    return [pytest.param(p, id=i, marks=[pytest.mark.slow] + ([] if i in CI_SAMPLE else [pytest.mark.paper]))
            for p, i in zip(FULL, _ids(FULL))]


def test_ci_sample_covers_every_method_backbone_and_pair():
    assert CI_SAMPLE <= set(_ids(FULL))
    methods = {(i.split('/')[-1].split('_')[0], i.split('_')[1]) for i in CI_SAMPLE}
    assert len(methods) == len(CI_SAMPLE)  # one per method and backbone
    pairs = {i.split('40k_')[1].split('-384')[0] for i in CI_SAMPLE}
    assert pairs == {'potsdam2vaihingen', 'potsdam-rgb2vaihingen', 'vaihingen2potsdam', 'loveda-rural2urban',
                     'loveda-urban2rural'}


@pytest.fixture(scope='module')
def paper_data(tmp_path_factory) -> Path:
    """A folder holding ``data/<domain>/manifest.json`` for every domain the full configs read, converted by the
    data_prep CLIs from zip archives shaped like the public downloads."""
    root = tmp_path_factory.mktemp('paper')
    raw = root / 'raw'
    write_potsdam(raw / 'potsdam', as_zip=True)
    write_vaihingen(raw / 'vaihingen', as_zip=True)
    write_loveda(raw / 'loveda', as_zip=True)
    for domain, (script, source, extra) in CONVERSIONS.items():
        done = run_tool(REPO / 'data_prep' / script, raw / source, '--out', root / 'data' / domain, '--no-progress',
                        *extra)
        assert done.returncode == 0, done.stderr
    return root


def _train_and_test(config: Path, cwd: Path, work_dir: Path) -> dict:
    """Train 2 iterations (ending with the val split), then score the last checkpoint with tools/test.py."""
    done = run_tool(REPO / 'tools' / 'train.py', config, '--work-dir', work_dir, '--no-pretrained', '--cfg-options',
                    *OPTIONS, cwd=cwd, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    checkpoint = work_dir / 'iter_2.pth'
    assert checkpoint.is_file(), sorted(p.name for p in work_dir.iterdir())
    done = run_tool(REPO / 'tools' / 'test.py', config, checkpoint, '--work-dir', work_dir, '--cfg-options',
                    *OPTIONS[1:], cwd=cwd, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((work_dir / 'test_metrics.json').read_text())


@pytest.mark.parametrize('config', FULL, ids=_ids(FULL))
def test_full_config_reads_its_dataset(config, paper_data, monkeypatch):
    """Cheap, for every full config: the checks tools/train.py runs first, then one sample through every
    dataloader's dataset and pipeline (the real layout, class count and label coding)."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    from rsseg.apis.runner import load_config
    from rsseg.utils.config_checks import check_before_training
    from rsseg.utils.pretrained import drop_pretrained
    monkeypatch.chdir(paper_data)
    cfg = load_config(str(config))
    drop_pretrained(cfg.model)
    check_before_training(cfg, str(config))
    init_default_scope('mmseg')
    for name in LOADERS:
        dataset = DATASETS.build(cfg[name].dataset)
        sample = dataset[0]
        inputs = sample['inputs']
        for image in inputs.values() if isinstance(inputs, dict) else [inputs]:  # paired: source and target
            assert image.shape[0] == 3 and max(image.shape[-2:]) <= 512, (name, image.shape)  # 3 bands, chips
        if name != 'train_dataloader':
            assert 'gt_sem_seg' in sample['data_samples'], name


@pytest.mark.parametrize('config', _full_params())
def test_full_config_trains_and_scores_on_its_dataset(config, paper_data, tmp_path):
    metrics = _train_and_test(config, paper_data, tmp_path / 'work')
    assert 0.0 <= metrics['mIoU'] <= 100.0 and 'aAcc' in metrics
    assert any(k.startswith('IoU.') for k in metrics)
    shutil.rmtree(tmp_path / 'work')  # checkpoints of the big models are GBs


@pytest.mark.parametrize('config', SSL, ids=_ids(SSL))
def test_pretraining_config_trains_on_the_bundled_example(config, tmp_path):
    work = tmp_path / 'work'
    done = run_tool(REPO / 'tools' / 'pretrain.py', config, '--work-dir', work, '--cfg-options',
                    'train_cfg.max_iters=2', 'train_dataloader.num_workers=0',
                    'train_dataloader.persistent_workers=False', cwd=REPO, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (work / 'backbone.pth').is_file() and (work / 'iter_2.pth').is_file()


@pytest.mark.slow  # 34-55 s each on the 2-core CPU machine
@pytest.mark.parametrize('config', TINY, ids=_ids(TINY))
def test_tiny_config_trains_and_scores_on_the_bundled_example(config, tmp_path):
    metrics = _train_and_test(config, REPO, tmp_path / 'work')
    assert 0.0 <= metrics['mIoU'] <= 100.0
