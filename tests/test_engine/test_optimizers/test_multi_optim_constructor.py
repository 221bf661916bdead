"""MultiOptimWrapperConstructor: one wrapper per part, paramwise LR multipliers that really apply, coverage, AMP."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper, OptimWrapperDict, build_optim_wrapper
from mmengine.registry import init_default_scope

from rsseg.models.utils import update_params_jointly
from tests.test_models.stdaseg_utils import build_model, tiny_optim_cfg


@pytest.fixture(scope='module')
def model():
    return build_model()


def _param_ids(wrapper):
    return {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}


def _module_ids(model, *names):
    return {id(p) for n in names for p in getattr(model, n).parameters()}


class TestMultiOptimWrapperConstructor:

    def test_parts(self, model):
        init_default_scope('mmseg')
        optim = build_optim_wrapper(model, tiny_optim_cfg())
        assert isinstance(optim, OptimWrapperDict)
        assert list(optim.keys()) == ['backbone', 'decode_head', 'discriminator_s', 'discriminator_t']
        assert _param_ids(optim['backbone']) == _module_ids(model, 'backbone_s', 'backbone_t', 'neck')
        assert _param_ids(optim['decode_head']) == _module_ids(model, 'decode_head_s', 'decode_head_t')
        assert _param_ids(optim['discriminator_s']) == _module_ids(model, 'discriminator_s')
        teachers = _module_ids(model, 'ema_decode_head_s', 'ema_decode_head_t')
        assert not any(teachers & _param_ids(w) for w in optim.values())
        assert isinstance(optim['discriminator_t'].optimizer, torch.optim.Adam)

    def test_head_lr_multiplier_really_applies(self, model):
        """SegFormer reference: AdamW 6e-5, decoders ×10 — the reference's 'head' key never matched its names."""
        init_default_scope('mmseg')
        cfg = tiny_optim_cfg()
        adamw = dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01)
        cfg['backbone'].update(optimizer=adamw, paramwise_cfg=dict(custom_keys={'bn': dict(decay_mult=0.)}))
        cfg['decode_head'].update(optimizer=copy.deepcopy(adamw),
                                  paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.),
                                                                  'norm': dict(decay_mult=0.)}))
        optim = build_optim_wrapper(model, cfg)
        head_lrs = [g['lr'] for g in optim['decode_head'].optimizer.param_groups]
        assert head_lrs == pytest.approx([6e-4] * len(head_lrs))
        backbone_lrs = [g['lr'] for g in optim['backbone'].optimizer.param_groups]
        assert backbone_lrs == pytest.approx([6e-5] * len(backbone_lrs))
        norm_groups = [g for g in optim['backbone'].optimizer.param_groups if g['weight_decay'] == 0]
        assert norm_groups and len(norm_groups) < len(optim['backbone'].optimizer.param_groups)  # BN: no decay

    def test_top_level_paramwise_is_default(self, model):
        init_default_scope('mmseg')
        cfg = dict(tiny_optim_cfg(), paramwise_cfg=dict(custom_keys={'discriminator': dict(lr_mult=0.5)}))
        optim = build_optim_wrapper(model, cfg)
        assert optim['discriminator_s'].optimizer.param_groups[0]['lr'] == pytest.approx(5e-4)

    def test_uncovered_module(self, model):
        init_default_scope('mmseg')
        cfg = tiny_optim_cfg()
        cfg['backbone']['modules'] = ['backbone_s', 'backbone_t']
        with pytest.raises(ValueError, match=r"\['neck'\] are in no optim_wrapper part"):
            build_optim_wrapper(model, cfg)

    def test_duplicate_module(self, model):
        init_default_scope('mmseg')
        cfg = tiny_optim_cfg()
        cfg['decode_head']['modules'] = ['decode_head_s', 'decode_head_t', 'neck']
        with pytest.raises(ValueError, match="both optimise submodule 'neck'"):
            build_optim_wrapper(model, cfg)

    def test_unknown_module(self, model):
        init_default_scope('mmseg')
        cfg = tiny_optim_cfg()
        cfg['backbone']['modules'] = ['backbone_s', 'backbone_t', 'neck', 'dsk_neck']
        with pytest.raises(ValueError, match="names submodule 'dsk_neck'"):
            build_optim_wrapper(model, cfg)

    def test_part_without_optimizer(self, model):
        init_default_scope('mmseg')
        cfg = tiny_optim_cfg()
        cfg['extra'] = dict(modules=['neck'])
        with pytest.raises(ValueError, match='"optimizer"'):
            build_optim_wrapper(model, cfg)

    def test_amp_flag_shares_one_scaler(self, model, monkeypatch):
        """``--amp`` sets a top-level type; every part becomes AMP with one shared GradScaler (GPU only: CUDA
        availability is faked, the scaler disables itself on CPU)."""
        import mmengine.optim.optimizer.amp_optimizer_wrapper as amp_mod
        monkeypatch.setattr(amp_mod, 'is_cuda_available', lambda: True)
        init_default_scope('mmseg')
        cfg = dict(tiny_optim_cfg(), type='AmpOptimWrapper', loss_scale='dynamic', dtype='bfloat16')
        optim = build_optim_wrapper(model, cfg)
        wrappers = list(optim.values())
        assert all(type(w).__name__ == 'AmpOptimWrapper' for w in wrappers)
        assert all(w.loss_scaler is wrappers[0].loss_scaler for w in wrappers)
        assert all(w.cast_dtype == torch.bfloat16 for w in wrappers)

    def test_bad_top_level_type(self, model):
        init_default_scope('mmseg')
        with pytest.raises(ValueError, match='not supported'):
            build_optim_wrapper(model, dict(tiny_optim_cfg(), type='ApexOptimWrapper'))


class TestUpdateParamsJointly:

    def _wrappers(self, clip=None):
        torch.manual_seed(0)
        a, b = nn.Linear(3, 3), nn.Linear(3, 1)
        kw = dict(clip_grad=clip) if clip else {}
        return a, b, [OptimWrapper(torch.optim.SGD(a.parameters(), lr=0.1), **kw),
                      OptimWrapper(torch.optim.SGD(b.parameters(), lr=0.1), **kw)]

    def test_one_backward_all_step(self):
        a, b, wrappers = self._wrappers()
        a0, b0 = a.weight.detach().clone(), b.weight.detach().clone()
        loss = b(a(torch.ones(2, 3))).sum()
        loss.backward(retain_graph=True)
        expected_a = a0 - 0.1 * a.weight.grad
        expected_b = b0 - 0.1 * b.weight.grad
        for w in wrappers:
            w.zero_grad()
        update_params_jointly(loss, wrappers)
        assert torch.allclose(a.weight, expected_a) and torch.allclose(b.weight, expected_b)
        assert all(p.grad is None or not p.grad.any() for p in list(a.parameters()) + list(b.parameters()))

    def test_clipping_per_wrapper(self):
        a, b, wrappers = self._wrappers(clip=dict(max_norm=1e-3))
        a0 = a.weight.detach().clone()
        update_params_jointly((b(a(torch.ones(2, 3))) * 100).sum(), wrappers)
        assert float((a.weight - a0).norm()) <= 0.1 * 1e-3 + 1e-6

    def test_mixed_wrappers_refused(self):
        a, b, wrappers = self._wrappers()
        wrappers[1].loss_scaler = object()
        with pytest.raises(ValueError, match='sharing one loss scaler'):
            update_params_jointly(b(a(torch.ones(1, 3))).sum(), wrappers)

    def test_needs_wrappers(self):
        with pytest.raises(ValueError, match='at least one'):
            update_params_jointly(torch.zeros(()), [])
