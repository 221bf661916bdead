"""EMA arithmetic: ST-DASegNet's decay schedule and the in-place update in mmengine's momentum convention."""
import pytest
import torch
import torch.nn as nn

from rsseg.models.utils import copy_weights_, ema_decay, ema_update_


class TestEmaDecay:

    @pytest.mark.parametrize('step,expected', [(0, 0.0), (1, 0.5), (3, 0.75), (9, 0.9), (999, 0.999), (5000, 0.999)])
    def test_schedule(self, step, expected):
        assert ema_decay(step) == pytest.approx(expected)

    def test_cap(self):
        assert ema_decay(10**6, max_decay=0.99) == pytest.approx(0.99)
        assert ema_decay(50, max_decay=0.99) == pytest.approx(1 - 1 / 51)

    def test_negative_step(self):
        with pytest.raises(ValueError, match='>= 0'):
            ema_decay(-1)


def _pair():
    torch.manual_seed(0)
    teacher, student = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)), nn.Sequential(nn.Conv2d(2, 3, 1),
                                                                                              nn.BatchNorm2d(3))
    student[1].running_mean.fill_(2.0)
    student[1].num_batches_tracked.fill_(7)
    return teacher, student


class TestEmaUpdate:

    def test_formula(self):
        teacher, student = _pair()
        t0 = teacher[0].weight.detach().clone()
        s0 = student[0].weight.detach().clone()
        ema_update_(teacher, student, momentum=0.25)
        assert torch.allclose(teacher[0].weight, 0.75 * t0 + 0.25 * s0)
        assert torch.equal(student[0].weight, s0)  # the student is not touched

    def test_parameters_only_by_default(self):
        teacher, student = _pair()
        ema_update_(teacher, student, momentum=0.5)
        assert torch.equal(teacher[1].running_mean, torch.zeros(3))
        assert int(teacher[1].num_batches_tracked) == 0

    def test_with_buffers(self):
        teacher, student = _pair()
        ema_update_(teacher, student, momentum=0.5, with_buffers=True)
        assert torch.allclose(teacher[1].running_mean, torch.ones(3))
        assert int(teacher[1].num_batches_tracked) == 7  # integer buffers are copied

    def test_copy(self):
        teacher, student = _pair()
        copy_weights_(teacher, student)
        for (_, a), (_, b) in zip(teacher.state_dict().items(), student.state_dict().items()):
            assert torch.equal(a, b)

    def test_structure_mismatch(self):
        with pytest.raises(ValueError, match='structure'):
            ema_update_(nn.Conv2d(2, 3, 1), nn.Sequential(nn.Conv2d(2, 3, 1)), 0.5)
        with pytest.raises(ValueError, match='shape'):
            ema_update_(nn.Conv2d(2, 3, 1), nn.Conv2d(2, 4, 1), 0.5)

    def test_bad_momentum(self):
        teacher, student = _pair()
        with pytest.raises(ValueError, match=r'\[0, 1\]'):
            ema_update_(teacher, student, 1.5)

    def test_no_autograd_history(self):
        teacher, student = _pair()
        for p in teacher.parameters():
            p.requires_grad_(False)
        ema_update_(teacher, student, 0.5)
        assert all(p.grad_fn is None for p in teacher.parameters())
