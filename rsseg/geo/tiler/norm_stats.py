"""The run's normalisation sidecar(s) for non-8-bit imagery, from the pixels inspection sampled (or a given sidecar).

``OUT/norm_stats.json`` per domain, or ``OUT/norm_stats/<scene>.json`` per scene; sampling and the statistics
themselves: :mod:`rsseg.geo.stats`.
"""
import warnings
from pathlib import Path
from typing import Any, Dict

from ..normalization import NormStats
from ..stats import stats_from_samples
from .config import TileConfig
from .errors import TilerWarning, TilingError
from .report import TileReport
from .scene_plan import ScenePlan


def write_norm_stats(out: Path, infos: Dict[str, ScenePlan], config: TileConfig,
                     report: TileReport) -> Dict[str, Any]:
    """Write the sidecar(s) for non-8-bit imagery; returns manifest fields (``norm_stats``, per-scene map)."""
    if not infos:
        return {}
    dtype = next(iter(infos.values())).dtype
    bands = next(iter(infos.values())).bands
    if config.norm_stats is not None:
        stats = NormStats.load(config.norm_stats)
        if len(stats.low) != len(bands):
            raise TilingError(f'{config.norm_stats}: statistics for {len(stats.low)} band(s), the chips have '
                              f'{len(bands)}')
        stats.save(out / 'norm_stats.json')
        return dict(norm_stats='norm_stats.json')
    if dtype == 'uint8':
        return {}
    samples = {n: i.sample for n, i in infos.items() if i.sample is not None and i.sample.size}
    for info in infos.values():
        info.sample = None  # not shipped to the tiling workers
    if config.norm_scope == 'domain':
        try:
            stats = stats_from_samples(list(samples.values()), bands, config.percentiles, 'domain')
        except ValueError:
            raise TilingError('no valid pixels in any scene to compute normalisation statistics from') from None
        _warn_flat(stats, 'the domain')
        stats.save(out / 'norm_stats.json')
        return dict(norm_stats='norm_stats.json')
    (out / 'norm_stats').mkdir(exist_ok=True)
    by_scene = {}
    for name in infos:
        if name not in samples:
            continue
        stats = stats_from_samples([samples[name]], bands, config.percentiles, 'scene')
        _warn_flat(stats, f'scene {name}')
        stats.save(out / 'norm_stats' / f'{name}.json')
        by_scene[name] = f'norm_stats/{name}.json'
    return dict(norm_stats_by_scene=by_scene)


def _warn_flat(stats: NormStats, where: str) -> None:
    """Warn about bands constant in the sample: normalising them gives 0 or 1 only."""
    flat = [b for b, lo, hi in zip(stats.bands, stats.low, stats.high) if hi <= lo]
    if flat:
        warnings.warn(f'band(s) {flat} are constant in the statistics sample of {where} (low == high == '
                      f'{stats.low[stats.bands.index(flat[0])]:g}); normalised values will be 0 or 1',
                      TilerWarning, stacklevel=3)
