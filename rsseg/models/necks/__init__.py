"""Necks: the domain disentangled module (DDM) of ST-DASegNet."""
from .domain_disentangle_neck import DistinctBlock, DomainDisentangleNeck, UniversalBlock, reduced_channels

__all__ = ['DistinctBlock', 'DomainDisentangleNeck', 'UniversalBlock', 'reduced_channels']
