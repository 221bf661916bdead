"""Blending overlapping window predictions into a seamless map, holding only what pending windows still touch (no I/O).

Each window's class probabilities are multiplied by a weight that is high in the window's centre and low near its
edges, summed, and divided by the summed weights. Predictions near a window edge (where the model saw zero padding
instead of context) hence count little next to a neighbouring window that saw the pixel in its centre, so window
borders leave no seams. Along the *scene* border there is no neighbouring window: the weight profile stays flat
(1.0) on that side, so border pixels are neither darkened nor left to a near-zero weight.

The window grid cuts the raster into cells (runs of rows and of columns covered by the same windows).
:class:`BlendAccumulator` keeps sums only for cells that a pending window can still touch and turns a cell into
classes as soon as its last window is in, so memory is about ``num_classes x overlap rows x width`` floats (the band
shared with the next window row) plus a few windows, independent of the scene's height.
"""
from bisect import bisect_left
from functools import lru_cache
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np

BLEND_MODES = ('hann', 'pyramid', 'uniform')


def _profile(size: int, mode: str, low_border: bool, high_border: bool) -> np.ndarray:
    """One axis of a window weight: positive everywhere, 1.0 at the centre, flat on a side that touches the border.

    Args:
        size: Window size along the axis.
        mode: ``'hann'`` (``sin^2(pi (i + 0.5) / size)``), ``'pyramid'`` (linear ramp) or ``'uniform'`` (all ones,
            mmseg's ``slide_inference`` average).
        low_border: The window starts at the scene's first row/column.
        high_border: The window ends at the scene's last row/column.
    """
    i = np.arange(size, dtype=np.float64)
    if mode == 'hann':
        prof = np.sin(np.pi * (i + 0.5) / size) ** 2
    elif mode == 'pyramid':
        prof = (np.minimum(i, size - 1 - i) + 1.0) / ((size + 1) // 2)
    elif mode == 'uniform':
        prof = np.ones(size)
    else:
        raise ValueError(f'unknown blend mode {mode!r}; choose one of {BLEND_MODES}')
    prof = prof / prof.max()
    centre = size // 2
    if low_border:
        prof[:centre] = 1.0
    if high_border:
        prof[centre:] = 1.0
    return prof.astype(np.float32)


@lru_cache(maxsize=64)
def window_weights(height: int, width: int, mode: str = 'hann',
                   border: Tuple[bool, bool, bool, bool] = (False, False, False, False)) -> np.ndarray:
    """Blending weight of a window, the outer product of two 1-D profiles.

    Args:
        height: Window height.
        width: Window width.
        mode: ``'hann'``, ``'pyramid'`` or ``'uniform'``.
        border: Whether the window touches the scene's ``(top, bottom, left, right)`` edge; the weight stays 1.0
            towards a touched edge (border-aware blending: the scene border is not darkened).

    Returns:
        (height, width) float32 weights in ``(0, 1]``; read-only (cached).
    """
    top, bottom, left, right = border
    weights = np.outer(_profile(height, mode, top, bottom), _profile(width, mode, left, right))
    weights.setflags(write=False)
    return weights


def border_flags(row: int, col: int, height: int, width: int, scene_height: int,
                 scene_width: int) -> Tuple[bool, bool, bool, bool]:
    """``(top, bottom, left, right)`` flags of a window at ``(row, col)`` for :func:`window_weights`."""
    return (row == 0, row + height >= scene_height, col == 0, col + width >= scene_width)


def segments(size: int, starts: Sequence[int], window: int) -> Tuple[List[int], List[int]]:
    """Cut one axis where windows start or end.

    Args:
        size: Raster size along the axis.
        starts: Window offsets along the axis (increasing; windows of ``min(window, size)`` pixels).
        window: Window size.

    Returns:
        ``(cuts, last)``: segment ``k`` is ``[cuts[k], cuts[k + 1])``; ``last[k]`` is the index of the last window
        covering it.
    """
    win = min(window, size)
    cuts = sorted({0, size, *starts, *(s + win for s in starts)})
    last = [max(j for j, s in enumerate(starts) if s < b and s + win > a) for a, b in zip(cuts[:-1], cuts[1:])]
    return cuts, last


class BlendAccumulator:
    """Blend window probabilities on a fixed grid and emit finished rows in order, holding only live cells.

    Windows are numbered row-major over ``rows x cols`` and must be added in that order (a window that is skipped is
    simply not added). After :meth:`advance` to index ``i``, every cell whose last covering window is ``<= i`` is
    final: it becomes class indices (``argmax`` of the weighted sums) and confidences (``max / weight sum``) and its
    sums are freed; rows are emitted once all their cells are final.

    Args:
        height: Raster height.
        width: Raster width.
        rows: Window row offsets (:mod:`rsseg.geo.tiling`: ``spread_starts`` or ``end_aligned_starts``).
        cols: Window column offsets.
        window: ``(height, width)`` of the windows (clipped to the raster).
        num_classes: Number of probability channels.
        nodata: Class index where no valid pixel was predicted (confidence 0 there).
    """

    def __init__(self, height: int, width: int, rows: Sequence[int], cols: Sequence[int], window: Tuple[int, int],
                 num_classes: int, nodata: int = 255) -> None:
        if num_classes > nodata:
            raise ValueError(f'{num_classes} classes do not fit a uint8 class map with nodata {nodata}')
        self.height, self.width, self.num_classes, self.nodata = height, width, num_classes, nodata
        self.win_h, self.win_w = min(window[0], height), min(window[1], width)
        self.rows, self.cols = list(rows), list(cols)
        self.row_cuts, row_last = segments(height, self.rows, window[0])
        self.col_cuts, col_last = segments(width, self.cols, window[1])
        ncols = len(self.cols)
        self._order = sorted((rl * ncols + cl, rk, ck) for rk, rl in enumerate(row_last)
                             for ck, cl in enumerate(col_last))
        self._next = 0                       # position in _order of the first cell not yet final
        self._cells: Dict[Tuple[int, int], List[np.ndarray]] = {}
        self._staged: Dict[int, List[np.ndarray]] = {}
        self._final_per_row = [0] * (len(self.row_cuts) - 1)
        self._emit_row = 0                   # first row segment not emitted yet
        self.live_bytes = self.peak_bytes = 0

    def add(self, probs: np.ndarray, weight: np.ndarray, valid: np.ndarray, row: int, col: int) -> None:
        """Add one window.

        Args:
            probs: (C, h, w) probabilities *already multiplied* by ``weight``.
            weight: (h, w) blending weight of the window.
            valid: (h, w) input validity; pixels invalid in every window become nodata.
            row: Window's first row (one of ``rows``).
            col: Window's first column (one of ``cols``).
        """
        h, w = weight.shape
        rk0, rk1 = bisect_left(self.row_cuts, row), bisect_left(self.row_cuts, row + h)
        ck0, ck1 = bisect_left(self.col_cuts, col), bisect_left(self.col_cuts, col + w)
        for rk in range(rk0, rk1):
            r0, r1 = self.row_cuts[rk] - row, self.row_cuts[rk + 1] - row
            for ck in range(ck0, ck1):
                c0, c1 = self.col_cuts[ck] - col, self.col_cuts[ck + 1] - col
                sums, wsum, ok = self._cell(rk, ck)
                sums += probs[:, r0:r1, c0:c1]
                wsum += weight[r0:r1, c0:c1]
                ok |= valid[r0:r1, c0:c1]

    def _cell(self, rk: int, ck: int) -> List[np.ndarray]:
        """The sums of cell ``(rk, ck)``, allocated on first use."""
        cell = self._cells.get((rk, ck))
        if cell is None:
            shape = (self.row_cuts[rk + 1] - self.row_cuts[rk], self.col_cuts[ck + 1] - self.col_cuts[ck])
            cell = [np.zeros((self.num_classes, *shape), np.float32), np.zeros(shape, np.float32),
                    np.zeros(shape, bool)]
            self._cells[(rk, ck)] = cell
            self._count(sum(a.nbytes for a in cell))
        return cell

    def _count(self, nbytes: int) -> None:
        self.live_bytes += nbytes
        self.peak_bytes = max(self.peak_bytes, self.live_bytes)

    def advance(self, index: int) -> Iterator[Tuple[int, np.ndarray, np.ndarray]]:
        """Declare windows ``0..index`` (row-major) done and yield the rows that became final.

        Yields:
            ``(row, classes, confidence)`` in row order, each row once: uint8 class indices (``nodata`` where
            invalid) and float16 maximum probability (0 where invalid), each (n, width).
        """
        while self._next < len(self._order) and self._order[self._next][0] <= index:
            _, rk, ck = self._order[self._next]
            self._finish(rk, ck)
            self._next += 1
        while self._emit_row < len(self._final_per_row) and \
                self._final_per_row[self._emit_row] == len(self.col_cuts) - 1:
            classes, conf = self._staged.pop(self._emit_row)
            self._count(-classes.nbytes - conf.nbytes)
            yield self.row_cuts[self._emit_row], classes, conf
            self._emit_row += 1

    def _finish(self, rk: int, ck: int) -> None:
        """Turn cell ``(rk, ck)`` into classes and confidences in its row segment's staging rows."""
        if rk not in self._staged:
            rows = self.row_cuts[rk + 1] - self.row_cuts[rk]
            self._staged[rk] = [np.full((rows, self.width), self.nodata, np.uint8),
                                np.zeros((rows, self.width), np.float16)]   # 5e-4 resolution is plenty for a confidence
            self._count(sum(a.nbytes for a in self._staged[rk]))
        classes, conf = self._staged[rk]
        c0, c1 = self.col_cuts[ck], self.col_cuts[ck + 1]
        cell = self._cells.pop((rk, ck), None)
        if cell is not None:
            sums, wsum, valid = cell
            ok = valid & (wsum > 0)
            cls = sums.argmax(axis=0).astype(np.uint8)
            cls[~ok] = self.nodata
            classes[:, c0:c1] = cls
            conf[:, c0:c1] = np.divide(sums.max(axis=0), wsum, out=np.zeros_like(wsum), where=ok)
            self._count(-sum(a.nbytes for a in cell))
        self._final_per_row[rk] += 1

    @property
    def done(self) -> bool:
        """Whether every row has been emitted."""
        return self._emit_row == len(self._final_per_row)
