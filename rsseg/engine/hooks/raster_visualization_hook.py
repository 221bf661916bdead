"""Prediction overlays for rasters of any band count and bit depth."""
from typing import Sequence

import numpy as np
from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from rsseg.datasets.transforms.loading import LoadRasterImage


@HOOKS.register_module()
class RasterVisualizationHook(SegVisualizationHook):
    """mmseg's ``SegVisualizationHook`` reading images through rasterio.

    mmseg's hook decodes images with OpenCV, which turns a 4-band uint16 GeoTIFF into grey 8-bit noise; this one reads
    the display bands with the training loader (same normalisation sidecar) and draws the overlay with the dataset's
    class names and palette.

    Args:
        display_bands: 0-based indices of the loaded bands to show as RGB (e.g. ``(0, 1, 2)`` for IRRG as false
            colour); a single-band image is shown as grey.
        **kwargs: ``SegVisualizationHook`` arguments (``draw``, ``interval``, ``show``, ``wait_time``).
    """

    def __init__(self, display_bands: Sequence[int] = (0, 1, 2), **kwargs) -> None:
        super().__init__(**kwargs)
        self.display_bands = list(display_bands)

    def _display_image(self, sample: SegDataSample) -> np.ndarray:
        results = LoadRasterImage()(dict(img_path=sample.img_path, norm_stats=sample.metainfo.get('norm_stats')))
        img = results['img']
        bands = [b for b in self.display_bands if b < img.shape[2]] or [0]
        rgb = img[..., bands] if len(bands) == 3 else np.repeat(img[..., bands[:1]], 3, axis=2)
        return np.ascontiguousarray((rgb * 255).round().astype(np.uint8))  # cv2 drawing needs C order

    def _after_iter(self, runner, batch_idx: int, data_batch: dict, outputs: Sequence[SegDataSample],
                    mode: str = 'val') -> None:
        if self.draw is False or mode == 'train' or not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for output in outputs:
            name = f'{mode}_{output.img_path.rsplit("/", 1)[-1]}'
            self._visualizer.add_datasample(name, self._display_image(output), data_sample=output, show=self.show,
                                            wait_time=self.wait_time, step=runner.iter)
