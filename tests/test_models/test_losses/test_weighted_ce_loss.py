"""ClassWeightedCELoss: the reference's class-weighted CE (mmseg 0.21 reduction), ignored pixels included."""
import math

import pytest
import torch
from mmseg.registry import MODELS

from rsseg.models.losses import ClassWeightedCELoss

WEIGHTS = [1.0, 1.25, 1.5]
LOGITS = torch.tensor([[[[2.0, 0.0]], [[0.0, 1.0]], [[-1.0, 0.5]]]])  # (1, 3, 1, 2): two pixels


def _ce(logits, label):
    """-log softmax(logits)[label] of one pixel, by hand."""
    return -(logits[label] - math.log(sum(math.exp(v) for v in logits)))


def _pixel(i):
    return [float(LOGITS[0, c, 0, i]) for c in range(3)]


def test_hand_computation_without_ignored_pixels():
    label = torch.tensor([[[0, 2]]])
    expected = (1.0 * _ce(_pixel(0), 0) + 1.5 * _ce(_pixel(1), 2)) / 2  # weighted sum / pixel count
    loss = ClassWeightedCELoss(class_weight=WEIGHTS)(LOGITS, label)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_hand_computation_with_an_ignored_pixel():
    label = torch.tensor([[[255, 1]]])
    expected = 1.25 * _ce(_pixel(1), 1) / 2  # the ignored pixel adds 0 but stays in the count (reference)
    assert float(ClassWeightedCELoss(class_weight=WEIGHTS)(LOGITS, label)) == pytest.approx(expected, rel=1e-6)
    non_ignore = ClassWeightedCELoss(class_weight=WEIGHTS, avg_non_ignore=True)
    assert float(non_ignore(LOGITS, label)) == pytest.approx(expected * 2, rel=1e-6)


def test_pixel_weights_and_loss_weight():
    label = torch.tensor([[[0, 2]]])
    weight = torch.tensor([[[0.5, 2.0]]])
    expected = 0.4 * (0.5 * _ce(_pixel(0), 0) + 2.0 * 1.5 * _ce(_pixel(1), 2)) / 2
    loss = ClassWeightedCELoss(class_weight=WEIGHTS, loss_weight=0.4)(LOGITS, label, weight=weight)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_mmseg_crossentropy_fails_where_this_one_works():
    """The bug this loss exists for: mmseg 1.2.2 indexes the class weights with label 255."""
    label = torch.tensor([[[255, 1]]])
    mmseg_ce = MODELS.build(dict(type='CrossEntropyLoss', class_weight=WEIGHTS))
    with pytest.raises((IndexError, RuntimeError)):
        mmseg_ce(LOGITS, label, ignore_index=255)
    assert torch.isfinite(MODELS.build(dict(type='ClassWeightedCELoss', class_weight=WEIGHTS))(LOGITS, label))


def test_gradient_flows_and_all_ignored_is_zero():
    logits = LOGITS.clone().requires_grad_(True)
    ClassWeightedCELoss(class_weight=WEIGHTS)(logits, torch.tensor([[[0, 1]]])).backward()
    assert logits.grad.abs().sum() > 0
    assert float(ClassWeightedCELoss(class_weight=WEIGHTS)(LOGITS, torch.full((1, 1, 2), 255))) == 0.0


def test_wrong_number_of_weights_is_refused():
    with pytest.raises(ValueError, match='class_weight has 2 values for 3 classes'):
        ClassWeightedCELoss(class_weight=[1.0, 2.0])(LOGITS, torch.tensor([[[0, 1]]]))


def test_is_a_drop_in_decode_head_loss():
    head = MODELS.build(dict(type='FCNHead', in_channels=4, channels=4, num_convs=1, num_classes=3,
                             loss_decode=dict(type='ClassWeightedCELoss', class_weight=WEIGHTS)))
    seg_logits = torch.randn(2, 3, 8, 8)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(2):
        s = SegDataSample()
        label = torch.randint(0, 3, (1, 8, 8))
        label[0, :2] = 255
        s.gt_sem_seg = PixelData(data=label)
        samples.append(s)
    losses = head.loss_by_feat(seg_logits, samples)
    assert torch.isfinite(losses['loss_ce']) and 'acc_seg' in losses
