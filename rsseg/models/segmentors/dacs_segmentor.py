"""DACS-style self-training (Tranheden et al., WACV 2021) as an mmseg 1.x segmentor: EMA teacher + ClassMix.

Every iteration (one ``train_step``, one backward):

1. the frozen EMA teacher (a copy of the whole segmentor: ``ema_backbone``, ``ema_neck``, ``ema_decode_head``)
   labels the target images: pseudo-label = argmax of its softmax (at image size), and each target image gets one
   scalar weight, the share of its pixels whose teacher confidence is >= ``pseudo_threshold`` (0.968; DACS's
   ``max_probs.ge(0.968)``, computed per image here);
2. ClassMix (:func:`~rsseg.models.utils.classmix`): half of the classes of source image ``i`` (image and label) are
   pasted onto target image ``i``; pasted pixels get weight 1, the others their image's confident share;
3. with ``strong_aug``, DACS's strong augmentation of the mixed images only
   (:func:`~rsseg.models.utils.strong_augment`: colour jitter + Gaussian blur, DAFormer's ``dacs_transforms``);
   the teacher has already labelled the un-augmented target images;
4. loss = CE on the source images + pixel-weighted CE on the mixed images; the student steps.

The teacher (:class:`EMATeacherMixin`) follows the student through :class:`~rsseg.engine.hooks.EMATeacherHook` with
``max_decay=0.99`` (``alpha_t = min(1 - 1 / (t + 1), 0.99)``, mmengine momentum semantics, parameters only): it is
never touched by the optimizer or by backward.
"""
import copy
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmseg.models.losses import accuracy
from mmseg.registry import MODELS
from mmseg.utils import SampleList
from torch import Tensor

from ..utils import (
    build_strong_aug,
    classmix,
    confident_ratio,
    ground_truth_agreement,
    strong_augment,
    unpadded_mask,
    unwrap,
)
from .ema_teacher_mixin import EMATeacherMixin
from .uda_encoder_decoder import UDAEncoderDecoder

DACS_THRESHOLD = 0.968


def confident_share_weights(confidence: Tensor, threshold: float = DACS_THRESHOLD,
                            valid: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """DACS's pseudo-label weight: per image, the share of (valid) pixels with confidence >= ``threshold``.

    Args:
        confidence: (N, H, W) teacher probability of the pseudo-label.
        threshold: Confidence counted as confident (0.968 in DACS).
        valid: (N, H, W) bool, False on padding (excluded from the share, weight 0); None: all valid.

    Returns:
        ``(weights (N, H, W), shares (N,))``: every valid pixel of image ``i`` carries ``shares[i]``.
    """
    if confidence.dim() != 3:
        raise ValueError(f'confidence must be (N, H, W), got {tuple(confidence.shape)}')
    valid = torch.ones_like(confidence, dtype=torch.bool) if valid is None else valid
    shares = torch.stack([confident_ratio(c, threshold, v, sync=False) for c, v in zip(confidence, valid)])
    weights = shares.view(-1, 1, 1).expand_as(confidence).masked_fill(~valid, 0.0)
    return weights.contiguous(), shares


@MODELS.register_module()
class DACSSegmentor(EMATeacherMixin, UDAEncoderDecoder):
    """Self-training UDA with an EMA teacher of the whole segmentor and ClassMix.

    Submodules: the student ``backbone``, ``decode_head`` (optionally ``neck``, ``auxiliary_head``) and the frozen
    teacher ``ema_backbone``, ``ema_decode_head`` (``ema_neck``), listed by :meth:`ema_pairs` for the EMA hook.
    Optimizer: an ``OptimWrapperDict`` with key ``segmentor`` (the teacher in no part) or a plain ``OptimWrapper``.

    Logged values: ``seg.src.decode.loss_ce`` / ``.acc_seg`` (source CE), ``seg.mix.decode.loss_pseudo`` (weighted
    CE on the mixed images), ``seg.mix.decode.acc_seg`` (student agreement with the mixed labels),
    ``seg.tgt.pseudo_ratio`` (mean over the batch of the per-image confident share), ``seg.mix.paste_ratio``
    (share of pasted source pixels), ``seg.tgt.pseudo_acc_gt`` (pseudo-labels against target ground truth, only when
    a benchmark loads it) and ``loss``.

    Args:
        backbone: Backbone config.
        decode_head: Decode head config.
        neck: Optional neck config.
        auxiliary_head: Optional auxiliary head(s), trained on source labels only (the teacher has none).
        pseudo_threshold: Teacher confidence counted as confident (0.968).
        mix_loss: Loss on the mixed images (:class:`~rsseg.models.losses.PseudoLabelCELoss`, weight 1); its
            ``class_weight`` defaults to the decode head's CE class weights.
        strong_aug: Strong augmentation of the mixed images (:class:`~rsseg.models.utils.StrongAug` keys, e.g.
            DAFormer's ``dict(color_jitter=0.2, color_jitter_p=0.8, blur=True, blur_p=0.5)``, where
            ``color_jitter_p`` is the probability of jittering); None (default) mixes without it.
        train_cfg: Unused; kept for mmseg compatibility.
        test_cfg: mmseg test config plus ``predict_on='student'|'teacher'``.
        data_preprocessor: Paired (or plain) preprocessor config.
        pretrained: Backbone checkpoint (the teacher starts as a copy of the student).
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 neck: Optional[dict] = None,
                 auxiliary_head: Optional[Union[dict, List[dict]]] = None,
                 pseudo_threshold: float = DACS_THRESHOLD,
                 mix_loss: dict = dict(type='PseudoLabelCELoss', loss_weight=1.0),
                 strong_aug: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        teacher_cfgs = {'backbone': backbone, 'neck': neck, 'decode_head': decode_head}
        teacher_cfgs = {k: copy.deepcopy(v) for k, v in teacher_cfgs.items() if v is not None}
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck, auxiliary_head=auxiliary_head,
                         train_cfg=train_cfg, test_cfg=test_cfg, data_preprocessor=data_preprocessor,
                         pretrained=pretrained, init_cfg=init_cfg)
        if not 0.0 < pseudo_threshold <= 1.0:
            raise ValueError(f'DACSSegmentor pseudo_threshold must be in (0, 1], got {pseudo_threshold}')
        self.build_teachers(teacher_cfgs)
        self.pseudo_threshold = pseudo_threshold
        self.mix_loss = self.build_pseudo_loss(mix_loss, self.decode_head)
        self.strong_aug = build_strong_aug(strong_aug)

    # ------------------------------------------------------------------ teacher
    @torch.no_grad()
    def teacher_logits(self, inputs: Tensor) -> Tensor:
        """Raw logits of the EMA teacher (no gradients)."""
        feats = self.ema_backbone(inputs)
        if self.with_neck:
            feats = self.ema_neck(feats)
        return self.ema_decode_head(feats)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Student (default) or teacher (``test_cfg.predict_on='teacher'``) logits resized to the input."""
        if self.predict_on == 'teacher':
            return self.ema_decode_head.predict_by_feat(self.teacher_logits(inputs), batch_img_metas)
        return super().encode_decode(inputs, batch_img_metas)

    @torch.no_grad()
    def pseudo_labels(self, tgt: dict) -> Tuple[Tensor, Tensor, Tensor]:
        """Teacher pseudo-labels of a target batch, their per-pixel weights and the per-image confident shares.

        Returns:
            ``(labels (N, H, W) int64, weights (N, H, W), shares (N,))``; padding is ``ignore_index`` / weight 0.
        """
        inputs = tgt['inputs']
        probs = self.resize_to(self.teacher_logits(inputs), inputs.shape[-2:]).float().softmax(dim=1)
        confidence, labels = probs.max(dim=1)
        valid = unpadded_mask(tgt['data_samples'], inputs)
        weights, shares = confident_share_weights(confidence, self.pseudo_threshold, valid)
        return labels.masked_fill(~valid, self.ignore_index), weights, shares

    # ------------------------------------------------------------------ training
    def train_step(self, data: dict, optim_wrapper: Union[OptimWrapper, OptimWrapperDict]) -> Dict[str, Tensor]:
        """One DACS iteration: pseudo-label, ClassMix, source + mixed loss, one student update.

        ``accumulative_counts`` is honoured by the wrapper's ``update_params`` (loss scaled by 1/N, a step every
        N-th iteration).

        Args:
            data: A paired batch from :class:`~rsseg.datasets.PairedDomainDataset`.
            optim_wrapper: ``OptimWrapperDict`` with key ``segmentor``, or a plain ``OptimWrapper``.

        Returns:
            Detached log variables (see the class docstring).
        """
        wrapper = optim_wrapper
        if isinstance(optim_wrapper, OptimWrapperDict) or not isinstance(optim_wrapper, OptimWrapper):
            wrapper = self.optim_wrappers(optim_wrapper, ('segmentor', ))['segmentor']
        batch = self.data_preprocessor(data, True)
        with wrapper.optim_context(self):
            losses = self._losses(batch['src'], batch['tgt'])
        loss, log_vars = self.parse_losses(losses)
        wrapper.update_params(loss)
        return {k: v.detach() for k, v in log_vars.items()}

    def _losses(self, src: dict, tgt: dict) -> Dict[str, Tensor]:
        """Source CE plus the weighted CE of the ClassMix images."""
        feats, logits = self.segment(src['inputs'])
        losses = self.source_losses(feats, logits, src['data_samples'])
        labels, weights, shares = self.pseudo_labels(tgt)
        mixed = classmix(src['inputs'], self.source_labels(src['data_samples']), tgt['inputs'], labels, weights,
                         ignore_index=self.ignore_index)
        mix_inputs = self.augment_mixed(mixed.inputs, mixed.masks)
        mix_logits = self.resize_to(self.segment(mix_inputs)[1], mixed.labels.shape[-2:])
        loss_fn = self.mix_loss
        losses[f'seg.mix.decode.{loss_fn.loss_name}'] = loss_fn(mix_logits, mixed.labels, mixed.weights,
                                                                self.ignore_index)
        losses['seg.mix.decode.acc_seg'] = accuracy(mix_logits.detach(), mixed.labels, ignore_index=self.ignore_index)
        losses['seg.tgt.pseudo_ratio'] = shares.mean()
        agreement = ground_truth_agreement(labels, tgt['data_samples'], self.ignore_index)
        if agreement is not None:
            losses['seg.tgt.pseudo_acc_gt'] = agreement
        losses['seg.mix.paste_ratio'] = mixed.masks.float().mean()
        return losses

    def augment_mixed(self, inputs: Tensor, masks: Tensor) -> Tensor:
        """Strong augmentation of the mixed images (unchanged without ``strong_aug``).

        Pasted pixels are de-normalised with the source preprocessor's mean/std, the others with the target's, so
        per-domain statistics (IRRG source, RGB target) come back to ``[0, 1]`` before the jitter.
        """
        if self.strong_aug is None:
            return inputs
        (src_mean, src_std), (tgt_mean, tgt_std) = (self._norm_stats(b, inputs) for b in ('source', 'target'))
        pasted = masks.unsqueeze(1)
        return strong_augment(inputs, torch.where(pasted, src_mean, tgt_mean), torch.where(pasted, src_std, tgt_std),
                              self.strong_aug)

    def _norm_stats(self, branch: str, inputs: Tensor) -> Tuple[Tensor, Tensor]:
        """(C, 1, 1) mean and std of a branch's preprocessor; 0 and 1 when it does not normalise."""
        pre = unwrap(self.data_preprocessor)
        inner = getattr(pre, branch, pre)
        if getattr(inner, '_enable_normalize', False):
            return inner.mean.to(inputs).view(-1, 1, 1), inner.std.to(inputs).view(-1, 1, 1)
        zeros = inputs.new_zeros(inputs.shape[1], 1, 1)
        return zeros, zeros + 1

    @staticmethod
    def source_labels(data_samples: SampleList) -> Tensor:
        """(N, H, W) int64 source labels (padded by the preprocessor to the batch size)."""
        missing = [i for i, s in enumerate(data_samples) if 'gt_sem_seg' not in s]
        if missing:
            raise ValueError(f'DACSSegmentor: source sample(s) {missing} carry no gt_sem_seg; ClassMix needs '
                             'labelled source images')
        return torch.stack([s.gt_sem_seg.data[0] for s in data_samples]).long()
