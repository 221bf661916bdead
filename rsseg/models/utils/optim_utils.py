"""Optimizer-wrapper helpers of the GAN-style steps: one loss for several wrappers, and gradient accumulation.

Gradient accumulation (``accumulative_counts=N`` in an optimizer wrapper config) is honoured by every phase: each
wrapper scales its loss by ``1 / N``, back-propagates every iteration and steps (then zeroes) every ``N``-th one, as
mmengine's ``OptimWrapper.update_params`` does. :func:`prepare_accumulation` fails early on wrappers whose counts
differ and aligns their counters with the runner, which mmengine skips for an ``OptimWrapperDict``.
"""
from typing import List, Mapping, Sequence

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper


def _shared_scaler(wrappers: Sequence[OptimWrapper]):
    """The one loss scaler all AMP wrappers share, None without AMP; mixing or separate scalers is an error."""
    scalers = [getattr(w, 'loss_scaler', None) for w in wrappers]
    if all(s is None for s in scalers):
        return None
    if any(s is None for s in scalers) or any(s is not scalers[0] for s in scalers):
        raise ValueError('optimizer wrappers updated from one loss must all be AmpOptimWrapper sharing one loss '
                         'scaler (MultiOptimWrapperConstructor does this when AMP is on) or all plain OptimWrapper')
    return scalers[0]


def accumulative_counts(wrapper: OptimWrapper) -> int:
    """The wrapper's ``accumulative_counts`` (1: step every iteration)."""
    return int(getattr(wrapper, '_accumulative_counts', 1))


def check_accumulative_counts(wrappers: Mapping[str, OptimWrapper], owner: str) -> int:
    """The ``accumulative_counts`` every wrapper of one ``train_step`` shares.

    The segmentor and discriminator phases alternate within one iteration, so they must accumulate over the same
    iterations (a discriminator stepping twice as often as the segmentor it judges is no longer the method).

    Raises:
        ValueError: Naming every wrapper and its count, when they differ.
    """
    counts = {name: accumulative_counts(w) for name, w in wrappers.items()}
    if len(set(counts.values())) > 1:
        raise ValueError(f'{owner}: every optimizer wrapper must use the same accumulative_counts (the phases of one '
                         f'train_step accumulate together), got {counts}')
    return next(iter(counts.values()), 1)


def prepare_accumulation(wrappers: Mapping[str, OptimWrapper], model: nn.Module, owner: str) -> None:
    """Check the wrappers' ``accumulative_counts`` and, with accumulation, start their counters at the runner's.

    ``Runner.train`` calls ``initialize_count_status`` on its optimizer wrapper, but ``OptimWrapperDict``'s does
    nothing. Each wrapper not yet initialised (``max_counts == -1``) starts here from the message hub's ``iter``
    and ``max_iters`` (when a runner set them), so a resumed run steps on the same iterations and the last,
    incomplete window is stepped with its own loss scale.
    """
    if check_accumulative_counts(wrappers, owner) == 1:
        return
    hub = MessageHub.get_current_instance()
    cur_iter, max_iters = hub.get_info('iter'), hub.get_info('max_iters')
    if cur_iter is None or max_iters is None:
        return
    for wrapper in wrappers.values():
        if getattr(wrapper, '_max_counts', None) == -1:
            wrapper.initialize_count_status(model, int(cur_iter), int(max_iters))


def _step(wrappers: List[OptimWrapper]) -> None:
    """Step every wrapper (clipping each), with one shared ``GradScaler`` under AMP, then zero them."""
    scaler = _shared_scaler(wrappers)
    for wrapper in wrappers:
        if scaler is None:
            wrapper.step()
            continue
        if wrapper.clip_grad_kwargs:
            scaler.unscale_(wrapper.optimizer)
            wrapper._clip_grad()
        scaler.step(wrapper.optimizer)
    if scaler is not None:
        scaler.update(getattr(wrappers[0], '_scale_update_param', None))
    for wrapper in wrappers:
        wrapper.zero_grad()


def update_params_jointly(loss: torch.Tensor, wrappers: Sequence[OptimWrapper]) -> None:
    """``OptimWrapper.update_params`` for several wrappers and one loss: one backward, then step them together.

    ``OptimWrapper.update_params`` would back-propagate once per wrapper. Here one backward feeds all of them; under
    AMP the wrappers share one ``GradScaler`` (scale once, unscale/step each optimizer, update the scale once), the
    documented pattern for several optimizers in ``torch.cuda.amp``. With ``accumulative_counts=N`` the loss is
    scaled by ``1 / N`` (mmengine's ``scale_loss``) and the wrappers step and zero every ``N``-th call.

    Args:
        loss: The summed loss of the phase.
        wrappers: Wrappers whose parameters ``loss`` depends on (one ``accumulative_counts``); the first one
            performs the backward.
    """
    if not wrappers:
        raise ValueError('update_params_jointly needs at least one optimizer wrapper')
    check_accumulative_counts({f'wrappers[{i}]': w for i, w in enumerate(wrappers)}, 'update_params_jointly')
    _shared_scaler(wrappers)  # refuse mixed AMP / plain wrappers before back-propagating
    first = wrappers[0]
    first.backward(first.scale_loss(loss))
    for wrapper in wrappers[1:]:
        wrapper._inner_count += 1
    if all(w.should_update() for w in wrappers):
        _step(list(wrappers))
    elif any(w.should_update() for w in wrappers):
        raise RuntimeError('update_params_jointly: the wrappers are out of step (one of them was also updated '
                           'elsewhere); each wrapper must belong to a single phase')
