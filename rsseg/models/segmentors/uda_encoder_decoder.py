"""Shared base of the single-network UDA baselines (AdaptSegNet-style, DACS-style): an mmseg ``EncoderDecoder`` that
trains on paired source/target batches.

It adds to ``EncoderDecoder`` only what both baselines need: the paired data preprocessor (a plain
``SegDataPreProcessor`` config is accepted and used for both domains, as :class:`STDASegmentor` does), the supervised
source loss under ``seg.src.*`` keys, logits resized to the image, optimizer-wrapper lookup by key, and calls that
stay valid when mmengine's ``MMSeparateDistributedDataParallel`` wraps every submodule in its own DDP (methods other
than ``forward`` are reached through :func:`~rsseg.models.utils.unwrap`).
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.utils import OptSampleList, SampleList, add_prefix
from torch import Tensor

from ..data_preprocessor import build_paired_preprocessor
from ..utils import prepare_accumulation, unwrap


class UDAEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` for paired source/target training; subclasses implement ``train_step``.

    Args:
        backbone: Backbone config.
        decode_head: Decode head config.
        neck: Optional neck config.
        auxiliary_head: Optional auxiliary head config(s); trained on source labels only.
        train_cfg: mmseg train config (unused).
        test_cfg: mmseg test config (``mode='whole'|'slide'``...).
        data_preprocessor: :class:`~rsseg.models.PairedSegDataPreProcessor` config, or a ``SegDataPreProcessor``
            config used for both domains. Evaluation batches go through its target preprocessor.
        pretrained: Backbone checkpoint.
        init_cfg: mmengine init config.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 neck: Optional[dict] = None,
                 auxiliary_head: Optional[Union[dict, List[dict]]] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck, auxiliary_head=auxiliary_head,
                         train_cfg=train_cfg, test_cfg=ConfigDict(test_cfg or dict(mode='whole')),
                         data_preprocessor=build_paired_preprocessor(data_preprocessor), pretrained=pretrained,
                         init_cfg=init_cfg)

    # ------------------------------------------------------------------ forward pieces (DDP-safe)
    def segment(self, inputs: Tensor) -> Tuple[List[Tensor], Tensor]:
        """Features and raw decode-head logits (stride of the head) of ``inputs``."""
        feats = self.extract_feat(inputs)
        return feats, self.decode_head(feats)

    def resize_to(self, logits: Tensor, size: Sequence[int]) -> Tensor:
        """Bilinear resize of logits to ``size`` (the image), with the head's ``align_corners``."""
        return resize(logits, size=tuple(size), mode='bilinear', align_corners=self.align_corners)

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Logits resized to the input (mmseg's ``predict_by_feat``), valid under separate DDP wrappers."""
        _, logits = self.segment(inputs)
        return unwrap(self.decode_head).predict_by_feat(logits, batch_img_metas)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        """Raw decode-head logits (``mode='tensor'``)."""
        return self.segment(inputs)[1]

    def loss(self, inputs: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Supervised losses on labelled images (``mode='loss'``; UDA training goes through ``train_step``)."""
        feats, logits = self.segment(inputs)
        return self.source_losses(feats, logits, data_samples)

    def source_losses(self, feats: List[Tensor], logits: Tensor, data_samples: SampleList) -> Dict[str, Tensor]:
        """Decode (and auxiliary) head losses on labelled source images: ``seg.src.decode.*``, ``seg.src.aux*.*``."""
        losses = add_prefix(unwrap(self.decode_head).loss_by_feat(logits, data_samples), 'seg.src.decode')
        if self.with_auxiliary_head:
            aux = self.auxiliary_head
            heads = [(f'aux_{i}', head) for i, head in enumerate(aux)] if isinstance(aux, nn.ModuleList) else \
                [('aux', aux)]
            for name, head in heads:
                losses.update(add_prefix(unwrap(head).loss_by_feat(head(feats), data_samples), f'seg.src.{name}'))
        return losses

    # ------------------------------------------------------------------ optimizer wrappers
    @staticmethod
    def optim_wrapper_for(optim_wrapper: Union[OptimWrapper, OptimWrapperDict], key: str,
                          owner: str) -> OptimWrapper:
        """The wrapper ``key`` of an ``OptimWrapperDict``; anything else is an error naming what is needed."""
        keys = list(optim_wrapper.keys()) if isinstance(optim_wrapper, OptimWrapperDict) else None
        if keys is None or key not in keys:
            raise ValueError(f'{owner}.train_step needs an OptimWrapperDict with key {key!r}, got '
                             f'{keys if keys is not None else type(optim_wrapper).__name__}; build it with '
                             "optim_wrapper=dict(constructor='MultiOptimWrapperConstructor', ...) "
                             '(see configs/adaptseg/ and configs/dacs/)')
        return optim_wrapper[key]

    def optim_wrappers(self, optim_wrapper: Union[OptimWrapper, OptimWrapperDict],
                       keys: Sequence[str]) -> Dict[str, OptimWrapper]:
        """The wrappers ``keys`` of an ``OptimWrapperDict``, ready for gradient accumulation: one
        ``accumulative_counts`` for all (else ValueError naming them), counters aligned with the runner
        (:func:`~rsseg.models.utils.prepare_accumulation`)."""
        owner = type(self).__name__
        wrappers = {key: self.optim_wrapper_for(optim_wrapper, key, owner) for key in keys}
        prepare_accumulation(wrappers, self, owner)
        return wrappers

