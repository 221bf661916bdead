"""Percentile normalisation statistics computed on a sample of a scene (or of a whole domain).

The sample is a fixed, evenly spread set of windows on the scene's common grid (no randomness, so reruns write the
same sidecar); only valid pixels count. The scene predictor calls :func:`scene_sample` / :func:`stats_from_samples`
with the same arguments for a per-scene model, so training and inference normalise identically.
"""
import math
from typing import List, Optional, Sequence

import numpy as np
import rasterio

from rsseg.formats.files import PathLike

from .io import read_window
from .normalization import NormStats, percentile_stats
from .tiling import iter_windows

SAMPLE_WINDOW = 256
DEFAULT_PERCENTILES = (2.0, 98.0)


def sample_windows(width: int, height: int, max_pixels: int, size: int = SAMPLE_WINDOW) -> list:
    """Evenly spread ``size``-pixel windows over a ``width`` x ``height`` grid totalling about ``max_pixels``."""
    windows = iter_windows(width, height, size, size)
    per_window = windows[0].width * windows[0].height
    keep = max(1, min(len(windows), math.ceil(max_pixels / per_window)))
    picks = np.unique(np.linspace(0, len(windows) - 1, keep).round().astype(int))
    return [windows[i] for i in picks]


def scene_sample(src: rasterio.io.DatasetReader, path: PathLike, bands: Sequence[int], max_pixels: int = 1 << 17,
                 nodata: Optional[float] = None, alpha_is_data: bool = False) -> np.ndarray:
    """Valid pixels (C, N) of a deterministic window sample of a dataset (a file or a warped VRT on the grid).

    Args:
        src: Dataset to sample (read on the common grid, so statistics match the chips).
        path: Its path, for messages.
        bands: 1-based bands, in chip order.
        max_pixels: About how many pixels to read.
        nodata: Nodata override.
        alpha_is_data: Bands tagged alpha hold data (no alpha mask).

    Returns:
        Valid pixels of the sample, at most ``max_pixels`` of them (evenly thinned), in the raster's dtype.
    """
    parts: List[np.ndarray] = []
    for window in sample_windows(src.width, src.height, max_pixels):
        data, valid = read_window(src, path, bands, window, nodata, alpha_is_data)
        parts.append(data[:, valid])
    pixels = np.concatenate(parts, axis=1) if parts else np.zeros((len(bands), 0))
    if np.issubdtype(pixels.dtype, np.floating):
        pixels = pixels[:, np.isfinite(pixels).all(axis=0)]
    if pixels.shape[1] > max_pixels:
        pixels = pixels[:, np.linspace(0, pixels.shape[1] - 1, max_pixels).round().astype(int)]
    return pixels


def stats_from_samples(samples: Sequence[np.ndarray], bands: Sequence[int],
                       percentiles: Sequence[float] = DEFAULT_PERCENTILES, scope: str = 'domain') -> NormStats:
    """Per-band percentile :class:`NormStats` over the concatenated (C, N) samples.

    Raises:
        ValueError: No valid pixel in any sample.
    """
    pixels = np.concatenate([s for s in samples if s.size], axis=1) if any(s.size for s in samples) else None
    if pixels is None or pixels.shape[1] == 0:
        raise ValueError('no valid pixels to compute normalisation statistics from')
    stats = percentile_stats(pixels[:, None, :], np.ones((1, pixels.shape[1]), bool), percentiles, bands, scope)
    stats.dtype = np.dtype(samples[0].dtype).name
    return stats
