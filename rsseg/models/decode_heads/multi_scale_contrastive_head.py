"""Multi-scale and cross-scale supervised contrastive loss on labelled pixels (Pissas et al., ECCV 2022).

Pissas, Ravasio, Da Cruz, Bergeles, *Multi-scale and Cross-scale Contrastive Learning for Semantic Segmentation*:
the encoder's features at several stages are projected to unit-length embeddings, and labelled pixels are pulled
towards pixels of their class and pushed from the other classes' pixels, within each stage (multi-scale) and
between stages (cross-scale), beside the usual cross-entropy. It shapes the features a decoder reads into class
clusters at every scale, which is what a segmentation network trained on one domain needs to keep on another.

Registered as an mmseg head used as an ``auxiliary_head``: it only adds a loss (``loss_contrast``) and is never used
for prediction, so any EncoderDecoder-based config (source-only, the oracle, AdaptSegNet's and DACS's source branch)
adds it with one dict. Departure: anchors are sampled at random per class and image (``max_per_class``), not by the
paper's hard-example mining.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor, nn


def sup_con(anchors: Tensor, anchor_labels: Tensor, contrast: Tensor, contrast_labels: Tensor, temperature: float,
            same: bool) -> Tensor:
    """Supervised contrastive loss (Khosla et al. 2020) of unit ``anchors`` (M, D) against ``contrast`` (K, D).

    ``same``: the two sets are the same pixels, so a pixel is neither its own positive nor in its denominator.
    Anchors without a positive are left out; with none left the loss is a zero that keeps the graph.
    """
    if anchors.shape[0] == 0 or contrast.shape[0] == 0:
        return anchors.sum() * 0.0
    logits = anchors @ contrast.T / temperature
    keep = torch.ones_like(logits, dtype=torch.bool)
    if same:
        keep.fill_diagonal_(False)
    positive = (anchor_labels[:, None] == contrast_labels[None, :]) & keep
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    log_prob = logits - torch.log((logits.exp() * keep).sum(dim=1, keepdim=True))
    counts = positive.sum(dim=1)
    valid = counts > 0
    if not valid.any():
        return anchors.sum() * 0.0
    return -((log_prob * positive).sum(dim=1)[valid] / counts[valid]).mean()


@MODELS.register_module()
class MultiScaleContrastiveHead(BaseModule):
    """Pissas et al.'s multi-scale and cross-scale contrastive loss as an auxiliary head.

    Args:
        in_channels: Channels of the selected backbone outputs.
        in_index: Which backbone outputs (stages) to use.
        proj_channels: Embedding size of each stage's projection (1x1 conv, BN, ReLU, 1x1 conv).
        temperature: Softmax temperature of the contrastive loss.
        max_per_class: Labelled pixels sampled per class and image at each stage.
        cross_scale: Also contrast each stage's anchors with every other stage's pixels.
        loss_weight: Weight of the loss beside the segmentation losses.
        ignore_index: Label of unlabelled pixels.
        norm_cfg: Normalisation of the projections.
    """

    def __init__(self, in_channels: Sequence[int], in_index: Sequence[int], proj_channels: int = 64,
                 temperature: float = 0.1, max_per_class: int = 64, cross_scale: bool = True,
                 loss_weight: float = 0.1, ignore_index: int = 255, norm_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(in_index):
            raise ValueError(f'in_channels {list(in_channels)} and in_index {list(in_index)} differ in length')
        self.in_index = list(in_index)
        self.temperature, self.max_per_class, self.cross_scale = temperature, max_per_class, cross_scale
        self.loss_weight, self.ignore_index = loss_weight, ignore_index
        self.projections = nn.ModuleList(
            nn.Sequential(ConvModule(c, proj_channels, 1, norm_cfg=norm_cfg or dict(type='BN')),
                          nn.Conv2d(proj_channels, proj_channels, 1)) for c in in_channels)

    def forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Unit-length embeddings (N, proj_channels, h, w) of the selected stages."""
        return [F.normalize(proj(inputs[i]), dim=1) for proj, i in zip(self.projections, self.in_index)]

    def loss(self, inputs: Sequence[Tensor], batch_data_samples: SampleList, train_cfg: dict) -> Dict[str, Tensor]:
        """``loss_contrast``: the multi-scale (and cross-scale) contrastive loss on the batch's labelled pixels."""
        labels = torch.stack([s.gt_sem_seg.data for s in batch_data_samples]).float()
        samples = [self._sample(emb, F.interpolate(labels, size=emb.shape[2:], mode='nearest').long()[:, 0])
                   for emb in self.forward(inputs)]
        terms = [sup_con(a, ya, a, ya, self.temperature, same=True) for a, ya in samples]
        if self.cross_scale:
            terms += [sup_con(a, ya, c, yc, self.temperature, same=False)
                      for i, (a, ya) in enumerate(samples) for j, (c, yc) in enumerate(samples) if i != j]
        return dict(loss_contrast=self.loss_weight * torch.stack(terms).mean())

    def _sample(self, embeddings: Tensor, labels: Tensor) -> tuple:
        """Up to ``max_per_class`` random labelled pixels per class and image: their embeddings (M, D) and labels."""
        feats, classes = [], []
        for emb, lab in zip(embeddings, labels):
            flat, lab = emb.flatten(1).T, lab.flatten()
            for c in lab.unique():
                if int(c) == self.ignore_index:
                    continue
                idx = (lab == c).nonzero(as_tuple=True)[0]
                idx = idx[torch.randperm(idx.numel(), device=idx.device)[:self.max_per_class]]
                feats.append(flat[idx])
                classes.append(lab[idx])
        if not feats:
            return embeddings.new_zeros((0, embeddings.shape[1])), labels.new_zeros((0,))
        return torch.cat(feats), torch.cat(classes)
