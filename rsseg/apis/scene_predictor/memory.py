"""Keeping a scene run's memory bounded: the GDAL block cache it is given and freed heap handed back to the system."""
from typing import Callable, Optional

import numpy as np

from rsseg.geo.working_grid import SceneHeader


def cache_bytes(info: SceneHeader, window: int, stride: int, cache_mb: Optional[int]) -> int:
    """GDAL block cache for a scene: about two window rows of source blocks (32 MiB to 512 MiB), not the scene;
    ``cache_mb`` when given."""
    if cache_mb:
        return int(cache_mb) << 20
    rows = (window + stride) * info.width * info.count * np.dtype(info.dtype).itemsize
    return int(min(512 << 20, max(32 << 20, rows)))


def _libc_trim() -> Callable[[], None]:
    """``malloc_trim(0)`` of glibc (a no-op elsewhere): hand freed heap pages back to the system.

    Each batch allocates and frees tens of MB of tensors and arrays; glibc raises its mmap threshold after such frees
    and then serves them from the heap, whose free pages it keeps. Over thousands of windows that fragmentation, not
    live data, grows the resident size with the scene; trimming once per finished row band keeps it flat.
    """
    try:
        import ctypes
        trim = ctypes.CDLL('libc.so.6').malloc_trim
        return lambda: trim(0) and None
    except (OSError, AttributeError):
        return lambda: None


release_free_memory = _libc_trim()
