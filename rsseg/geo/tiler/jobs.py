"""Phase 2's units of work: a scene's chip windows grouped into rectangles a worker reads in one go.

Groups are bounded in memory (``GROUP_BUDGET_BYTES``, ``GROUP_MAX_WIDTH``) and many enough to keep every worker busy.
"""
import math
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import numpy as np

from ..scenes import Scene
from ..tiling import end_aligned_starts
from .config import TileConfig
from .scene_plan import ScenePlan

GROUP_BUDGET_BYTES = 64 << 20
GROUP_MAX_WIDTH = 4096


@dataclass
class TileJob:
    """One worker's share of a scene: the extent read once (``union``: col, row, w, h) and the chip windows in it."""

    scene: Scene
    info: ScenePlan
    config: TileConfig
    out: str
    union: Tuple[int, int, int, int]
    windows: List[Tuple[int, int, int, int]]


def make_jobs(scene: Scene, info: ScenePlan, config: TileConfig, out: Path, workers: int) -> List[TileJob]:
    """Group a scene's windows into rectangles read in one go (bounded memory, enough jobs to balance workers)."""
    grid = info.grid
    chip_h, chip_w = config.chip
    rows = end_aligned_starts(grid.height, chip_h, config.stride[0])
    cols = end_aligned_starts(grid.width, chip_w, config.stride[1])
    win_h, win_w = min(chip_h, grid.height), min(chip_w, grid.width)
    col_groups = _chunk(cols, win_w, max(win_w, GROUP_MAX_WIDTH))
    union_w = max(g[-1] + win_w - g[0] for g in col_groups)
    bytes_per_px = len(info.bands) * np.dtype(info.dtype).itemsize + 2 + (12 if scene.label else 0)
    max_h = max(win_h, min(GROUP_BUDGET_BYTES // max(1, union_w * bytes_per_px),
                           math.ceil(grid.height / max(1, 2 * workers))))
    row_groups = _chunk(rows, win_h, max_h)
    jobs = []
    for rg in row_groups:
        for cg in col_groups:
            union = (cg[0], rg[0], cg[-1] + win_w - cg[0], rg[-1] + win_h - rg[0])
            windows = [(c, r, win_w, win_h) for r in rg for c in cg]
            jobs.append(TileJob(scene, info, config, str(out), union, windows))
    return jobs


def _chunk(starts: List[int], size: int, max_extent: int) -> List[List[int]]:
    """Consecutive window starts in as few groups as keep every group's extent (first start to last window's end)
    <= ``max_extent``, with the windows spread evenly over the groups (equal jobs: no worker is left with a big one
    at the end while the other idles)."""
    for count in range(1, len(starts) + 1):
        groups = [list(g) for g in np.array_split(np.asarray(starts), count)]
        if all(g[-1] + size - g[0] <= max_extent for g in groups):
            return [[int(v) for v in g] for g in groups]
    return [[s] for s in starts]
