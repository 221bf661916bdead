"""Losses of ST-DASegNet: adversarial and pseudo-label cross-entropy."""
from .gan_loss import GANLoss
from .pseudo_ce_loss import PseudoLabelCELoss

__all__ = ['GANLoss', 'PseudoLabelCELoss']
