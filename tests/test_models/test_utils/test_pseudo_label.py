"""Pseudo-labels and their per-pixel weights on hand-made probability maps."""
import pytest
import torch

from rsseg.models.utils import (
    confident_ratio,
    fuse_teacher_probs,
    make_pseudo_labels,
    pseudo_label_weights,
    unpadded_mask,
)


def _probs():
    """(1, 3, 2, 2) probabilities: confidences 0.98 (class 0), 0.9 (class 1), 0.6 (class 2), 0.99 (class 2)."""
    conf = [(0, 0.98), (1, 0.9), (2, 0.6), (2, 0.99)]
    probs = torch.zeros(1, 3, 4)
    for i, (cls, p) in enumerate(conf):
        probs[0, :, i] = (1 - p) / 2
        probs[0, cls, i] = p
    return probs.view(1, 3, 2, 2)


class TestPseudoLabels:

    def test_labels_and_ratio(self):
        labels, _, ratio = make_pseudo_labels(_probs(), threshold=0.975, class_weight=None)
        assert labels.tolist() == [[[0, 1], [2, 2]]]
        assert float(ratio) == pytest.approx(0.5)  # 0.98 and 0.99 are >= 0.975

    def test_weights_without_class_weight(self):
        _, weights, _ = make_pseudo_labels(_probs(), threshold=0.975, class_weight=None)
        assert torch.allclose(weights, torch.full((1, 2, 2), 0.5))

    def test_weights_with_class_weight(self):
        # r = 0.5; conf >= 0.8 → r * c[label]; conf < 0.8 → 0.5 * r
        _, weights, ratio = make_pseudo_labels(_probs(), threshold=0.975, rare_threshold=0.8,
                                               class_weight=[1.0, 2.0, 3.0])
        assert float(ratio) == pytest.approx(0.5)
        assert torch.allclose(weights[0], torch.tensor([[0.5 * 1.0, 0.5 * 2.0], [0.5 * 0.5, 0.5 * 3.0]]))

    def test_zero_class_weight_falls_back_to_half_ratio(self):
        _, weights, _ = make_pseudo_labels(_probs(), threshold=0.975, class_weight=[0.0, 2.0, 3.0])
        assert float(weights[0, 0, 0]) == pytest.approx(0.25)

    def test_no_confident_pixel_gives_zero_weight(self):
        _, weights, ratio = make_pseudo_labels(_probs(), threshold=0.999, class_weight=[1.0, 1.0, 1.0])
        assert float(ratio) == 0.0
        assert torch.count_nonzero(weights) == 0

    def test_valid_mask(self):
        valid = torch.tensor([[[True, True], [True, False]]])
        labels, weights, ratio = make_pseudo_labels(_probs(), threshold=0.975, valid=valid, ignore_index=255)
        assert float(ratio) == pytest.approx(1 / 3)  # only 0.98 of the 3 valid pixels
        assert int(labels[0, 1, 1]) == 255 and float(weights[0, 1, 1]) == 0.0

    def test_class_weight_too_short(self):
        with pytest.raises(ValueError, match='class_weight has 2 entries'):
            pseudo_label_weights(torch.tensor([[2]]), torch.tensor([[0.9]]), torch.tensor(0.5), 0.8, [1.0, 1.0])

    def test_ratio_counts(self):
        conf = torch.tensor([[0.1, 0.975, 0.99, 0.5]])
        assert float(confident_ratio(conf, 0.975)) == pytest.approx(0.5)


class TestFuse:

    def test_mean_of_softmax(self):
        a = torch.tensor([[[[4.0]], [[0.0]]]])
        b = torch.tensor([[[[0.0]], [[0.0]]]])
        expected = (a.softmax(1) + b.softmax(1)) / 2
        assert torch.allclose(fuse_teacher_probs([a, b], 'prob'), expected)
        assert torch.allclose(fuse_teacher_probs([a, b], 'logit'), ((a + b) / 2).softmax(1))
        assert not torch.allclose(expected, ((a + b) / 2).softmax(1))

    def test_bad_mode(self):
        with pytest.raises(ValueError, match='fuse'):
            fuse_teacher_probs([torch.zeros(1, 2, 1, 1)], 'max')


def test_unpadded_mask():
    from mmseg.structures import SegDataSample
    samples = [SegDataSample(metainfo=dict(img_shape=(4, 6))), SegDataSample(metainfo=dict(img_shape=(2, 3))),
               SegDataSample()]
    valid = unpadded_mask(samples, torch.zeros(3, 3, 4, 6))
    assert valid[0].all() and valid[2].all()  # full size; no img_shape: all valid
    assert valid[1, :2, :3].all() and valid[1].sum() == 6  # right/bottom padding excluded
