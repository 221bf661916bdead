"""Training machinery: the EMA-teacher hook and the multi-optimizer constructor."""
from .hooks import EMATeacherHook
from .optimizers import MultiOptimWrapperConstructor

__all__ = ['EMATeacherHook', 'MultiOptimWrapperConstructor']
