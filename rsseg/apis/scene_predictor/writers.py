"""Writing a scene's outputs: the class-map and confidence COG writers, rows handed to them through the writer
thread, and the class map's GIS sidecars (category names, QGIS style)."""
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict

import numpy as np

from rsseg.geo.class_styles import class_colormap, class_sidecars, read_category_names, write_class_sidecars
from rsseg.geo.cog import CogWriter

from ..infer_settings import InferSettings
from .sliding import RowSink
from .threads import Consumer


def open_writer(stack: ExitStack, path: Path, height: int, width: int, crs: Any, transform: Any, kind: str,
                final: bool, settings: InferSettings, compress: str, tags: Dict[str, str]) -> CogWriter:
    """A class-map (``kind='classes'``) or confidence writer entered into ``stack`` (aborted on error); ``final``
    adds overviews (a working-grid output warped back later needs none)."""
    s = settings
    if kind == 'classes':
        kwargs = dict(colormap=class_colormap(s.palette, s.ignore_index), class_names=s.classes,
                      overview_resampling='mode', description='class')
    else:
        kwargs = dict(scale=0.01, overview_resampling='average', description='confidence (percent)')
    writer = CogWriter(path, width, height, crs=crs, transform=transform, nodata=s.ignore_index,
                       compress=compress, tags=tags, overviews=final, **kwargs)
    stack.enter_context(writer)
    return writer


def file_sink(stack: ExitStack, writers: Dict[str, CogWriter], nodata: int, timings: Dict[str, float]) -> RowSink:
    """A row sink writing through a background thread; joined before the writers close. The writer thread's
    seconds go to ``timings['write_s']``."""
    consumer = Consumer()
    stack.callback(consumer.close)
    timings.setdefault('write_s', 0.0)

    def write(writer: CogWriter, row: int, data: np.ndarray) -> None:
        tic = time.perf_counter()
        writer.write_rows(row, data)
        timings['write_s'] += time.perf_counter() - tic

    def sink(row: int, classes: np.ndarray, conf: np.ndarray) -> None:
        consumer.submit(write, writers['classes'], row, classes)
        if 'confidence' in writers:
            percent = np.round(conf * np.float16(100)).astype(np.uint8)
            percent[classes == nodata] = nodata
            consumer.submit(write, writers['confidence'], row, percent)
    return sink


def write_sidecars(class_map: Path, settings: InferSettings, only_missing: bool = False) -> None:
    """The class map's category names and QGIS style (:mod:`rsseg.geo.class_styles`); on resume only if missing
    (a map from an older rsseg, or a run killed between the map and its sidecars)."""
    s = settings
    if only_missing and (read_category_names(class_map) == s.classes
                         and class_sidecars(class_map)['style'].is_file()):
        return
    write_class_sidecars(class_map, s.classes, class_colormap(s.palette, s.ignore_index))
