"""Class-weighted cross-entropy that survives ignored pixels and reduces like the ST-DASegNet reference."""
from typing import Optional, Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class ClassWeightedCELoss(nn.Module):
    """Drop-in ``loss_decode``: per-class weighted CE where ``ignore_index`` pixels contribute nothing.

    mmseg 1.2.2's ``CrossEntropyLoss(class_weight=...)`` indexes the weight list with every label value, so one
    ignored (255) pixel raises ``IndexError`` (a device-side assert on GPU; mmsegmentation #3734), and without 255s
    it divides by the summed weights of the labelled pixels. The ST-DASegNet reference (mmseg 0.x) divides the
    weighted per-pixel loss by the number of pixels, ignored ones included; ``avg_non_ignore=True`` divides by the
    number of non-ignored pixels instead.

    ``loss = loss_weight * sum_p(w[y_p] * m_p * CE_p) / D``, ``m_p`` the optional per-pixel weight, ``D`` = all
    pixels (default) or the non-ignored ones.

    Args:
        class_weight: One weight per class, or None for 1.
        loss_weight: Multiplier of the loss.
        avg_non_ignore: Average over non-ignored pixels instead of all pixels.
        loss_name: Name in loss dicts (``loss_ce``, as mmseg's).
    """

    def __init__(self, class_weight: Optional[Sequence[float]] = None, loss_weight: float = 1.0,
                 avg_non_ignore: bool = False, loss_name: str = 'loss_ce') -> None:
        super().__init__()
        self.class_weight = [float(w) for w in class_weight] if class_weight is not None else None
        self.loss_weight = loss_weight
        self.avg_non_ignore = avg_non_ignore
        self._loss_name = loss_name

    def forward(self, cls_score: Tensor, label: Tensor, weight: Optional[Tensor] = None,
                ignore_index: int = 255, **kwargs) -> Tensor:
        """Weighted CE of (N, C, H, W) logits against (N, H, W) labels; ``weight`` is an optional (N, H, W)."""
        if cls_score.shape[-2:] != label.shape[-2:]:
            raise ValueError(f'logits {tuple(cls_score.shape)} and labels {tuple(label.shape)} differ in size')
        num_classes = cls_score.shape[1]
        if self.class_weight is not None and len(self.class_weight) != num_classes:
            raise ValueError(f'{type(self).__name__}: class_weight has {len(self.class_weight)} values for '
                             f'{num_classes} classes')
        cw = cls_score.new_tensor(self.class_weight).float() if self.class_weight is not None else None
        loss = F.cross_entropy(cls_score.float(), label.long(), weight=cw, reduction='none',
                               ignore_index=ignore_index)
        if weight is not None:
            loss = loss * weight.float()
        denom = (label != ignore_index).sum().clamp(min=1) if self.avg_non_ignore else label.numel()
        return self.loss_weight * loss.sum() / denom

    @property
    def loss_name(self) -> str:
        """Name of this loss in loss dicts."""
        return self._loss_name
