"""Training hooks."""
from .ema_teacher_hook import EMATeacherHook
from .raster_visualization_hook import RasterVisualizationHook

__all__ = ['EMATeacherHook', 'RasterVisualizationHook']
