"""Per-band percentile normalisation stored in a JSON sidecar.

Statistics are computed once per scene or per domain (never per chip) and applied identically by the training
loader and by the scene predictor, so a model sees the same value ranges in both.
"""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np

from rsseg.formats.files import write_json


@dataclass
class NormStats:
    """Linear stretch of each band from ``[low, high]`` to ``[0, 1]`` (clipped).

    Attributes:
        low: Per-band lower bound (e.g. the 2nd percentile), in the raw dtype's units.
        high: Per-band upper bound (e.g. the 98th percentile).
        bands: 1-based source band indices the bounds belong to, in order.
        percentiles: Percentiles the bounds were computed at (informational).
        scope: ``'domain'`` or ``'scene'``: what the statistics were computed over.
        dtype: Raw dtype of the imagery they apply to.
    """

    low: List[float]
    high: List[float]
    bands: List[int] = field(default_factory=list)
    percentiles: List[float] = field(default_factory=lambda: [2.0, 98.0])
    scope: str = 'domain'
    dtype: str = ''

    @classmethod
    def identity_uint8(cls, num_bands: int) -> 'NormStats':
        """Stats mapping 8-bit imagery ``0..255`` to ``0..1``."""
        return cls(low=[0.0] * num_bands, high=[255.0] * num_bands, bands=list(range(1, num_bands + 1)),
                   percentiles=[], scope='dtype', dtype='uint8')

    def apply(self, data: np.ndarray) -> np.ndarray:
        """Map a (C, H, W) array to float32 in ``[0, 1]``."""
        if data.shape[0] != len(self.low):
            raise ValueError(f'normalisation statistics cover {len(self.low)} band(s), the image has {data.shape[0]}')
        low = np.asarray(self.low, np.float32)[:, None, None]
        span = np.maximum(np.asarray(self.high, np.float32)[:, None, None] - low, 1e-6)
        out = (data.astype(np.float32) - low) / span
        return np.clip(out, 0.0, 1.0, out=out)

    def save(self, path: Union[str, Path]) -> None:
        """Write the sidecar completely or not at all (:func:`~rsseg.formats.files.write_json`)."""
        write_json(path, asdict(self), indent=2)

    @classmethod
    def load(cls, path: Union[str, Path]) -> 'NormStats':
        """Read a sidecar written by :meth:`save`."""
        try:
            with open(path) as f:
                return cls(**json.load(f))
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f'{path}: not a readable normalisation sidecar ({exc})') from None


def default_stats(dtype: np.dtype, num_bands: int, path: Optional[str] = None) -> NormStats:
    """Stats to use when none were recorded: only 8-bit imagery has an unambiguous range."""
    if np.dtype(dtype) == np.uint8:
        return NormStats.identity_uint8(num_bands)
    where = f'{path}: ' if path else ''
    raise ValueError(f'{where}{np.dtype(dtype).name} imagery needs normalisation statistics (a norm_stats JSON '
                     'sidecar written by the tiler); refusing to guess a value range')


def percentile_stats(samples: np.ndarray, valid: np.ndarray, percentiles: Sequence[float] = (2.0, 98.0),
                     bands: Optional[Sequence[int]] = None, scope: str = 'domain') -> NormStats:
    """Compute per-band percentile bounds over the valid pixels of a (C, H, W) sample."""
    pixels = samples[:, valid]
    if pixels.size == 0:
        raise ValueError('no valid pixels to compute normalisation statistics from')
    low, high = np.percentile(pixels.astype(np.float64), list(percentiles), axis=1)
    return NormStats(low=low.tolist(), high=high.tolist(),
                     bands=list(bands) if bands else list(range(1, samples.shape[0] + 1)),
                     percentiles=[float(p) for p in percentiles], scope=scope, dtype=samples.dtype.name)
