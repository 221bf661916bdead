"""Pseudo-labels and their per-pixel weights (pure tensor functions): ST-DASegNet's, and the padding mask every
self-training segmentor applies."""
from typing import Optional, Sequence, Tuple

import torch
import torch.distributed as dist
from torch import Tensor

from rsseg.formats.sample_fields import TARGET_LOG_FIELD


def fuse_teacher_probs(logits: Sequence[Tensor], mode: str = 'prob') -> Tensor:
    """Combine the teachers' logits (N, C, H, W each) into one class-probability map.

    Args:
        logits: One logit map per teacher, same shape.
        mode: ``'prob'``: mean of the teachers' softmax (an ensemble of probabilities); ``'logit'``: softmax of the
            mean logits (what the reference code computes).

    Returns:
        (N, C, H, W) probabilities.
    """
    if mode == 'prob':
        return torch.stack([x.softmax(dim=1) for x in logits]).mean(dim=0)
    if mode == 'logit':
        return torch.stack(list(logits)).mean(dim=0).softmax(dim=1)
    raise ValueError(f"pseudo-label fuse mode must be 'prob' or 'logit', got {mode!r}")


def unpadded_mask(data_samples: Sequence, inputs: Tensor) -> Tensor:
    """(N, H, W) bool mask of ``inputs``, False on the padding ``stack_batch`` added right/bottom of images smaller
    than the batch (each sample's ``img_shape``): pseudo-labels there are ``ignore_index`` with weight 0."""
    valid = torch.zeros(inputs.shape[0], *inputs.shape[-2:], dtype=torch.bool, device=inputs.device)
    for i, sample in enumerate(data_samples):
        h, w = sample.metainfo.get('img_shape', inputs.shape[-2:])[:2]
        valid[i, :h, :w] = True
    return valid


def confident_ratio(confidence: Tensor, threshold: float, valid: Optional[Tensor] = None,
                    sync: bool = True) -> Tensor:
    """Share ``r`` of (valid) pixels whose confidence is >= ``threshold``, as a 0-dim float tensor.

    With ``sync`` and an initialised process group the counts are summed over all ranks first, so ``r`` is the share
    over the global batch and data-parallel training computes exactly what one process with the whole batch would.
    """
    valid = torch.ones_like(confidence, dtype=torch.bool) if valid is None else valid
    counts = torch.stack([((confidence >= threshold) & valid).sum(), valid.sum()]).to(torch.float64)
    if sync and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(counts)
    return (counts[0] / counts[1].clamp(min=1)).to(confidence.dtype)


def pseudo_label_weights(labels: Tensor, confidence: Tensor, ratio: Tensor, rare_threshold: Optional[float] = 0.8,
                         class_weight: Optional[Sequence[float]] = None) -> Tensor:
    """Per-pixel weight of the pseudo-label loss.

    Without ``class_weight`` every pixel gets ``r``. With it (the reference's class balancing), a pixel whose
    confidence is >= ``rare_threshold`` gets ``r * class_weight[label]`` and every other pixel (or one whose product
    is 0) gets ``0.5 * r``.

    Args:
        labels: (N, H, W) int64 pseudo-labels.
        confidence: (N, H, W) probability of the pseudo-label.
        ratio: ``r`` from :func:`confident_ratio` (0-dim tensor).
        rare_threshold: Confidence from which the class weight applies (None: always).
        class_weight: One weight per class, or None.

    Returns:
        (N, H, W) float weights.
    """
    weight = ratio.expand_as(confidence).to(confidence.dtype)
    if class_weight is None:
        return weight.clone()
    cw = confidence.new_tensor(list(class_weight))
    if int(labels.max()) >= cw.numel():
        raise ValueError(f'pseudo-label class_weight has {cw.numel()} entries but labels reach {int(labels.max())}')
    high = confidence >= rare_threshold if rare_threshold is not None else torch.ones_like(labels, dtype=torch.bool)
    weighted = weight * cw[labels] * high
    return torch.where(weighted == 0, 0.5 * weight, weighted)


def make_pseudo_labels(probs: Tensor, threshold: float = 0.975, rare_threshold: Optional[float] = 0.8,
                       class_weight: Optional[Sequence[float]] = None, valid: Optional[Tensor] = None,
                       ignore_index: int = 255, sync: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
    """Pseudo-labels, per-pixel weights and the confident share ``r`` from a probability map.

    Args:
        probs: (N, C, H, W) class probabilities (e.g. from :func:`fuse_teacher_probs`).
        threshold: Confidence counted as "confident" for ``r`` (0.975 in ST-DASegNet).
        rare_threshold: See :func:`pseudo_label_weights` (0.8).
        class_weight: See :func:`pseudo_label_weights`.
        valid: (N, H, W) bool, False on padding; those pixels get ``ignore_index`` and weight 0.
        ignore_index: Label for invalid pixels.
        sync: Sum the counts behind ``r`` over distributed ranks.

    Returns:
        ``(labels (N, H, W) int64, weights (N, H, W), r (0-dim))``.
    """
    confidence, labels = probs.max(dim=1)
    ratio = confident_ratio(confidence, threshold, valid, sync=sync)
    weights = pseudo_label_weights(labels, confidence, ratio, rare_threshold, class_weight)
    if valid is not None:
        labels = labels.masked_fill(~valid, ignore_index)
        weights = weights.masked_fill(~valid, 0.0)
    return labels, weights, ratio


@torch.no_grad()
def ground_truth_agreement(labels: Tensor, data_samples: Sequence, ignore_index: int = 255) -> Optional[Tensor]:
    """Percentage of target pixels whose pseudo-label equals the sample's logged ground truth, for the log only.

    Benchmarks on labelled targets keep the target's labels in the field ``gt_log_seg``
    (``PairedDomainDataset(log_target_labels=True)``), which no loss reads; the value returned is detached and its
    name has no ``loss`` in it. None when any sample carries no such labels (the normal UDA case).
    """
    if not data_samples or any(TARGET_LOG_FIELD not in s for s in data_samples):
        return None
    # the preprocessor pads images (and pseudo-labels) right/bottom to the batch size; the logged labels are unpadded
    gt = torch.full_like(labels, ignore_index)
    for i, sample in enumerate(data_samples):
        data = sample.get(TARGET_LOG_FIELD).data
        h, w = data.shape[-2:]
        gt[i, :h, :w] = data.reshape(h, w)[:labels.shape[-2], :labels.shape[-1]].to(labels.device).long()
    valid = (gt != ignore_index) & (labels != ignore_index)
    return ((labels == gt) & valid).sum().float() * 100.0 / valid.sum().clamp(min=1)
