"""Heads: Pissas et al.'s multi-scale / cross-scale contrastive loss as an auxiliary head."""
from .multi_scale_contrastive_head import MultiScaleContrastiveHead, sup_con

__all__ = ['MultiScaleContrastiveHead', 'sup_con']
