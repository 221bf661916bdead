"""Segmentors: ST-DASegNet."""
from .st_da_segmentor import STDASegmentor, spatial_softmax

__all__ = ['STDASegmentor', 'spatial_softmax']
