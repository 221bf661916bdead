"""Window plans: where windows start along an axis, and the windows tiling a raster (no I/O).

Both plans place ``window_count`` windows (one every ``stride`` pixels, enough to reach the end), the first at 0
and the last ending exactly at the raster's right / bottom edge, every window fully inside the raster (no padding,
no overhang as torchgeo's samplers allow), no two equal. They differ in where the slack goes:

* :func:`end_aligned_starts` (chips, the tiler; mmseg's ``slide_inference``): windows start every ``stride`` pixels
  and only the last one is shifted back to end at the edge, so the last two may overlap by more than
  ``window - stride``; chips stay on a regular ``stride`` lattice.
* :func:`spread_starts` (the scene predictor): the step shrinks evenly to ``(size - window) / (n - 1) <= stride``,
  so every overlap is about the requested one: blending is uniform and the band of rows two window rows share (which
  :class:`~rsseg.geo.blend.BlendAccumulator` holds at full width) stays ``~ window - stride`` rows everywhere.

A raster smaller than the window along an axis gives a single window of the raster's size along that axis (the
window is clipped, never padded); callers that need a fixed chip size pad themselves.
"""
import math
from typing import List, Sequence, Tuple, Union, cast

from rasterio.windows import Window

Size2 = Union[int, Sequence[int]]


def size_pair(value: Size2, name: str) -> Tuple[int, int]:
    """An int or an ``(h, w)`` pair as ``(h, w)``, checked positive (chip, stride and window sizes)."""
    pair: Tuple[int, ...]
    if isinstance(value, (int,)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    else:
        # a bool is an int to mypy but lands here (and fails to iterate, as it should)
        pair = tuple(int(v) for v in cast(Sequence[int], value))
        if len(pair) != 2:
            raise ValueError(f'{name} must be an int or an (h, w) pair, got {value!r}')
    if min(pair) <= 0:
        raise ValueError(f'{name} must be positive, got {value!r}')
    return pair[0], pair[1]


def window_count(size: int, window: int, stride: int) -> int:
    """Windows along an axis of ``size`` pixels: one every ``stride``, enough that the last reaches the end."""
    if size <= 0:
        raise ValueError(f'raster size must be positive, got {size}')
    return 1 if size <= window else math.ceil((size - window) / stride) + 1


def end_aligned_starts(size: int, window: int, stride: int) -> List[int]:
    """Offsets every ``stride`` pixels, the last shifted back to end at ``size`` (see the module docstring).

    Args:
        size: Raster size along the axis (pixels).
        window: Window size along the axis.
        stride: Step between window starts; ``stride <= window`` so that no pixel is skipped.

    Returns:
        Increasing, unique offsets; the last one is ``size - window`` (or ``[0]`` when ``size <= window``).
    """
    return [min(i * stride, max(size - window, 0)) for i in range(window_count(size, window, stride))]


def spread_starts(size: int, window: int, stride: int) -> List[int]:
    """As many offsets as :func:`end_aligned_starts`, spread evenly from 0 to ``size - window`` (module docstring)."""
    count = window_count(size, window, stride)
    return [0] if count == 1 else [round(i * (size - window) / (count - 1)) for i in range(count)]


def iter_windows(width: int, height: int, chip: Size2, stride: Size2) -> List[Window]:
    """Windows tiling a ``width`` x ``height`` raster, row-major (top row first, left to right).

    Args:
        width: Raster width in pixels.
        height: Raster height in pixels.
        chip: Window size, an int or ``(h, w)``.
        stride: Step between windows, an int or ``(h, w)``; must not exceed ``chip`` (gaps would drop pixels).

    Returns:
        Windows fully inside the raster covering every pixel once or more, at :func:`end_aligned_starts`; windows
        are ``min(chip, size)`` pixels along each axis.

    Raises:
        ValueError: Non-positive sizes or a stride larger than the chip.
    """
    chip_h, chip_w = size_pair(chip, 'chip')
    stride_h, stride_w = size_pair(stride, 'stride')
    if stride_h > chip_h or stride_w > chip_w:
        raise ValueError(f'stride {(stride_h, stride_w)} is larger than chip {(chip_h, chip_w)}: '
                         'pixels between windows would be skipped')
    win_h, win_w = min(chip_h, int(height)), min(chip_w, int(width))
    rows = end_aligned_starts(int(height), chip_h, stride_h)
    cols = end_aligned_starts(int(width), chip_w, stride_w)
    return [Window(col, row, win_w, win_h) for row in rows for col in cols]


def grid_shape(width: int, height: int, chip: Size2, stride: Size2) -> Tuple[int, int]:
    """Number of window ``(rows, cols)`` :func:`iter_windows` gives for a raster."""
    chip_h, chip_w = size_pair(chip, 'chip')
    stride_h, stride_w = size_pair(stride, 'stride')
    return window_count(int(height), chip_h, stride_h), window_count(int(width), chip_w, stride_w)
