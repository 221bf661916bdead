"""Raster I/O shared by the tiler (``data_prep``), the datasets' loading transforms and the scene predictor.

This sub-package is the only place in rsseg that imports rasterio.
"""
from .errors import GeoError, RasterReadError
from .io import open_raster, read_raster
from .normalization import NormStats
from .tiling import grid_shape, iter_windows, window_starts

__all__ = ['GeoError', 'RasterReadError', 'open_raster', 'read_raster', 'NormStats', 'iter_windows', 'window_starts',
           'grid_shape']

# The tiler needs rsseg.datasets (manifest), which imports rsseg.geo: exported lazily to avoid an import cycle.
_LAZY = {'tile_scenes': 'tiler', 'TileConfig': 'tiler', 'TileReport': 'tiler', 'TilingError': 'tiler',
         'Scene': 'scenes', 'match_scenes': 'scenes', 'expand_inputs': 'scenes', 'LabelCoding': 'label_coding',
         'Grid': 'grid', 'plan_grid': 'grid', 'open_on_grid': 'grid'}
__all__ += list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f'.{_LAZY[name]}', __name__), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
