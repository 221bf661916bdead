"""Adversarial loss for discriminator outputs (vanilla BCE-with-logits or least squares)."""
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class GANLoss(nn.Module):
    """GAN loss on raw discriminator logits.

    ``vanilla`` is the binary cross-entropy of AdaptSegNet / ST-DASegNet, ``lsgan`` the mean squared error.
    The same module serves the generator ("fool": fake features labelled real) and the discriminator (real as real,
    fake as fake); ST-DASegNet uses one weight (0.005) for both.

    Args:
        gan_type: ``'vanilla'`` or ``'lsgan'``.
        real_label_val: Target value for "real" (source-like for D_s, target-like for D_t).
        fake_label_val: Target value for "fake".
        loss_weight: Multiplier of the loss.
        loss_name: Name used in loss dicts; must start with ``loss_`` to be back-propagated.
    """

    def __init__(self, gan_type: str = 'vanilla', real_label_val: float = 1.0, fake_label_val: float = 0.0,
                 loss_weight: float = 1.0, loss_name: str = 'loss_gan') -> None:
        super().__init__()
        if gan_type not in ('vanilla', 'lsgan'):
            raise ValueError(f"GANLoss gan_type must be 'vanilla' or 'lsgan', got {gan_type!r}")
        self.gan_type = gan_type
        self.real_label_val = real_label_val
        self.fake_label_val = fake_label_val
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target_is_real: bool) -> Tensor:
        """Loss of discriminator logits ``pred`` against an all-real or all-fake target.

        Args:
            pred: Discriminator logits of any shape.
            target_is_real: Whether ``pred`` should be judged real.

        Returns:
            Scalar loss times ``loss_weight``.
        """
        target = pred.new_full(pred.shape, self.real_label_val if target_is_real else self.fake_label_val)
        if self.gan_type == 'vanilla':
            loss = F.binary_cross_entropy_with_logits(pred.float(), target.float())
        else:
            loss = F.mse_loss(pred.float(), target.float())
        return loss * self.loss_weight

    @property
    def loss_name(self) -> str:
        """Name of this loss in loss dicts."""
        return self._loss_name
