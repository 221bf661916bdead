"""A very small ST-DASegNet (8-channel ResNetV1c-18 students, 64×64 inputs) and paired batches for unit tests."""
import copy
from typing import Dict, List, Optional

import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)

NUM_CLASSES = 4
SIZE = 64


def tiny_model_cfg(norm: str = 'BN', dropout: float = 0.1, **overrides) -> dict:
    """Model config of a tiny STDASegmentor; ``norm='GN'`` makes it independent of the batch split (DDP tests)."""
    norm_cfg = dict(type='GN', num_groups=4) if norm == 'GN' else dict(type='BN')
    norm_cfg['requires_grad'] = True
    backbone = dict(type='ResNetV1c', depth=18, in_channels=3, stem_channels=8, base_channels=8, num_stages=4,
                    out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg,
                    norm_eval=False, style='pytorch', contract_dilation=True)
    head = dict(type='DepthwiseSeparableASPPHead', in_channels=72, in_index=3, channels=16, dilations=(1, 2, 3, 4),
                c1_in_channels=8, c1_channels=4, dropout_ratio=dropout, num_classes=NUM_CLASSES, norm_cfg=norm_cfg,
                align_corners=False, loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    pre = dict(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], bgr_to_rgb=False, size=(SIZE, SIZE))
    cfg = dict(type='STDASegmentor', data_preprocessor=dict(type='PairedSegDataPreProcessor', source=pre),
               backbone_s=backbone, backbone_t=copy.deepcopy(backbone),
               neck=dict(type='DomainDisentangleNeck', in_channels=[8, 16, 32, 64], distinct_stages=(0, 3)),
               decode_head_s=head, decode_head_t=copy.deepcopy(head),
               discriminator_s=dict(type='FCDiscriminator', in_channels=64, base_channels=8, num_convs=1),
               test_cfg=dict(mode='whole'))
    cfg.update(overrides)
    return cfg


def tiny_optim_cfg(seg_lr: float = 0.01) -> dict:
    """The four-part optimizer config of the ST-DASegNet schedules, with larger LRs so one step moves weights."""
    return dict(
        constructor='MultiOptimWrapperConstructor',
        backbone=dict(modules=['backbone_s', 'backbone_t', 'neck'],
                      optimizer=dict(type='SGD', lr=seg_lr, momentum=0.9, weight_decay=5e-4)),
        decode_head=dict(modules=['decode_head_s', 'decode_head_t'],
                         optimizer=dict(type='SGD', lr=2 * seg_lr, momentum=0.9, weight_decay=5e-4)),
        discriminator_s=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.99))),
        discriminator_t=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.99))))


def build_model(cfg: Optional[dict] = None, seed: int = 0):
    """Build and initialise (teachers = students) a model under the mmseg scope."""
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg or tiny_model_cfg()))
    model.init_weights()
    return model


def build_optim(model, cfg: Optional[dict] = None):
    """OptimWrapperDict for ``model``."""
    from mmengine.optim import build_optim_wrapper
    init_default_scope('mmseg')
    return build_optim_wrapper(model, copy.deepcopy(cfg or tiny_optim_cfg()))


def seg_sample(label: Optional[torch.Tensor] = None, size: int = SIZE) -> SegDataSample:
    """A data sample with image metas, labelled when ``label`` (H, W) is given."""
    sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
    if label is not None:
        sample.gt_sem_seg = PixelData(data=label[None].long())
    return sample


def paired_batch(batch: int = 2, seed: int = 0, tgt_labels: bool = False, size: int = SIZE,
                 structured: bool = True) -> Dict[str, Dict[str, List]]:
    """A collated paired batch as PairedDomainDataset + pseudo_collate give it.

    With ``structured`` the source labels are a function of the image (so a model can learn them quickly).
    """
    g = torch.Generator().manual_seed(seed)
    src = [torch.rand(3, size, size, generator=g) for _ in range(batch)]
    tgt = [torch.rand(3, size, size, generator=g) * 0.8 + 0.1 for _ in range(batch)]
    if structured:
        src_lab = [(img[0] * NUM_CLASSES).long().clamp(max=NUM_CLASSES - 1) for img in src]
    else:
        src_lab = [torch.randint(0, NUM_CLASSES, (size, size), generator=g) for _ in range(batch)]
    tgt_samples = [seg_sample(torch.randint(0, NUM_CLASSES, (size, size), generator=g) if tgt_labels else None, size)
                   for _ in range(batch)]
    return dict(inputs=dict(src=src, tgt=tgt),
                data_samples=dict(src=[seg_sample(lab, size) for lab in src_lab], tgt=tgt_samples))


def state(module) -> Dict[str, torch.Tensor]:
    """Detached copy of a module's parameters."""
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def changed(before: Dict[str, torch.Tensor], module) -> List[str]:
    """Names of parameters of ``module`` that differ from ``before``."""
    return [k for k, v in module.named_parameters() if not torch.equal(v.detach(), before[k])]
