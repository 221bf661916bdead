"""EMATeacherHook: initial copy, alpha schedule, parameters-only update, wrappers, resume."""
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub

from rsseg.engine.hooks import EMATeacherHook


class TwoHeads(nn.Module):
    """A stand-in model with one student/teacher pair, like STDASegmentor's decoders."""

    def __init__(self):
        super().__init__()
        self.decode_head_s = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2))
        self.ema_decode_head_s = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2))
        for p in self.ema_decode_head_s.parameters():
            p.requires_grad_(False)

    def ema_pairs(self):
        return [('decode_head_s', 'ema_decode_head_s')]


def _runner(model, it):
    return SimpleNamespace(model=model, iter=it, message_hub=MessageHub.get_instance('test_ema_teacher_hook'))


def _weights(module):
    return module[0].weight.detach().clone()


class TestEMATeacherHook:

    def test_copies_at_start(self):
        model = TwoHeads()
        model.decode_head_s[1].running_mean.fill_(3.0)
        EMATeacherHook().before_train(_runner(model, 0))
        assert torch.equal(_weights(model.ema_decode_head_s), _weights(model.decode_head_s))
        assert torch.equal(model.ema_decode_head_s[1].running_mean, torch.full((2, ), 3.0))

    def test_resume_keeps_teacher(self):
        model = TwoHeads()
        before = _weights(model.ema_decode_head_s)
        EMATeacherHook().before_train(_runner(model, 10))
        assert torch.equal(_weights(model.ema_decode_head_s), before)

    @pytest.mark.parametrize('it,alpha', [(0, 0.5), (3, 0.8), (998, 0.999), (5000, 0.999)])
    def test_alpha_schedule(self, it, alpha):
        model = TwoHeads()
        t0, s0 = _weights(model.ema_decode_head_s), _weights(model.decode_head_s)
        runner = _runner(model, it)
        EMATeacherHook().after_train_iter(runner, batch_idx=it)
        assert torch.allclose(_weights(model.ema_decode_head_s), alpha * t0 + (1 - alpha) * s0, atol=1e-7)
        assert torch.equal(_weights(model.decode_head_s), s0)
        assert runner.message_hub.get_scalar('train/ema.decay').current() == pytest.approx(alpha)

    def test_parameters_only(self):
        model = TwoHeads()
        model.decode_head_s[1].running_mean.fill_(3.0)
        EMATeacherHook().after_train_iter(_runner(model, 5), batch_idx=5)
        assert torch.equal(model.ema_decode_head_s[1].running_mean, torch.zeros(2))
        EMATeacherHook(update_buffers=True).after_train_iter(_runner(model, 0), batch_idx=0)
        assert torch.allclose(model.ema_decode_head_s[1].running_mean, torch.full((2, ), 1.5))

    def test_interval(self):
        model = TwoHeads()
        t0 = _weights(model.ema_decode_head_s)
        hook = EMATeacherHook(interval=2)
        hook.after_train_iter(_runner(model, 0), batch_idx=0)  # step 1: skipped
        assert torch.equal(_weights(model.ema_decode_head_s), t0)
        hook.after_train_iter(_runner(model, 1), batch_idx=1)  # step 2: updated
        assert not torch.equal(_weights(model.ema_decode_head_s), t0)

    def test_unwraps_model_and_submodules(self):
        model = TwoHeads()
        model.decode_head_s = nn.DataParallel(model.decode_head_s)  # a registered model wrapper
        wrapped = nn.DataParallel(model)
        EMATeacherHook().before_train(_runner(wrapped, 0))
        assert torch.equal(_weights(model.ema_decode_head_s), _weights(model.decode_head_s.module))

    def test_teacher_gets_no_autograd_history(self):
        model = TwoHeads()
        EMATeacherHook().after_train_iter(_runner(model, 2), batch_idx=2)
        assert all(p.grad_fn is None and not p.requires_grad for p in model.ema_decode_head_s.parameters())

    def test_model_without_teachers(self):
        with pytest.raises(TypeError, match='ema_pairs'):
            EMATeacherHook().before_train(_runner(nn.Conv2d(1, 1, 1), 0))

    def test_runs_before_checkpoint_hook(self):
        from mmengine.hooks import CheckpointHook
        from mmengine.runner import get_priority
        assert get_priority(EMATeacherHook.priority) < get_priority(CheckpointHook.priority)

    def test_bad_arguments(self):
        with pytest.raises(ValueError, match='max_decay'):
            EMATeacherHook(max_decay=1.0)
        with pytest.raises(ValueError, match='interval'):
            EMATeacherHook(interval=0)

    def test_on_stdaseg(self):
        from tests.test_models.stdaseg_utils import build_model
        model = build_model()
        with torch.no_grad():
            for p in model.decode_head_t.parameters():
                p.add_(1.0)
        EMATeacherHook().after_train_iter(_runner(model, 0), batch_idx=0)  # alpha 0.5: teacher moves +0.5
        for (_, t), (_, s) in zip(model.ema_decode_head_t.named_parameters(), model.decode_head_t.named_parameters()):
            assert torch.allclose(t, s - 0.5, atol=1e-6)
