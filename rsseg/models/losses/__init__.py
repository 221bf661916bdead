"""Losses of ST-DASegNet: class-weighted, adversarial and pseudo-label cross-entropy."""
from .gan_loss import GANLoss
from .pseudo_ce_loss import PseudoLabelCELoss
from .weighted_ce_loss import ClassWeightedCELoss

__all__ = ['ClassWeightedCELoss', 'GANLoss', 'PseudoLabelCELoss']
