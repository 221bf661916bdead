"""Grid math for chips and sliding windows (no I/O).

Last-window policy (the same as mmseg's ``slide_inference``): windows start every ``stride`` pixels; the last window of
each row and column is shifted back so that it ends exactly at the raster's right / bottom edge. Hence

* every pixel is covered (nothing at the right/bottom edge is dropped),
* every window lies fully inside the raster (no padding, no overhang as torchgeo's samplers allow),
* no two windows are equal (the shifted window is only added when it is not already a regular one),
* the last two windows of a row may overlap by more than ``chip - stride``.

A raster smaller than the chip along an axis gives a single window of the raster's size along that axis (the chip is
clipped, never padded); callers that need a fixed chip size pad themselves.
"""
import math
from typing import List, Sequence, Tuple, Union

from rasterio.windows import Window

Size2 = Union[int, Sequence[int]]


def _pair(value: Size2, name: str) -> Tuple[int, int]:
    """Turn an int or an ``(h, w)`` pair into ``(h, w)`` and check it is positive."""
    if isinstance(value, (int,)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        pair = tuple(int(v) for v in value)
        if len(pair) != 2:
            raise ValueError(f'{name} must be an int or an (h, w) pair, got {value!r}')
    if min(pair) <= 0:
        raise ValueError(f'{name} must be positive, got {value!r}')
    return pair  # type: ignore[return-value]


def window_starts(size: int, chip: int, stride: int) -> List[int]:
    """Offsets of the windows along one axis.

    Args:
        size: Raster size along the axis (pixels).
        chip: Window size along the axis.
        stride: Step between window starts; ``stride <= chip`` so that no pixel is skipped.

    Returns:
        Increasing, unique offsets; the last one is ``size - chip`` (or ``[0]`` when ``size <= chip``).
    """
    if size <= 0:
        raise ValueError(f'raster size must be positive, got {size}')
    if size <= chip:
        return [0]
    count = math.ceil((size - chip) / stride) + 1
    return [min(i * stride, size - chip) for i in range(count)]


def iter_windows(width: int, height: int, chip: Size2, stride: Size2) -> List[Window]:
    """Windows tiling a ``width`` x ``height`` raster, row-major (top row first, left to right).

    Args:
        width: Raster width in pixels.
        height: Raster height in pixels.
        chip: Window size, an int or ``(h, w)``.
        stride: Step between windows, an int or ``(h, w)``; must not exceed ``chip`` (gaps would drop pixels).

    Returns:
        Windows fully inside the raster covering every pixel exactly once or more; see the module docstring for the
        last-window policy. Windows are ``min(chip, size)`` pixels along each axis.

    Raises:
        ValueError: Non-positive sizes or a stride larger than the chip.
    """
    chip_h, chip_w = _pair(chip, 'chip')
    stride_h, stride_w = _pair(stride, 'stride')
    if stride_h > chip_h or stride_w > chip_w:
        raise ValueError(f'stride {(stride_h, stride_w)} is larger than chip {(chip_h, chip_w)}: '
                         'pixels between windows would be skipped')
    win_h, win_w = min(chip_h, int(height)), min(chip_w, int(width))
    rows = window_starts(int(height), chip_h, stride_h)
    cols = window_starts(int(width), chip_w, stride_w)
    return [Window(col, row, win_w, win_h) for row in rows for col in cols]


def grid_shape(width: int, height: int, chip: Size2, stride: Size2) -> Tuple[int, int]:
    """Number of window ``(rows, cols)`` :func:`iter_windows` gives for a raster."""
    chip_h, chip_w = _pair(chip, 'chip')
    stride_h, stride_w = _pair(stride, 'stride')
    return (len(window_starts(int(height), chip_h, stride_h)), len(window_starts(int(width), chip_w, stride_w)))
