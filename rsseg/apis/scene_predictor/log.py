"""The predictor's log: the ``rsseg`` logger and the one line it writes per scene."""
from typing import Optional, Tuple

from mmengine.logging import MMLogger, print_log

from rsseg.geo.working_grid import SceneHeader

from .result import SceneResult

LOGGER_NAME = 'rsseg'


def get_logger() -> MMLogger:
    """The ``rsseg`` logger (tools/infer.py configures it first, e.g. to show every rank's lines)."""
    if MMLogger.check_instance_created(LOGGER_NAME):
        return MMLogger.get_instance(LOGGER_NAME)
    return MMLogger.get_instance(LOGGER_NAME, log_level='INFO')


def log_scene(result: SceneResult, info: SceneHeader, factor: Optional[Tuple[float, float]],
              gsd: Optional[float]) -> None:
    """One log line per scene: size, time, throughput, model share, windows (``gsd``: the working grid's, if any)."""
    s = result.stats
    grid = 'scene grid' if factor is None else f'resampled x{1 / factor[0]:.2f} to {gsd:g} m GSD'
    print_log(f'{info.path.name}: {info.width}x{info.height} px ({grid}) in {result.seconds:.1f} s, '
              f'{result.megapixels / max(result.seconds, 1e-9):.2f} MP/s, model {s["forward_s"]:.1f} s '
              f'({s["forward_s"] / max(result.seconds, 1e-9):.0%}), {int(s["windows"])} windows '
              f'({int(s["skipped_windows"])} nodata-only skipped) -> {result.output}', logger=get_logger())
