"""Self-supervised pretraining models (a backbone trained on unlabelled chips)."""
from .densecl import DenseCL, DenseCLNeck

__all__ = ['DenseCL', 'DenseCLNeck']
