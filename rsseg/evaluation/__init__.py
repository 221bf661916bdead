"""Evaluation: mmseg's IoU metric with per-class values returned."""
from .metrics import ClassIoUMetric

__all__ = ['ClassIoUMetric']
