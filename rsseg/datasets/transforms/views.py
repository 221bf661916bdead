"""Two augmented views of one image, for self-supervised pretraining."""
import copy
from typing import List

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class TwoViews(BaseTransform):
    """Run ``transforms`` twice on copies of the loaded image and pack both views.

    Required Keys: ``img`` (float32 H×W×C, e.g. from :class:`LoadRasterImage`). Band order is kept: the transforms
    must be band-agnostic (:class:`RSAlbu` with geometric and brightness/contrast/gamma/blur ops is).

    Output: ``inputs`` (2, C, h, w) float32 tensor and ``data_samples`` (``dict(img_path=...)``).

    Args:
        transforms: The view pipeline, e.g. ``[dict(type='RSAlbu', transforms=[dict(type='RandomResizedCrop', ...)])]``.
    """

    def __init__(self, transforms: List[dict]) -> None:
        self.transforms = Compose(transforms)

    def transform(self, results: dict) -> dict:
        views = []
        for _ in range(2):
            view = self.transforms(copy.deepcopy(results))
            views.append(torch.from_numpy(np.ascontiguousarray(view['img'].transpose(2, 0, 1))).float())
        if views[0].shape != views[1].shape:
            raise ValueError(f'TwoViews: the two views of {results.get("img_path")} differ in shape '
                             f'({tuple(views[0].shape)} vs {tuple(views[1].shape)}); end the view pipeline with a '
                             'fixed-size crop')
        return dict(inputs=torch.stack(views), data_samples=dict(img_path=results.get('img_path')))
