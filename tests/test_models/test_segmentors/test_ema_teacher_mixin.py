"""EMATeacherMixin on a one-head stand-in: frozen teachers built from the students' configs, copies after
init_weights, dropout off in training mode, the predict_on switch and the pseudo-label loss's class weights."""
import copy

import pytest
import torch
from mmengine.model import BaseModule
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import rsseg.plugin  # noqa: F401  (registers rsseg's modules)
from rsseg.models.segmentors import DACSSegmentor, EMATeacherMixin, STDASegmentor

HEAD = dict(type='FCNHead', in_channels=4, channels=4, num_convs=1, num_classes=3, dropout_ratio=0.5,
            loss_decode=dict(type='CrossEntropyLoss', class_weight=[1.0, 2.0, 3.0]))


class OneHead(EMATeacherMixin, BaseModule):
    """A student ``decode_head`` and its teacher ``ema_decode_head``."""

    def __init__(self, test_cfg=None):
        super().__init__()
        self.decode_head = MODELS.build(copy.deepcopy(HEAD))
        self.test_cfg = test_cfg or {}
        self.build_teachers({'decode_head': HEAD})


@pytest.fixture
def model():
    init_default_scope('mmseg')
    torch.manual_seed(0)
    return OneHead()


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_teachers_frozen_and_paired(model):
    assert model.ema_pairs() == [('decode_head', 'ema_decode_head')]
    assert all(not p.requires_grad for p in model.ema_decode_head.parameters())
    assert all(p.requires_grad for p in model.decode_head.parameters())


def test_init_weights_copies_students(model):
    assert not _same(model.ema_decode_head, model.decode_head)  # built independently
    model.init_weights()
    assert _same(model.ema_decode_head, model.decode_head)


def test_teacher_dropout_stays_off(model):
    model.train()
    assert model.decode_head.dropout.training and not model.ema_decode_head.dropout.training
    assert model.ema_decode_head.conv_seg.training


def test_predict_on(model):
    assert model.predict_on == 'student'
    model.test_cfg = dict(predict_on='teacher')
    assert model.predict_on == 'teacher'
    model.test_cfg = dict(predict_on='nobody')
    with pytest.raises(ValueError, match="predict_on must be 'student' or 'teacher', got 'nobody'"):
        model.predict_on  # noqa: B018 (reading the property is the test: it raises)


def test_pseudo_loss_takes_head_class_weight(model):
    assert model.build_pseudo_loss(dict(type='PseudoLabelCELoss'), model.decode_head).class_weight == [1.0, 2.0, 3.0]
    given = model.build_pseudo_loss(dict(type='PseudoLabelCELoss', class_weight=[1.0, 1.0, 5.0]), model.decode_head)
    assert given.class_weight == [1.0, 1.0, 5.0]
    assert model.ignore_index == 255


def test_uda_segmentors_share_it():
    assert issubclass(STDASegmentor, EMATeacherMixin) and issubclass(DACSSegmentor, EMATeacherMixin)
