"""Outputs predicted on a resampled working grid, warped back onto the scene's own grid.

Nearest for classes, bilinear for confidence; the class map is written last, so a complete class map means a
complete scene.
"""
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Dict, List

from rsseg.geo.cog import CogWriter
from rsseg.geo.working_grid import SceneHeader, warp_to_scene

# (stack, path, height, width, crs, transform, kind, final) -> writer entered into stack
WriterFactory = Callable[[ExitStack, Path, int, int, Any, Any, str, bool], CogWriter]


def warp_back(info: SceneHeader, bands: List[int], grid_paths: Dict[str, Path], out: Dict[str, Path],
              kinds: List[str], open_writer: WriterFactory) -> None:
    """Resample the working-grid outputs onto the scene grid (nearest for classes, bilinear for confidence)."""
    for kind in reversed(kinds):
        with ExitStack() as stack:
            writer = open_writer(stack, out[kind], info.height, info.width, info.crs, info.transform, kind, True)
            resampling = 'nearest' if kind == 'classes' else 'bilinear'
            for row, data in warp_to_scene(grid_paths[kind], info, bands, resampling):
                writer.write_rows(row, data)
