"""Tiny single-network UDA baselines (8-channel ResNetV1c-18 DeepLabV3+, 64×64 inputs) for unit tests, and the
``tools/train.py`` run shared by the tiny-config tests of AdaptSegNet and DACS."""
import copy
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

import torch
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from tests.test_models.stdaseg_utils import NUM_CLASSES, SIZE

REPO = Path(__file__).resolve().parents[2]


def encoder_decoder_cfg(model_type: str, dropout: float = 0.0, **overrides) -> dict:
    """A tiny DeepLabV3+ of type ``model_type`` with a paired preprocessor."""
    norm_cfg = dict(type='BN', requires_grad=True)
    backbone = dict(type='ResNetV1c', depth=18, in_channels=3, stem_channels=8, base_channels=8, num_stages=4,
                    out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg,
                    norm_eval=False, style='pytorch', contract_dilation=True)
    head = dict(type='DepthwiseSeparableASPPHead', in_channels=64, in_index=3, channels=16, dilations=(1, 2, 3, 4),
                c1_in_channels=8, c1_channels=4, dropout_ratio=dropout, num_classes=NUM_CLASSES, norm_cfg=norm_cfg,
                align_corners=False, loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    pre = dict(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], bgr_to_rgb=False, size=(SIZE, SIZE))
    cfg = dict(type=model_type, data_preprocessor=dict(type='PairedSegDataPreProcessor', source=pre),
               backbone=backbone, decode_head=head, test_cfg=dict(mode='whole'))
    cfg.update(overrides)
    return cfg


def adaptseg_cfg(**overrides) -> dict:
    """Tiny ``AdaptSegSegmentor`` (discriminator on the 4-class softmax maps, no normalisation as the reference;
    its ``in_channels`` is filled in by the segmentor)."""
    disc = dict(type='FCDiscriminator', base_channels=8, num_convs=3, norm_cfg=None)
    return encoder_decoder_cfg('AdaptSegSegmentor', discriminator=disc, **overrides)


def dacs_cfg(**overrides) -> dict:
    """Tiny ``DACSSegmentor``."""
    return encoder_decoder_cfg('DACSSegmentor', **overrides)


def build(cfg: dict, seed: int = 0):
    """Build and initialise a model under the mmseg scope."""
    init_default_scope('mmseg')
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model


def build_optim(model, with_discriminator: bool = True, seg_lr: float = 0.01):
    """``OptimWrapperDict`` with ``segmentor`` (and ``discriminator``) parts."""
    cfg = dict(constructor='MultiOptimWrapperConstructor',
               segmentor=dict(modules=['backbone', 'decode_head'],
                              optimizer=dict(type='SGD', lr=seg_lr, momentum=0.9, weight_decay=5e-4)))
    if with_discriminator:
        cfg['discriminator'] = dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.9, 0.99)))
    init_default_scope('mmseg')
    return build_optim_wrapper(model, cfg)


def build_from_config(config: Path, num_classes: Optional[int] = None):
    """Build the model of a config file from random init (optionally with another number of classes in every head)."""
    from mmengine.config import Config

    from rsseg.utils.pretrained import drop_pretrained
    cfg = Config.fromfile(str(config))
    drop_pretrained(cfg.model)
    if num_classes is not None:
        cfg.model.decode_head.num_classes = num_classes
    return build(cfg.model.to_dict())


def full_configs(method: str) -> List[Path]:
    """The method's DeepLabV3+ R50 configs (one per ST-DASegNet dataset config)."""
    return sorted((REPO / 'configs' / method).glob(f'{method}_deeplabv3plus-r50-d8_*.py'))


def check_like_for_like(config: Path, method: str) -> None:
    """Assert that a full baseline config trains and evaluates exactly like its ST-DASegNet counterpart: same data,
    evaluator, schedule, hooks and test mode; and that the crop in its name is the crop it trains on."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(config))
    twin = REPO / 'configs' / 'stdaseg' / config.name.replace(f'{method}_', 'stdaseg_', 1)
    assert twin.is_file(), f'{config.name} has no ST-DASegNet counterpart {twin.name}'
    ref = Config.fromfile(str(twin))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator', 'test_evaluator',
                'param_scheduler', 'train_cfg', 'val_cfg', 'test_cfg', 'default_hooks', 'model_wrapper_cfg'):
        assert cfg[key] == ref[key], f'{config.name}: {key} differs from {twin.name}'
    model, ref_model = cfg.model, ref.model
    assert model.decode_head.num_classes == ref_model.decode_head_s.num_classes
    assert model.decode_head.loss_decode.get('class_weight') == ref_model.decode_head_s.loss_decode.get('class_weight')
    assert {k: v for k, v in model.test_cfg.items() if k != 'predict_on'} == \
        {k: v for k, v in ref_model.test_cfg.items() if k != 'predict_on'}
    height, width = (int(v) for v in config.stem.rsplit('-', 1)[1].split('x'))
    crops = [t.crop_size for t in cfg.train_dataloader.dataset.source.pipeline if t.type == 'RandomCrop']
    assert crops == [(height, width)], crops
    for branch in ('source', 'target'):
        assert tuple(model.data_preprocessor[branch].size) == (height, width)
    start = None if 'tiny' in config.name else dict(type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')
    assert model.backbone.get('init_cfg') == ref_model.backbone_s.get('init_cfg') == start  # the same start


def train_tiny_config(config: Path, work_dir: Path, iters: int = 3) -> subprocess.CompletedProcess:
    """``tools/train.py CONFIG`` for ``iters`` iterations with validation and a checkpoint at the end."""
    options = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
               f'default_hooks.checkpoint.interval={iters}', 'default_hooks.logger.interval=1',
               'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']
    env = dict(os.environ, OMP_NUM_THREADS='1')  # one thread: busy-waiting OpenMP is ~10× slower on 2 shared cores
    return subprocess.run([sys.executable, 'tools/train.py', str(config), '--work-dir', str(work_dir),
                           '--cfg-options', *options], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env=env)


def logged_scalars(work_dir: Path) -> List[Dict[str, float]]:
    """Records of ``vis_data/scalars.json`` (one per logged train iteration / validation)."""
    paths = sorted(work_dir.glob('*/vis_data/scalars.json'))
    return [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]


def check_train_records(records: List[Dict[str, float]], keys: List[str], iters: int) -> Optional[str]:
    """None when every key is logged at every iteration with a finite value, else what is wrong."""
    train = [r for r in records if 'loss' in r]
    if [r['step'] for r in train] != list(range(1, iters + 1)):
        return f'train steps logged: {[r["step"] for r in train]}'
    for key in keys:
        values = [r.get(key) for r in train]
        if any(v is None or not math.isfinite(v) for v in values):
            return f'{key}: {values}'
    return None
