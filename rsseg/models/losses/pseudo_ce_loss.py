"""Cross-entropy on pseudo-labels with per-pixel weights (ST-DASegNet's self-training loss)."""
from typing import Optional, Sequence

import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class PseudoLabelCELoss(nn.Module):
    """Pixel-weighted cross-entropy: ``loss_weight * mean(CE(logits, labels; class_weight) * pixel_weight)``.

    The mean runs over all pixels (ignored ones contribute 0), like mmseg's ``CrossEntropyLoss`` with a ``weight``
    argument and ``avg_non_ignore=False``, which is what the reference passes its pseudo-label weights to.

    Args:
        class_weight: Per-class CE weights, or None. The segmentor fills it from the branch's decode-head
            ``loss_decode.class_weight`` when left None in the config (as the reference reuses the head's loss).
        loss_weight: Multiplier (0.25 in ST-DASegNet).
        loss_name: Name in loss dicts (``loss_pseudo``).
    """

    def __init__(self, class_weight: Optional[Sequence[float]] = None, loss_weight: float = 0.25,
                 loss_name: str = 'loss_pseudo') -> None:
        super().__init__()
        self.class_weight = list(class_weight) if class_weight is not None else None
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, logits: Tensor, labels: Tensor, weight: Optional[Tensor] = None,
                ignore_index: int = 255) -> Tensor:
        """Weighted CE.

        Args:
            logits: (N, C, H, W) logits at label resolution.
            labels: (N, H, W) int64 pseudo-labels.
            weight: (N, H, W) per-pixel weights, or None for 1.
            ignore_index: Label value that contributes nothing.

        Returns:
            Scalar loss.
        """
        if logits.shape[-2:] != labels.shape[-2:]:
            raise ValueError(f'logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ in size')
        cw = logits.new_tensor(self.class_weight).float() if self.class_weight is not None else None
        loss = F.cross_entropy(logits.float(), labels, weight=cw, reduction='none', ignore_index=ignore_index)
        if weight is not None:
            loss = loss * weight.float()
        return loss.mean() * self.loss_weight

    @property
    def loss_name(self) -> str:
        """Name of this loss in loss dicts."""
        return self._loss_name
