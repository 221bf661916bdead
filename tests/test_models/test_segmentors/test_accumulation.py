"""``accumulative_counts`` in the three UDA segmentors: with 2, every optimizer wrapper (segmentor and
discriminator phases) steps on every second iteration only; wrappers with different counts are refused."""
import copy
import uuid

import pytest
from mmengine.logging import MessageHub

from tests.test_models import stdaseg_utils as st
from tests.test_models import uda_baseline_utils as uda

ITERS = 4


@pytest.fixture(autouse=True)
def hub():
    """A current MessageHub as the runner leaves it (iteration 0 of 4), then an empty one for later tests."""
    hub = MessageHub.get_instance(f'test_accumulation-{uuid.uuid4()}')
    hub.update_info('iter', 0)
    hub.update_info('max_iters', ITERS)
    yield hub
    MessageHub.get_instance(f'test_accumulation-{uuid.uuid4()}')


def _with_counts(optim_cfg: dict, counts: dict) -> dict:
    cfg = copy.deepcopy(optim_cfg)
    for key, n in counts.items():
        cfg[key]['accumulative_counts'] = n
    return cfg


def _moves(model, optim, parts, batch_seed: int = 0):
    """For each of ITERS train_steps, which of ``parts`` changed their parameters."""
    moves = []
    for i in range(ITERS):
        before = {p: st.state(getattr(model, p)) for p in parts}
        MessageHub.get_current_instance().update_info('iter', i)
        model.train_step(st.paired_batch(seed=batch_seed + i), optim)
        moves.append({p: bool(st.changed(before[p], getattr(model, p))) for p in parts})
    return moves


def _expect_every_second(moves, parts):
    for i, moved in enumerate(moves):
        assert moved == {p: i % 2 == 1 for p in parts}, (i, moved)


class TestSTDASegmentor:
    PARTS = ['backbone_s', 'decode_head_s', 'discriminator_s', 'discriminator_t']
    KEYS = ['backbone', 'decode_head', 'discriminator_s', 'discriminator_t']

    def test_every_wrapper_steps_every_second_iteration(self):
        model = st.build_model(st.tiny_model_cfg(dropout=0.0))
        optim = st.build_optim(model, _with_counts(st.tiny_optim_cfg(), {k: 2 for k in self.KEYS}))
        _expect_every_second(_moves(model, optim, self.PARTS), self.PARTS)

    def test_different_counts_refused(self):
        model = st.build_model(st.tiny_model_cfg(dropout=0.0))
        optim = st.build_optim(model, _with_counts(st.tiny_optim_cfg(), {'discriminator_t': 2}))
        with pytest.raises(ValueError, match=r"STDASegmentor: .*'discriminator_s': 1, 'discriminator_t': 2"):
            model.train_step(st.paired_batch(), optim)


def _uda_optim_cfg(counts: dict, with_discriminator: bool = True) -> dict:
    cfg = dict(constructor='MultiOptimWrapperConstructor',
               segmentor=dict(modules=['backbone', 'decode_head'],
                              optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)))
    if with_discriminator:
        cfg['discriminator'] = dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.99)))
    return _with_counts(cfg, counts)


def _build_optim(model, cfg: dict):
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    return build_optim_wrapper(model, cfg)


class TestAdaptSegSegmentor:
    PARTS = ['backbone', 'decode_head', 'discriminator']

    def test_both_phases_step_every_second_iteration(self):
        model = uda.build(uda.adaptseg_cfg())
        optim = _build_optim(model, _uda_optim_cfg(dict(segmentor=2, discriminator=2)))
        _expect_every_second(_moves(model, optim, self.PARTS), self.PARTS)

    def test_different_counts_refused(self):
        model = uda.build(uda.adaptseg_cfg())
        optim = _build_optim(model, _uda_optim_cfg(dict(segmentor=2)))
        with pytest.raises(ValueError, match=r"AdaptSegSegmentor: .*'segmentor': 2, 'discriminator': 1"):
            model.train_step(st.paired_batch(), optim)


class TestDACSSegmentor:
    PARTS = ['backbone', 'decode_head']

    def test_student_steps_every_second_iteration(self):
        model = uda.build(uda.dacs_cfg())
        optim = _build_optim(model, _uda_optim_cfg(dict(segmentor=2), with_discriminator=False))
        _expect_every_second(_moves(model, optim, self.PARTS), self.PARTS)
