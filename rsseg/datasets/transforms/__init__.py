"""Data transforms for rasters: rasterio loading and band-safe albumentations."""
from .albu import RSAlbu
from .loading import LoadRasterAnnotation, LoadRasterImage
from .views import TwoViews

__all__ = ['LoadRasterImage', 'LoadRasterAnnotation', 'RSAlbu', 'TwoViews']
