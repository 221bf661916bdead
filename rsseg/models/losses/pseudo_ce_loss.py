"""Cross-entropy on pseudo-labels with per-pixel weights (ST-DASegNet's self-training loss)."""
from typing import Optional, Sequence

from mmseg.registry import MODELS

from .weighted_ce_loss import ClassWeightedCELoss


@MODELS.register_module()
class PseudoLabelCELoss(ClassWeightedCELoss):
    """Pixel-weighted, class-weighted CE on pseudo-labels, averaged over all pixels (ignored ones contribute 0).

    The reduction of :class:`ClassWeightedCELoss`, which is what the reference's mmseg ``CrossEntropyLoss`` does
    with a ``weight`` argument; only the defaults differ.

    Args:
        class_weight: Per-class CE weights, or None. The segmentor fills it from the branch's decode-head
            ``loss_decode.class_weight`` when left None in the config (as the reference reuses the head's loss).
        loss_weight: Multiplier (0.25 in ST-DASegNet).
        loss_name: Name in loss dicts (``loss_pseudo``).
    """

    def __init__(self, class_weight: Optional[Sequence[float]] = None, loss_weight: float = 0.25,
                 loss_name: str = 'loss_pseudo') -> None:
        super().__init__(class_weight=class_weight, loss_weight=loss_weight, loss_name=loss_name)
