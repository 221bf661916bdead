"""EMA teachers updated from their students after every training iteration (mmdet ``MeanTeacherHook`` pattern)."""
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from rsseg.models.utils import copy_weights_, ema_decay, ema_update_, unwrap


@HOOKS.register_module()
class EMATeacherHook(Hook):
    """Keep a model's frozen teacher submodules an exponential moving average of their students.

    Unlike mmengine's ``EMAHook`` this averages only the teacher/student pairs the model names in ``ema_pairs()``
    (:class:`~rsseg.models.segmentors.EMATeacherMixin`; ST-DASegNet: the two decoders), leaves the model in place
    for validation and adds nothing to checkpoints: the teachers are ordinary (frozen) submodules, saved and resumed
    with the model's ``state_dict``.

    Schedule: after iteration ``runner.iter`` the students have made ``t = runner.iter + 1`` updates and every teacher
    becomes ``alpha_t * teacher + (1 - alpha_t) * student`` with ``alpha_t = min(1 - 1 / (t + 1), max_decay)``
    (mmengine momentum ``1 - alpha_t``), exactly the reference's update before its iteration ``t``. Before the first
    iteration of a fresh run (``runner.iter == 0``) the teachers are set to copies of their students; a resumed run
    keeps its restored teachers.

    Args:
        max_decay: Upper bound of ``alpha_t`` (0.999).
        interval: Update every ``interval`` iterations.
        update_buffers: Also average BatchNorm statistics (False: parameters only, as ST-DASegNet).
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW): a checkpoint holds the updated teachers

    def __init__(self, max_decay: float = 0.999, interval: int = 1, update_buffers: bool = False) -> None:
        if not 0.0 <= max_decay < 1.0:
            raise ValueError(f'EMATeacherHook max_decay must be in [0, 1), got {max_decay}')
        if interval < 1:
            raise ValueError(f'EMATeacherHook interval must be >= 1, got {interval}')
        self.max_decay = max_decay
        self.interval = interval
        self.update_buffers = update_buffers

    @staticmethod
    def pairs(model: nn.Module) -> List[Tuple[nn.Module, nn.Module]]:
        """``(student, teacher)`` modules of a (possibly wrapped) model; a model without teachers is an error."""
        model = unwrap(model)
        if not callable(getattr(model, 'ema_pairs', None)):
            raise TypeError(f'EMATeacherHook needs a model with ema_pairs() (an EMATeacherMixin segmentor: '
                            f'STDASegmentor, DACSSegmentor), got {type(model).__name__}')
        out = []
        for student, teacher in model.ema_pairs():
            s_mod, t_mod = getattr(model, student, None), getattr(model, teacher, None)
            if s_mod is None or t_mod is None:
                raise AttributeError(f'{type(model).__name__} has no submodule {student if s_mod is None else teacher}')
            out.append((unwrap(s_mod), unwrap(t_mod)))
        return out

    def before_train(self, runner) -> None:
        """Start the teachers as copies of the students, unless resuming."""
        pairs = self.pairs(runner.model)
        if runner.iter == 0:
            for student, teacher in pairs:
                copy_weights_(teacher, student)

    def after_train_iter(self, runner, batch_idx: int, data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        """EMA step with the decay of the number of student updates so far."""
        step = runner.iter + 1
        if step % self.interval != 0:
            return
        decay = ema_decay(step, self.max_decay)
        for student, teacher in self.pairs(runner.model):
            ema_update_(teacher, student, 1.0 - decay, with_buffers=self.update_buffers)
        runner.message_hub.update_scalar('train/ema.decay', decay)
