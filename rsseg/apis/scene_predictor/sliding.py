"""The sliding-window loop: windows through the model in batches, blended into rows finished in order.

Softmax probabilities are blended with Hann (or pyramid) weights in a :class:`~rsseg.geo.blend.BlendAccumulator`
that holds only the cells a pending window can still touch (about the overlap band of one window row), so memory
does not grow with the scene's height. Reading and blending run in background threads (:mod:`.reader`,
:mod:`.threads`), so the calling thread runs the model and nothing else.
"""
import time
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Dict, List, Optional, Tuple

import numpy as np

from rsseg.geo.blend import BlendAccumulator, border_flags, window_weights
from rsseg.geo.normalization import NormStats
from rsseg.geo.tiling import spread_starts

from .memory import release_free_memory
from .reader import ReadFn, WindowGrid, read_batches
from .threads import Consumer, Producer

RowSink = Callable[[int, np.ndarray, np.ndarray], None]
Forward = Callable[[np.ndarray, Optional[np.ndarray]], np.ndarray]


def window_grid(height: int, width: int, window: int, stride: int) -> WindowGrid:
    """Window row and column offsets (evenly spread, all inside the raster) and the window size."""
    rows, cols = spread_starts(height, window, stride), spread_starts(width, window, stride)
    return rows, cols, min(window, height), min(window, width)


@dataclass
class SlidingWindows:
    """Sliding-window prediction of one working grid with a model's ``forward``.

    Attributes:
        forward: ``(batch, weights) -> weighted probabilities`` (:meth:`ScenePredictor.forward`).
        window: Window size in pixels.
        stride: Step between windows.
        batch_size: Windows per model call.
        blend: Blending weights (:data:`~rsseg.geo.blend.BLEND_MODES`).
        num_classes: Classes the model predicts.
        ignore_index: Class-map nodata.
        prefetch: Batches read ahead by the reader thread.
        progress: Show a tqdm bar over the windows.
    """

    forward: Forward
    window: int
    stride: int
    batch_size: int
    blend: str
    num_classes: int
    ignore_index: int
    prefetch: int
    progress: bool

    def run(self, open_reader: Callable[[], ContextManager[ReadFn]], height: int, width: int, stats: NormStats,
            sink: RowSink) -> Dict[str, float]:
        """Predict a ``height`` x ``width`` working grid; finished rows go to ``sink``. Returns timings.

        Args:
            open_reader: Called in the reader thread; a context manager giving ``read(row, col, h, w) -> (data,
                valid)`` on the working grid (each thread its own file handle).
            height: Working grid height.
            width: Working grid width.
            stats: Normalisation to float32 [0, 1].
            sink: Called with ``(row, classes, confidence)`` for finished rows, in row order.

        Timings: ``forward_s`` (model), ``blend_s`` (blending, rows finished), ``read_s`` and ``normalise_s`` (in the
        reader thread, overlapping the others).
        """
        from tqdm import tqdm
        grid = window_grid(height, width, self.window, self.stride)
        rows, cols, win_h, win_w = grid
        acc = BlendAccumulator(height, width, rows, cols, (win_h, win_w), max(self.num_classes, 2),
                               self.ignore_index)
        counters = dict(forward_s=0.0, windows=float(len(rows) * len(cols)), skipped_windows=0.0, batches=0.0,
                        read_s=0.0, normalise_s=0.0, blend_s=0.0)
        bar = tqdm(total=len(rows) * len(cols), desc='windows', unit='win', leave=False, disable=not self.progress)
        reader = Producer(lambda: read_batches(open_reader, grid, self.batch_size, stats, counters), self.prefetch)
        blender = Consumer(name='rsseg-blender')  # blending and finished rows, off the model's thread
        try:
            for positions, data, valids, upto, skipped in reader:
                probs, weights = self._forward(positions, data, height, width, counters)
                blender.submit(self._blend, acc, positions, probs, weights, valids, upto, skipped, sink, counters,
                               bar)
        except BaseException:
            blender.close(raise_error=False)
            raise
        finally:
            reader.close()
            bar.close()
        blender.close()
        counters['blend_peak_mb'] = acc.peak_bytes / 2 ** 20
        return counters

    def _forward(self, positions: List[Tuple[int, int]], data: Optional[np.ndarray], height: int, width: int,
                 counters: Dict[str, float]) -> Tuple[Optional[np.ndarray], List[np.ndarray]]:
        """Weighted class probabilities of one batch (None for a batch without windows) and the windows' weights."""
        if not positions or data is None:
            return None, []
        h, w = data.shape[2:]
        weights = [window_weights(h, w, self.blend, border_flags(r, c, h, w, height, width)) for r, c in positions]
        tic = time.perf_counter()
        probs = self.forward(data, np.stack(weights))
        counters['forward_s'] += time.perf_counter() - tic
        counters['batches'] += 1
        return probs, weights

    @staticmethod
    def _blend(acc: BlendAccumulator, positions: List[Tuple[int, int]], probs: Optional[np.ndarray],
               weights: List[np.ndarray], valids: List[np.ndarray], upto: int, skipped: int, sink: RowSink,
               counters: Dict[str, float], bar: Any) -> None:
        """Blender thread: add a batch's windows to ``acc`` and hand the rows it finished to ``sink``."""
        tic = time.perf_counter()
        for (row, col), prob, weight, valid in zip(positions, probs if probs is not None else [], weights, valids):
            acc.add(prob, weight, valid, row, col)
        emitted = 0
        for row, classes, conf in acc.advance(upto):
            counters['blend_s'] += time.perf_counter() - tic
            sink(row, classes, conf)
            emitted += 1
            tic = time.perf_counter()
        counters['blend_s'] += time.perf_counter() - tic
        if emitted:
            release_free_memory()
        counters['skipped_windows'] += skipped
        bar.update(len(positions) + skipped)
