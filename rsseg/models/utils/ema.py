"""Exponential moving average helpers for the EMA teachers (pure functions; the schedule lives in the hook).

mmengine's momentum convention is used throughout (``mmengine/model/averaged_model.py``)::

    teacher = (1 - momentum) * teacher + momentum * student

ST-DASegNet's decay ``alpha_t = min(1 - 1 / (t + 1), alpha_max)`` is the weight kept on the teacher, so
``momentum = 1 - alpha_t``.
"""
from typing import Iterator, Tuple

import torch
import torch.nn as nn


def ema_decay(step: int, max_decay: float = 0.999) -> float:
    """ST-DASegNet's teacher decay ``alpha_t = min(1 - 1 / (t + 1), max_decay)``.

    Args:
        step: ``t``, the number of student updates so far (``runner.iter + 1`` after an iteration). At ``t = 0`` the
            decay is 0 (the teacher becomes a copy of the student); at ``t = 1`` it is 0.5; it reaches ``max_decay``
            at ``t = 1 / (1 - max_decay) - 1`` (999 for 0.999).
        max_decay: Upper bound of the decay.

    Returns:
        The decay in ``[0, max_decay]``.
    """
    if step < 0:
        raise ValueError(f'EMA step must be >= 0, got {step}')
    return min(1.0 - 1.0 / (step + 1), max_decay)


def _paired(teacher: nn.Module, student: nn.Module,
            with_buffers: bool) -> Iterator[Tuple[str, torch.Tensor, torch.Tensor]]:
    """Yield ``(name, teacher_tensor, student_tensor)``; a structural mismatch raises ValueError naming it."""
    t_items = dict(teacher.named_parameters())
    s_items = dict(student.named_parameters())
    if with_buffers:
        t_items.update(teacher.named_buffers())
        s_items.update(student.named_buffers())
    if t_items.keys() != s_items.keys():
        missing = sorted(set(s_items) ^ set(t_items))[:5]
        raise ValueError(f'teacher and student differ in structure (e.g. {missing}); the teacher must be built '
                         'from the same config as its student')
    for name, t_val in t_items.items():
        s_val = s_items[name]
        if t_val.shape != s_val.shape:
            raise ValueError(f'teacher {name} has shape {tuple(t_val.shape)}, student {tuple(s_val.shape)}')
        yield name, t_val, s_val


@torch.no_grad()
def ema_update_(teacher: nn.Module, student: nn.Module, momentum: float, with_buffers: bool = False) -> None:
    """In place: ``teacher = (1 - momentum) * teacher + momentum * student`` for every parameter.

    Args:
        teacher: The EMA module (modified in place).
        student: The trained module with the same structure.
        momentum: Weight of the student, in ``[0, 1]``; 1 copies the student.
        with_buffers: Also average floating-point buffers (BatchNorm statistics) and copy integer ones
            (``num_batches_tracked``). False (ST-DASegNet's "parameters only") leaves buffers alone.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f'EMA momentum must be in [0, 1], got {momentum}')
    for _, t_val, s_val in _paired(teacher, student, with_buffers):
        if t_val.dtype.is_floating_point:
            t_val.mul_(1.0 - momentum).add_(s_val.detach().to(t_val.dtype), alpha=momentum)
        else:
            t_val.copy_(s_val)


def copy_weights_(teacher: nn.Module, student: nn.Module, with_buffers: bool = True) -> None:
    """Make ``teacher`` an exact copy of ``student`` (parameters, and buffers unless told otherwise)."""
    ema_update_(teacher, student, 1.0, with_buffers=with_buffers)
