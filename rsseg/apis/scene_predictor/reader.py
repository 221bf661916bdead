"""The reader thread's work: windows of the working grid read, normalised and batched, nodata-only windows skipped."""
import time
from typing import Callable, ContextManager, Dict, Iterator, List, Tuple

import numpy as np

from rsseg.geo.normalization import NormStats

ReadFn = Callable[[int, int, int, int], Tuple[np.ndarray, np.ndarray]]
WindowGrid = Tuple[List[int], List[int], int, int]


def read_batches(open_reader: Callable[[], ContextManager[ReadFn]], grid: WindowGrid, batch_size: int,
                 stats: NormStats, timings: Dict[str, float]) -> Iterator[tuple]:
    """Reader thread: ``(positions, data, valids, upto, skipped)`` batches of windows with valid pixels.

    ``grid`` is ``(rows, cols, win_h, win_w)``. ``upto`` is the row-major index of the last window read (every window
    up to it is in this or an earlier batch, or was skipped); ``skipped`` counts windows without any valid pixel since
    the previous batch. The last item may hold no windows. The first and the last window go alone, so the model
    starts after one read, not ``batch_size``, and only one window is left to blend after the model's last call.
    Seconds spent reading and normalising are added to ``timings`` (``read_s``, ``normalise_s``).
    """
    rows, cols, win_h, win_w = grid
    pending: List[tuple] = []
    skipped, size, last = 0, 1, len(rows) * len(cols) - 1
    with open_reader() as read:
        for index, (row, col) in enumerate((r, c) for r in rows for c in cols):
            tic = time.perf_counter()
            data, valid = read(row, col, win_h, win_w)
            toc = time.perf_counter()
            timings['read_s'] += toc - tic
            if not valid.any():
                skipped += 1
                continue
            img = stats.apply(data)
            img[:, ~valid] = 0.0                  # as the training loader does
            timings['normalise_s'] += time.perf_counter() - toc
            pending.append(((row, col), img, valid))
            if len(pending) == size or index == last - 1:
                yield _batch(pending, index, skipped)
                pending, skipped, size = [], 0, batch_size
    yield _batch(pending, last, skipped)


def _batch(pending: List[tuple], upto: int, skipped: int) -> tuple:
    """One batch item: the windows' positions, stacked data (None when empty), validities, ``upto``, ``skipped``."""
    data = np.stack([p[1] for p in pending]) if pending else None
    return [p[0] for p in pending], data, [p[2] for p in pending], upto, skipped
