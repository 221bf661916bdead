"""A scene checked against the model before it is read: the bands fed to it and the normalisation that fits them."""
from typing import List, Optional, Sequence

import numpy as np
from mmengine.logging import print_log

from rsseg.formats.errors import GeoError
from rsseg.geo.normalization import NormStats, default_stats
from rsseg.geo.working_grid import SceneHeader

from ..infer_settings import InferSettings
from .log import get_logger


def scene_bands(info: SceneHeader, settings: InferSettings, bands_override: Optional[List[int]],
                in_channels: Optional[int]) -> List[int]:
    """Scene bands to read; refuses a scene whose band count does not fit the model."""
    bands = bands_override or settings.bands or list(range(1, info.count + 1))
    bad = [b for b in bands if not 1 <= b <= info.count]
    if bad:
        raise GeoError(info.path, f'the model reads band(s) {bands} ({settings.source}) but the scene has '
                                  f'{info.count} band(s)')
    if in_channels is not None and len(bands) != in_channels:
        raise GeoError(info.path, f'the scene gives {len(bands)} band(s) ({bands}) but the model was trained on '
                                  f'{in_channels}; select bands with --bands')
    return bands


def scene_norm_stats(info: SceneHeader, bands: Sequence[int], settings: InferSettings) -> NormStats:
    """The recorded normalisation (checked against the band count), else 8-bit scaling."""
    stats = settings.norm_stats
    if stats is None:
        return default_stats(np.dtype(info.dtype), len(bands), str(info.path))
    if len(stats.low) != len(bands):
        raise GeoError(info.path, f'the normalisation statistics cover {len(stats.low)} band(s), the model reads '
                                  f'{len(bands)}')
    if stats.dtype and stats.dtype != info.dtype:
        print_log(f'{info.path}: scene is {info.dtype} but the statistics were computed on {stats.dtype} '
                  'imagery', logger=get_logger(), level=30)
    return stats
