"""mmseg's IoU metric with the per-class numbers returned, not only printed."""
from typing import Dict

import numpy as np
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class ClassIoUMetric(IoUMetric):
    """``IoUMetric`` that also returns ``IoU.<class>`` and ``F1.<class>`` (in %, NaN → -1 for absent classes).

    mmseg prints the per-class table to the log only; returning the values puts them into ``scalars.json``, the
    training curves and ``tools/test.py``'s metrics file, where result tables and plots can read them.
    Defaults to ``iou_metrics=['mIoU', 'mFscore']``: per-class IoU, F1 (Fscore), precision and recall.
    """

    def __init__(self, iou_metrics=('mIoU', 'mFscore'), **kwargs) -> None:
        super().__init__(iou_metrics=list(iou_metrics), **kwargs)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        metrics = super().compute_metrics(results)
        if self.format_only:
            return metrics
        areas = [sum(parts) for parts in zip(*results)]
        per_class = self.total_area_to_metrics(*areas, self.metrics, self.nan_to_num, self.beta)
        for name, values in (('IoU', per_class.get('IoU')), ('F1', per_class.get('Fscore'))):
            if values is None:
                continue
            for cls, value in zip(self.dataset_meta['classes'], np.asarray(values, dtype=float)):
                metrics[f'{name}.{cls}'] = -1.0 if np.isnan(value) else round(float(value) * 100, 2)
        return metrics
