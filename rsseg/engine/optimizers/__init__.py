"""Optimizer wrapper constructors."""
from .multi_optim_constructor import MultiOptimWrapperConstructor

__all__ = ['MultiOptimWrapperConstructor']
