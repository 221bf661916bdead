"""The raster layer: raster I/O, grids and windows, chips, COGs, scene discovery, the tiler and dataset converters.

Shared by the tiler (``data_prep``), the datasets' loading transforms and the scene predictor. Built on numpy,
rasterio (with rio-cogeo) and :mod:`rsseg.formats`; never imports torch, mmengine, mmcv or mmseg (an import-linter
contract, ``.importlinter``), so the tiler runs without the network stack.
"""
from .grid import Grid, open_on_grid, plan_grid
from .io import open_raster, read_raster
from .normalization import NormStats
from .scenes import Scene, expand_inputs, match_scenes
from .tiler import TileConfig, TileReport, TilingError, tile_scenes
from .tiling import end_aligned_starts, grid_shape, iter_windows, spread_starts

__all__ = ['open_raster', 'read_raster', 'NormStats', 'iter_windows', 'end_aligned_starts', 'spread_starts',
           'grid_shape', 'tile_scenes', 'TileConfig', 'TileReport', 'TilingError', 'Scene', 'match_scenes',
           'expand_inputs', 'Grid', 'plan_grid', 'open_on_grid']
