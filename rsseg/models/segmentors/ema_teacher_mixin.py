"""EMA teachers of the self-training UDA segmentors (ST-DASegNet, DACS): frozen copies of named student parts.

One home for what every teacher-student segmentor does alike: build the teachers from the students' configs and
freeze them, start them as exact copies of the students (``init_weights``), keep their dropout off in training mode,
name the ``(student, teacher)`` pairs :class:`~rsseg.engine.hooks.EMATeacherHook` averages (``ema_pairs``), choose
the predicting side (``test_cfg.predict_on``) and build the pseudo-label loss with its head's class weights.

How teachers label target images differs per method (ST-DASegNet fuses two decoders and weights pixels by class,
DACS weights each image by its confident share), so that stays in each segmentor, over the shared pure helpers of
:mod:`rsseg.models.utils.pseudo_label` (:func:`~rsseg.models.utils.unpadded_mask` and friends).
"""
import copy
from typing import Dict, List, Tuple

import torch.nn as nn
from mmseg.registry import MODELS

from ..utils import copy_weights_, disable_dropout, freeze, unwrap

PREDICT_ON = ('student', 'teacher')


def teacher_name(student: str) -> str:
    """Attribute name of the EMA teacher of submodule ``student`` (``decode_head`` → ``ema_decode_head``)."""
    return f'ema_{student}'


class EMATeacherMixin:
    """Teacher plumbing of a segmentor whose frozen ``ema_<part>`` submodules follow its ``<part>`` submodules.

    Mix in before the segmentor base (``class DACSSegmentor(EMATeacherMixin, UDAEncoderDecoder)``) and call
    :meth:`build_teachers` once the students exist. Teachers are ordinary submodules: saved and resumed with the
    ``state_dict``, in no optimizer (no ``requires_grad``), moved only by the EMA hook.
    """

    _ema_students: Tuple[str, ...] = ()

    def build_teachers(self, students: Dict[str, dict]) -> None:
        """Build a frozen ``ema_<name>`` from each ``name -> config`` (the order of :meth:`ema_pairs`); the weights
        are overwritten by the students' in :meth:`init_weights`."""
        for name, cfg in students.items():
            teacher = MODELS.build(copy.deepcopy(cfg))
            freeze(teacher)
            setattr(self, teacher_name(name), teacher)
        self._ema_students = tuple(students)

    def ema_pairs(self) -> List[Tuple[str, str]]:
        """``(student, teacher)`` submodule names: what :class:`~rsseg.engine.hooks.EMATeacherHook` averages."""
        return [(name, teacher_name(name)) for name in self._ema_students]

    def init_weights(self) -> None:
        """Initialise the students as configured, then start the teachers as exact copies of them."""
        super().init_weights()
        for student, teacher in self.ema_pairs():
            copy_weights_(getattr(self, teacher), unwrap(getattr(self, student)))

    def train(self, mode: bool = True) -> 'EMATeacherMixin':
        """Set the mode of every submodule; the teachers' dropout / drop-path stay off."""
        super().train(mode)
        for _, teacher in self.ema_pairs():
            disable_dropout(getattr(self, teacher))
        return self

    @property
    def predict_on(self) -> str:
        """``test_cfg.predict_on``: ``'student'`` (default) or ``'teacher'``; any other value is a ValueError."""
        side = self.test_cfg.get('predict_on', 'student')
        if side not in PREDICT_ON:
            raise ValueError(f"test_cfg.predict_on must be 'student' or 'teacher', got {side!r}")
        return side

    @property
    def ignore_index(self) -> int:
        """The decode head's ignore index (the pseudo-label of padding)."""
        return unwrap(self.decode_head).ignore_index

    @staticmethod
    def build_pseudo_loss(cfg: dict, head: nn.Module) -> nn.Module:
        """Build a pseudo-label loss whose ``class_weight``, when None, is ``head``'s (first) loss class weights, as
        the references reuse the head loss on target images."""
        cfg = dict(cfg)
        if cfg.get('class_weight') is None:
            head_loss = head.loss_decode
            first = head_loss[0] if isinstance(head_loss, nn.ModuleList) else head_loss
            cfg['class_weight'] = getattr(first, 'class_weight', None)
        return MODELS.build(cfg)
