"""Updating several optimizer wrappers from one loss (the segmentor phase of a GAN-style step)."""
from typing import Sequence

import torch
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


def update_params_jointly(loss: torch.Tensor, wrappers: Sequence[OptimWrapper]) -> None:
    """One backward of ``loss``, then step and zero every wrapper (gradient clipping per wrapper).

    ``OptimWrapper.update_params`` would back-propagate once per wrapper. Here one backward feeds all of them; under
    AMP the wrappers share one ``GradScaler`` (scale once, unscale/step each optimizer, update the scale once), the
    documented pattern for several optimizers in ``torch.cuda.amp``.

    Args:
        loss: The summed loss of the phase.
        wrappers: Wrappers whose parameters ``loss`` depends on; the first one performs the backward.
    """
    if not wrappers:
        raise ValueError('update_params_jointly needs at least one optimizer wrapper')
    scaler = _shared_scaler(wrappers)
    first = wrappers[0]
    first.backward(loss)
    for wrapper in wrappers:
        if wrapper is not first:
            wrapper._inner_count += 1
        if scaler is None:
            wrapper.step()
            continue
        if wrapper.clip_grad_kwargs:
            scaler.unscale_(wrapper.optimizer)
            wrapper._clip_grad()
        scaler.step(wrapper.optimizer)
    if scaler is not None:
        scaler.update(getattr(first, '_scale_update_param', None))
    for wrapper in wrappers:
        wrapper.zero_grad()
