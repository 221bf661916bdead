"""Data-parallel ST-DASegNet on 2 CPU processes (gloo) with mmengine's MMSeparateDistributedDataParallel.

After a few GAN-style steps (segmentor phase, discriminator phase, EMA hook) students, discriminators and teachers
must be identical on both ranks and equal to what one process computes with the same global batch. GroupNorm and
no dropout make the per-rank forward independent of how the batch is split; SGD everywhere keeps roundoff from being
amplified (Adam divides tiny gradients by their own magnitude).
"""
import os
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

STEPS = 3
GLOBAL_BATCH = 4
WORLD = 2


def _model_cfg() -> dict:
    """GroupNorm and no dropout: the per-rank forward does not depend on how the batch is split."""
    from tests.test_models.stdaseg_utils import tiny_model_cfg
    return tiny_model_cfg(norm='GN', dropout=0.0, pseudo_label=dict(threshold=0.9))


def _build():
    """Same init on every process; decoders sharpened so the teachers are confident on part of the target pixels
    (a fresh mmseg head predicts nearly uniform probabilities)."""
    from tests.test_models.stdaseg_utils import build_model
    model = build_model(_model_cfg(), seed=0)
    for head in (model.decode_head_s, model.decode_head_t):
        head.conv_seg.weight.data.mul_(300.0)
    return model


def _optim_cfg():
    from tests.test_models.stdaseg_utils import tiny_optim_cfg
    cfg = tiny_optim_cfg()
    for key in ('discriminator_s', 'discriminator_t'):
        cfg[key]['optimizer'] = dict(type='SGD', lr=0.01, momentum=0.9)
    return cfg


def _local(batch: dict, rank: int, world: int) -> dict:
    per = GLOBAL_BATCH // world
    sl = slice(rank * per, (rank + 1) * per)
    return {k: {b: v[sl] for b, v in branches.items()} for k, branches in batch.items()}


def _train(model, wrapped, rank: int, world: int, tag: str) -> dict:
    from mmengine.logging import MessageHub
    from mmengine.runner.checkpoint import get_state_dict

    from rsseg.engine.hooks import EMATeacherHook
    from tests.test_models.stdaseg_utils import build_optim, paired_batch
    optim = build_optim(wrapped, _optim_cfg())
    hook = EMATeacherHook()
    runner = SimpleNamespace(model=wrapped, iter=0, message_hub=MessageHub.get_instance(tag))
    hook.before_train(runner)
    wrapped.train()
    ratios = []
    for it in range(STEPS):
        batch = paired_batch(batch=GLOBAL_BATCH, seed=100 + it)
        log_vars = wrapped.train_step(_local(batch, rank, world) if world > 1 else batch, optim)
        ratios.append(float(log_vars['seg.tgt.pseudo_ratio']))
        runner.iter = it
        hook.after_train_iter(runner, batch_idx=it)
    return dict(state={k: v.detach().clone() for k, v in get_state_dict(model).items()}, ratios=ratios)


def _worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    try:
        from mmengine.model import MMSeparateDistributedDataParallel

        model = _build()
        wrapped = MMSeparateDistributedDataParallel(model, device_ids=None)
        wrapped_names = sorted(n for n, m in model._modules.items() if type(m).__name__ == 'MMDistributedDataParallel')
        result = _train(model, wrapped, rank, world, f'dist_rank{rank}')
        result['wrapped'] = wrapped_names
        torch.save(result, os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp('dist')
    mp.spawn(_worker, args=(WORLD, str(out / 'init'), str(out)), nprocs=WORLD, join=True)
    model = _build()
    single = _train(model, model, 0, 1, 'dist_single')
    ranks = [torch.load(out / f'rank{r}.pt', weights_only=False) for r in range(WORLD)]
    return ranks, single


def _groups(state: dict) -> dict:
    groups = {}
    for key in state:
        groups.setdefault(key.split('.')[0], []).append(key)
    return groups


class TestSeparateDDP:

    def test_wraps_trainable_parts_only(self, results):
        ranks, _ = results
        assert ranks[0]['wrapped'] == sorted(['backbone_s', 'backbone_t', 'neck', 'decode_head_s', 'decode_head_t',
                                              'discriminator_s', 'discriminator_t'])  # teachers are not wrapped

    def test_ranks_identical(self, results):
        ranks, _ = results
        groups = _groups(ranks[0]['state'])
        for part in ('backbone_s', 'neck', 'decode_head_t', 'discriminator_s', 'discriminator_t', 'ema_decode_head_s'):
            for key in groups[part]:
                assert torch.equal(ranks[0]['state'][key], ranks[1]['state'][key]), key

    def test_equal_to_single_process_global_batch(self, results):
        ranks, single = results
        assert ranks[0]['ratios'] == pytest.approx(single['ratios'])  # r is the share over the global batch
        assert all(0.01 < r < 0.99 for r in single['ratios'])  # a non-trivial share: the sync matters
        for key, value in single['state'].items():
            assert torch.allclose(ranks[0]['state'][key], value, rtol=1e-4, atol=1e-5), key

    def test_training_moved_every_part(self, results):
        ranks, _ = results
        fresh = _build().state_dict()
        for part in ('backbone_s', 'backbone_t', 'neck', 'decode_head_s', 'discriminator_t', 'ema_decode_head_s'):
            key = next(k for k in fresh if k.startswith(part + '.') and fresh[k].is_floating_point())
            assert not torch.equal(fresh[key], ranks[0]['state'][key]), part
