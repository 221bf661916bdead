"""GAN loss and pseudo-label CE against their formulas."""
import pytest
import torch
import torch.nn.functional as F

from rsseg.models.losses import GANLoss, PseudoLabelCELoss


class TestGANLoss:

    def test_vanilla(self):
        loss = GANLoss(loss_weight=0.005)
        pred = torch.tensor([[0.5, -1.0]])
        assert float(loss(pred, True)) == pytest.approx(0.005 * float(F.softplus(-pred).mean()), rel=1e-5)
        assert float(loss(pred, False)) == pytest.approx(0.005 * float(F.softplus(pred).mean()), rel=1e-5)
        assert loss.loss_name == 'loss_gan'

    def test_lsgan(self):
        loss = GANLoss(gan_type='lsgan')
        assert float(loss(torch.tensor([0.5]), True)) == pytest.approx(0.25)

    def test_bad_type(self):
        with pytest.raises(ValueError, match='gan_type'):
            GANLoss(gan_type='wgan')


class TestPseudoLabelCELoss:

    def test_weighted_mean(self):
        torch.manual_seed(0)
        logits = torch.randn(2, 3, 4, 4)
        labels = torch.randint(0, 3, (2, 4, 4))
        labels[0, 0, 0] = 255
        weight = torch.rand(2, 4, 4)
        loss = PseudoLabelCELoss(class_weight=[1.0, 2.0, 0.5], loss_weight=0.25)
        ce = F.cross_entropy(logits, labels, reduction='none', ignore_index=255)
        cw = torch.tensor([1.0, 2.0, 0.5])[labels.clamp(max=2)]
        cw[0, 0, 0] = 0
        expected = 0.25 * (ce * cw * weight).sum() / labels.numel()  # mean over all pixels
        assert float(loss(logits, labels, weight, ignore_index=255)) == pytest.approx(float(expected), rel=1e-5)
        assert loss.loss_name == 'loss_pseudo'

    def test_zero_weight_no_loss(self):
        loss = PseudoLabelCELoss()
        logits = torch.randn(1, 3, 2, 2, requires_grad=True)
        out = loss(logits, torch.zeros(1, 2, 2, dtype=torch.long), torch.zeros(1, 2, 2))
        out.backward()
        assert float(out) == 0.0 and float(logits.grad.abs().sum()) == 0.0

    def test_size_mismatch(self):
        with pytest.raises(ValueError, match='differ in size'):
            PseudoLabelCELoss()(torch.randn(1, 3, 2, 2), torch.zeros(1, 4, 4, dtype=torch.long))
