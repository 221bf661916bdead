"""Bad paper-path input stops tools/train.py before training with one `error:` line naming the key and the fix;
--amp switches every optimizer wrapper."""
from pathlib import Path

import pytest

from rsseg.geo.converters import convert_potsdam, convert_vaihingen
from tests.conftest import REPO, run_tool
from tests.data.downloads import write_potsdam, write_vaihingen

P2V = REPO / 'configs' / 'stdaseg' / 'stdaseg_deeplabv3plus-r50-d8_1xb2-40k_potsdam2vaihingen-384x384.py'


@pytest.fixture(scope='module')
def data_root(tmp_path_factory) -> Path:
    """data/potsdam-irrg (4 tiles: train, val and test) and data/vaihingen-irrg with 2 areas: no test split."""
    root = tmp_path_factory.mktemp('errors')
    write_potsdam(root / 'raw' / 'p', size=64)
    write_vaihingen(root / 'raw' / 'v', areas=(1, 2), size=64)
    convert_potsdam(str(root / 'raw' / 'p'), str(root / 'data' / 'potsdam-irrg'), chip=64, stride=64, progress=False)
    convert_vaihingen(str(root / 'raw' / 'v'), str(root / 'data' / 'vaihingen-irrg'), chip=64, stride=64,
                      progress=False)
    return root


def _train(root: Path, body: str, *args: str):
    leaf = root / 'leaf.py'
    leaf.write_text(f"_base_ = ['{P2V}']\n{body}\n")
    done = run_tool(REPO / 'tools' / 'train.py', leaf, '--work-dir', root / 'work', *args, cwd=root)
    lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
    assert done.returncode != 0 and lines[-1].startswith('error: '), done.stderr[-2000:]
    assert not (root / 'work').exists() or not list((root / 'work').glob('*.pth'))  # nothing trained
    return lines[-1]


def test_class_weights_that_do_not_match_the_classes(data_root):
    line = _train(data_root, 'model = dict(decode_head_t=dict(loss_decode=dict(class_weight=[1.0] * 7)))',
                  '--no-pretrained')
    assert 'leaf.py: model.decode_head_t.loss_decode.class_weight has 7 values but the model has 6 classes' in line


def test_missing_pretrained_checkpoint_file(data_root):
    line = _train(data_root, "model = dict(backbone_s=dict(init_cfg=dict(type='Pretrained', "
                             "checkpoint='/nowhere/resnet50_v1c.pth')))\n"
                             "test_dataloader = dict(dataset=dict(split='val'))")
    assert 'model.backbone_s.init_cfg.checkpoint' in line and '/nowhere/resnet50_v1c.pth does not exist' in line
    assert '--no-pretrained' in line


def test_evaluation_split_without_chips(data_root):
    line = _train(data_root, '', '--no-pretrained')
    assert "test_dataloader.dataset.split 'test' has no chips" in line and 'data/vaihingen-irrg' in line
    assert '--protocol holdout' in line


def test_model_and_manifest_class_counts_differ(data_root):
    head = 'dict(num_classes=7, loss_decode=dict(class_weight=None))'
    line = _train(data_root, f'model = dict(decode_head_s={head}, decode_head_t={head}, '
                             'pseudo_label=dict(class_weight=None))', '--no-pretrained')
    assert 'manifest data/potsdam-irrg/manifest.json has 6 classes but the model predicts 7' in line


def test_amp_switches_every_optimizer_wrapper_to_the_asked_dtype():
    from mmengine.config import Config

    from rsseg.apis.runner import enable_amp
    cfg = Config.fromfile(str(P2V))
    enable_amp(cfg, 'bfloat16')
    wrappers = {k: v for k, v in cfg.optim_wrapper.items() if isinstance(v, dict)}
    assert set(wrappers) == {'backbone', 'decode_head', 'discriminator_s', 'discriminator_t'}
    assert all(w.type == 'AmpOptimWrapper' and w.dtype == 'bfloat16' for w in wrappers.values())


def test_resuming_needs_no_pretrained_start(data_root):
    """Resuming replaces the initial weights: an unreachable start is not fetched (the checkpoint is checked
    instead)."""
    import torch
    work = data_root / 'work'
    work.mkdir(exist_ok=True)
    torch.save({'state_dict': {}, 'meta': {}}, work / 'fake.ckpt')
    (work / 'last_checkpoint').write_text(str(work / 'fake.ckpt'))
    try:
        line = _train(data_root, "test_dataloader = dict(dataset=dict(split='val'))", '--resume')
    finally:
        for name in ('fake.ckpt', 'last_checkpoint'):
            (work / name).unlink()
    assert 'pretrained' not in line and 'does not match' in line and 'resuming needs a checkpoint' in line
