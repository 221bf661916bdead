"""ClassMix (Olsson et al. 2021) as used by DACS (Tranheden et al. 2021): paste half of a source image's classes
onto a target image (pure tensor functions).

For every pair ``(source i, target i)`` of a batch, :func:`classmix_masks` picks ``ceil(n / 2)`` of the ``n`` classes
present in source label ``i`` (DACS's ``(n + n % 2) / 2``; ``ignore_index`` is not a class, so ignored source pixels
are never pasted) and marks the source pixels of those classes. :func:`classmix` then takes image, label and pixel
weight from the source where the mask is set and from the target (its pseudo-label and weight) elsewhere.
"""
from typing import List, NamedTuple, Optional, Tuple

import torch
from torch import Tensor


class ClassMixResult(NamedTuple):
    """Output of :func:`classmix`, all ``(N, ...)`` batch-first.

    Attributes:
        inputs: (N, C, H, W) mixed images.
        labels: (N, H, W) int64 mixed labels (source label on the mask, target pseudo-label elsewhere).
        weights: (N, H, W) per-pixel loss weights (``source_weight`` on the mask, the target weight elsewhere).
        masks: (N, H, W) bool, True where the pixel was pasted from the source.
        classes: One int64 tensor per image: the source classes that were pasted.
    """

    inputs: Tensor
    labels: Tensor
    weights: Tensor
    masks: Tensor
    classes: List[Tensor]


def num_mixed_classes(num_present: int) -> int:
    """How many of ``num_present`` classes are pasted: ``ceil(num_present / 2)`` (DACS's ``(n + n % 2) / 2``).

    Examples: 0 → 0, 1 → 1, 2 → 1, 3 → 2, 5 → 3.
    """
    if num_present < 0:
        raise ValueError(f'number of classes must be >= 0, got {num_present}')
    return (num_present + 1) // 2


def present_classes(label: Tensor, ignore_index: Optional[int] = 255) -> Tensor:
    """Sorted classes occurring in ``label`` (any shape), ``ignore_index`` excluded."""
    classes = torch.unique(label)
    if ignore_index is not None:
        classes = classes[classes != ignore_index]
    return classes


def choose_classes(label: Tensor, ignore_index: Optional[int] = 255,
                   generator: Optional[torch.Generator] = None) -> Tensor:
    """A random subset of :func:`num_mixed_classes` of the classes present in ``label``.

    Args:
        label: (H, W) integer label map.
        ignore_index: Label value that is not a class.
        generator: torch RNG (None: the global one, which mmengine seeds with ``randomness.seed``).

    Returns:
        int64 tensor of the chosen class ids (unordered).
    """
    classes = present_classes(label, ignore_index)
    order = torch.randperm(classes.numel(), generator=generator).to(classes.device)
    return classes[order[:num_mixed_classes(classes.numel())]].long()


def class_mask(label: Tensor, classes: Tensor) -> Tensor:
    """Bool map, True where ``label`` is one of ``classes``."""
    return torch.isin(label, classes.to(label.device, label.dtype))


def classmix_masks(labels: Tensor, ignore_index: Optional[int] = 255,
                   generator: Optional[torch.Generator] = None) -> Tuple[Tensor, List[Tensor]]:
    """ClassMix masks of a batch of source labels.

    Args:
        labels: (N, H, W) (or (N, 1, H, W)) source labels.
        ignore_index: Label value that is not a class.
        generator: torch RNG.

    Returns:
        ``(masks (N, H, W) bool, [chosen classes per image])``.
    """
    labels = _squeeze_labels(labels, 'source labels')
    chosen = [choose_classes(lab, ignore_index, generator) for lab in labels]
    masks = torch.stack([class_mask(lab, cls) for lab, cls in zip(labels, chosen)])
    return masks, chosen


def mix(masks: Tensor, source: Tensor, target: Tensor) -> Tensor:
    """``source`` where ``masks`` is True, ``target`` elsewhere; (N, H, W) masks broadcast over (N, C, H, W) images."""
    if source.shape != target.shape:
        raise ValueError(f'cannot mix source {tuple(source.shape)} with target {tuple(target.shape)}: the paired '
                         'images must have the same size (set the same crop / preprocessor size for both domains)')
    if source.dim() == masks.dim() + 1:
        masks = masks.unsqueeze(1)
    if masks.shape[-2:] != source.shape[-2:] or masks.shape[0] != source.shape[0]:
        raise ValueError(f'mask {tuple(masks.shape)} does not match the tensors {tuple(source.shape)}')
    return torch.where(masks, source, target.to(source.dtype))


def classmix(src_inputs: Tensor, src_labels: Tensor, tgt_inputs: Tensor, tgt_labels: Tensor, tgt_weights: Tensor,
             ignore_index: Optional[int] = 255, source_weight: float = 1.0,
             generator: Optional[torch.Generator] = None) -> ClassMixResult:
    """Paste half of each source image's classes onto its paired target image.

    Args:
        src_inputs: (N, C, H, W) source images.
        src_labels: (N, H, W) or (N, 1, H, W) source labels.
        tgt_inputs: (N, C, H, W) target images.
        tgt_labels: (N, H, W) target pseudo-labels.
        tgt_weights: (N, H, W) target pixel weights (DACS: each image's confident share, on every pixel).
        ignore_index: Label value that is not a class (never pasted).
        source_weight: Weight of pasted source pixels (1 in DACS).
        generator: torch RNG for the class choice.

    Returns:
        A :class:`ClassMixResult`.
    """
    src_labels = _squeeze_labels(src_labels, 'source labels')
    tgt_labels = _squeeze_labels(tgt_labels, 'target pseudo-labels')
    masks, chosen = classmix_masks(src_labels, ignore_index, generator)
    inputs = mix(masks, src_inputs, tgt_inputs)
    labels = mix(masks, src_labels.long(), tgt_labels.long())
    weights = mix(masks, torch.full_like(tgt_weights, source_weight), tgt_weights)
    return ClassMixResult(inputs, labels, weights, masks, chosen)


def _squeeze_labels(labels: Tensor, what: str) -> Tensor:
    if labels.dim() == 4 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.dim() != 3:
        raise ValueError(f'{what} must be (N, H, W) or (N, 1, H, W), got {tuple(labels.shape)}')
    return labels
