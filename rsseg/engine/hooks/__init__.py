"""Training hooks."""
from .backbone_export_hook import BackboneExportHook
from .ema_teacher_hook import EMATeacherHook
from .raster_visualization_hook import RasterVisualizationHook

__all__ = ['BackboneExportHook', 'EMATeacherHook', 'RasterVisualizationHook']
