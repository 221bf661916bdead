"""Data transforms for rasters: rasterio loading and band-safe albumentations."""
from .albu import RSAlbu
from .loading import LoadRasterAnnotation, LoadRasterImage

__all__ = ['LoadRasterImage', 'LoadRasterAnnotation', 'RSAlbu']
