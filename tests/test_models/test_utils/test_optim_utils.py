"""Gradient accumulation in the joint update and the accumulation checks shared by every UDA segmentor."""
import uuid

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from rsseg.models.utils import check_accumulative_counts, prepare_accumulation, update_params_jointly


def _pair(counts=(2, 2), seed: int = 0):
    torch.manual_seed(seed)
    a, b = nn.Linear(3, 3), nn.Linear(3, 1)
    wrappers = [OptimWrapper(torch.optim.SGD(m.parameters(), lr=0.1), accumulative_counts=n)
                for m, n in zip((a, b), counts)]
    return a, b, wrappers


def _loss(a, b, seed: int) -> torch.Tensor:
    x = torch.rand(2, 3, generator=torch.Generator().manual_seed(seed))
    return b(a(x)).pow(2).sum()


@pytest.fixture
def hub():
    """A fresh current MessageHub; afterwards another empty one, so its iter/max_iters leak into no later test."""
    yield MessageHub.get_instance(f'test_optim_utils-{uuid.uuid4()}')
    MessageHub.get_instance(f'test_optim_utils-{uuid.uuid4()}')


class TestUpdateParamsJointlyAccumulates:

    def test_steps_every_second_call(self):
        a, b, wrappers = _pair()
        history = [(a.weight.detach().clone(), b.weight.detach().clone())]
        for i in range(4):
            update_params_jointly(_loss(a, b, i), wrappers)
            history.append((a.weight.detach().clone(), b.weight.detach().clone()))
        moved = [not torch.equal(history[i][0], history[i + 1][0]) for i in range(4)]
        assert moved == [False, True, False, True]
        assert [not torch.equal(history[i][1], history[i + 1][1]) for i in range(4)] == moved
        assert all(w.inner_count == 4 for w in wrappers)

    def test_accumulated_step_is_mean_of_losses(self):
        a, b, wrappers = _pair()
        ref_a, ref_b, ref_wrappers = _pair(counts=(1, 1))
        for i in range(2):
            update_params_jointly(_loss(a, b, i), wrappers)
        update_params_jointly((_loss(ref_a, ref_b, 0) + _loss(ref_a, ref_b, 1)) / 2, ref_wrappers)
        assert torch.allclose(a.weight, ref_a.weight, atol=1e-6) and torch.allclose(b.weight, ref_b.weight, atol=1e-6)

    def test_different_counts_refused(self):
        a, b, wrappers = _pair(counts=(2, 1))
        with pytest.raises(ValueError, match='same accumulative_counts'):
            update_params_jointly(_loss(a, b, 0), wrappers)


class TestChecks:

    def test_names_every_wrapper(self):
        _, _, wrappers = _pair(counts=(2, 1))
        with pytest.raises(ValueError, match=r"Owner: .*\{'segmentor': 2, 'discriminator': 1\}"):
            check_accumulative_counts({'segmentor': wrappers[0], 'discriminator': wrappers[1]}, 'Owner')

    def test_prepare_aligns_with_runner_iteration(self, hub):
        hub.update_info('iter', 3)
        hub.update_info('max_iters', 5)
        a, b, wrappers = _pair()
        prepare_accumulation(dict(seg=wrappers[0], disc=wrappers[1]), nn.Sequential(a, b), 'Owner')
        assert [w.inner_count for w in wrappers] == [3, 3]
        before = a.weight.detach().clone()
        update_params_jointly(_loss(a, b, 0), wrappers)  # iteration 4 closes the window 3-4
        assert not torch.equal(before, a.weight)
        before = a.weight.detach().clone()
        update_params_jointly(_loss(a, b, 1), wrappers)  # iteration 5 = max_iters: the last, short window steps
        assert not torch.equal(before, a.weight)

    def test_prepare_without_accumulation_touches_nothing(self, hub):
        hub.update_info('iter', 3)
        hub.update_info('max_iters', 5)
        _, _, wrappers = _pair(counts=(1, 1))
        prepare_accumulation(dict(seg=wrappers[0], disc=wrappers[1]), nn.Linear(1, 1), 'Owner')
        assert [w.inner_count for w in wrappers] == [0, 0]
