"""Warm-starting UDA segmentors from a source-only checkpoint (``tools/train.py --warm-start``)."""
import subprocess
import sys

import pytest
import torch

from rsseg.utils.checkpoint import safe_torch_load
from rsseg.utils.warm_start import source_key, warm_start_state, write_warm_start
from tests.test_models import stdaseg_utils as stda
from tests.test_models import uda_baseline_utils as uda


def source_only(head_in: int = 64, base: int = 8):
    """A tiny source-only DeepLabV3+ of the UDA test models' architecture."""
    cfg = uda.encoder_decoder_cfg('EncoderDecoder', data_preprocessor=dict(type='SegDataPreProcessor'))
    cfg['backbone'].update(base_channels=base, stem_channels=base)
    cfg['decode_head'].update(in_channels=head_in, c1_in_channels=base)
    return uda.build(cfg, seed=1)


@pytest.mark.parametrize('key, expected', [
    ('backbone_s.layer1.0.conv1.weight', 'backbone.layer1.0.conv1.weight'),
    ('ema_decode_head_t.conv_seg.bias', 'decode_head.conv_seg.bias'),
    ('ema_backbone.stem.0.weight', 'backbone.stem.0.weight'),
    ('neck.distinct.0.fc.weight', 'neck.distinct.0.fc.weight'),
    ('backbone_stem.weight', 'backbone_stem.weight'),
])
def test_source_key(key, expected):
    assert source_key(key) == expected


def test_dacs_starts_as_the_source_model():
    src = source_only()
    dacs = uda.build(uda.dacs_cfg())
    state, report = warm_start_state(dacs.state_dict(), src.state_dict())
    dacs.load_state_dict(state)
    assert not report.kept_init and not report.widened
    x = torch.rand(1, 3, 64, 64)
    src.eval(), dacs.eval()
    with torch.no_grad():
        expected = src.encode_decode(x, [dict(img_shape=(64, 64))])
        assert torch.allclose(dacs.encode_decode(x, [dict(img_shape=(64, 64))]), expected, atol=1e-6)
        assert torch.allclose(dacs.teacher_logits(x), dacs.segment(x)[1], atol=1e-6)  # teacher = student


def test_stdaseg_students_and_teachers_take_the_source_weights():
    src = source_only()
    model = stda.build_model()
    state, report = warm_start_state(model.state_dict(), src.state_dict())
    model.load_state_dict(state)
    src_state = src.state_dict()
    for branch in ('backbone_s', 'backbone_t'):
        assert torch.equal(state[f'{branch}.stem.0.weight'], src_state['backbone.stem.0.weight'])
    for head in ('decode_head_s', 'ema_decode_head_t'):
        # the bottleneck reads 64 backbone + 8 DDM channels: the source weights, then zeros for the new ones
        w, w_src = state[f'{head}.image_pool.1.conv.weight'], src_state['decode_head.image_pool.1.conv.weight']
        assert w.shape[1] == 72 and torch.equal(w[:, :64], w_src) and not w[:, 64:].any()
        assert torch.equal(state[f'{head}.conv_seg.weight'], src_state['decode_head.conv_seg.weight'])
    assert report.widened and report.copied
    assert {k.split('.')[0] for k in report.kept_init} == {'neck', 'discriminator_s', 'discriminator_t'}
    var = [k for k in report.widened if k.endswith('running_var')]
    assert var and all(state[k][64:].eq(1).all() for k in var)


def test_mismatched_source_is_refused():
    model = uda.build(uda.dacs_cfg())
    with pytest.raises(ValueError, match=r'warm start: backbone\.stem\.0\.weight .*cannot start'):
        warm_start_state(model.state_dict(), source_only(head_in=128, base=16).state_dict())
    with pytest.raises(ValueError, match='no weight of the source checkpoint matches'):
        warm_start_state(model.state_dict(), {'other.weight': torch.zeros(1)})


def test_write_warm_start_loads_safely(tmp_path):
    src = source_only()
    ckpt = tmp_path / 'so.pth'
    torch.save({'state_dict': src.state_dict(), 'meta': {}}, ckpt)
    model = uda.build(uda.adaptseg_cfg())
    path, report = write_warm_start(model, str(ckpt), str(tmp_path / 'work'))
    loaded = safe_torch_load(path)
    assert set(loaded['state_dict']) == set(model.state_dict())
    assert {k.split('.')[0] for k in report.kept_init} == {'discriminator'}
    with pytest.raises(FileNotFoundError, match='missing.pth does not exist'):
        write_warm_start(model, str(tmp_path / 'missing.pth'), str(tmp_path / 'work'))


def test_train_warm_start_from_a_missing_checkpoint_is_one_error_line(tmp_path):
    config = uda.REPO / 'configs' / 'dacs' / 'dacs_deeplabv3plus-r18-tiny_1xb2-100i_dubai-demo-128x128.py'
    proc = subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir', str(tmp_path / 'w'),
                           '--warm-start', str(tmp_path / 'none.pth')], cwd=uda.REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert errors == [f'error: warm start: checkpoint {tmp_path / "none.pth"} does not exist']
