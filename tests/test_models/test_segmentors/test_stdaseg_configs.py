"""Every ST-DASegNet config (and its baselines): names tell the truth, models build offline, reference values hold."""
import copy
import functools
import gc
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.utils.pretrained import drop_pretrained

REPO = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO / 'configs' / 'stdaseg'
CONFIGS = sorted(CONFIG_DIR.rglob('*.py'))
STDA = [c for c in CONFIGS if c.name.startswith('stdaseg_') and '40k' in c.name]
BASELINES = [c for c in CONFIGS if c.parent.name == 'baselines']
PAIRS = ['potsdam2vaihingen', 'potsdam-rgb2vaihingen', 'vaihingen2potsdam', 'loveda-rural2urban',
         'loveda-urban2rural']


def _ids(paths):
    return [p.name for p in paths]


def _crop_from_name(path: Path):
    match = re.search(r'-(\d+)x(\d+)\.py$', path.name)
    assert match, f'{path.name}: the file name must end with -HxW'
    return int(match.group(1)), int(match.group(2))


def _find(obj, type_name):
    """All dicts with ``type == type_name`` inside a config tree."""
    if isinstance(obj, dict):
        found = [obj] if obj.get('type') == type_name else []
        return found + [d for v in obj.values() for d in _find(v, type_name)]
    if isinstance(obj, (list, tuple)):
        return [d for v in obj for d in _find(v, type_name)]
    return []


@functools.cache
def _load(path: Path) -> Config:
    """Parsed once per session (callers must not modify it)."""
    return Config.fromfile(str(path))


def test_all_configs_present():
    assert len(STDA) == 10 and len(BASELINES) == 20
    assert any('tiny' in c.name for c in CONFIGS)
    for pair in PAIRS:
        for model in ('deeplabv3plus-r50-d8', 'segformer-mit-b5'):
            for prefix in ('', 'baselines/source-only_', 'baselines/target-oracle_'):
                name = f'{prefix or "stdaseg_"}{model}_1xb2-40k_{pair}-384x384.py'
                assert (CONFIG_DIR / name).is_file(), name


@pytest.mark.parametrize('path', CONFIGS, ids=_ids(CONFIGS))
def test_name_crop_matches_pipelines_and_preprocessor(path):
    crop = _crop_from_name(path)
    cfg = _load(path)
    crops = _find(cfg.train_dataloader.to_dict(), 'RandomCrop')
    paired = cfg.train_dataloader.dataset.type == 'PairedDomainDataset'
    if path.parent.name == 'reference':  # the reference resizes whole target images to the crop
        crops += [dict(crop_size=r['scale']) for r in _find(cfg.train_dataloader.dataset.target.to_dict(), 'Resize')]
    assert len(crops) >= (2 if paired else 1)  # source and target pipelines
    assert all(tuple(c['crop_size']) == crop for c in crops), [c['crop_size'] for c in crops]
    pre = cfg.model.data_preprocessor
    sizes = [pre.source.size, pre.target.size] if paired else [pre.size]
    assert all(tuple(s) == crop for s in sizes), sizes
    if cfg.model.test_cfg.get('mode') == 'slide' and path.parent.name != 'reference':  # reference: 1024 windows
        assert tuple(cfg.model.test_cfg.crop_size) == crop


def _unique_models():
    seen, out = set(), []
    for path in CONFIGS:
        model = _load(path).model
        key = repr(model.to_dict())
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


@pytest.mark.parametrize('path', _unique_models(), ids=_ids(_unique_models()))
def test_builds_offline(path):
    torch.set_num_threads(1)
    init_default_scope('mmseg')
    cfg = copy.deepcopy(_load(path))
    starts = _find(cfg.model.to_dict(), 'Pretrained')
    if 'tiny' in path.name:
        assert not starts, 'the tiny example configs start from random init'
    else:  # the reference's ImageNet starts; --no-pretrained drops them
        assert starts and all(s['checkpoint'].startswith(('open-mmlab://', 'https://')) for s in starts), starts
        drop_pretrained(cfg.model)
        assert not _find(cfg.model.to_dict(), 'Pretrained')
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == cfg.model.type
    if cfg.model.type == 'STDASegmentor':
        model.check_shapes()  # DDM, decoders and discriminators fit the backbones (what training checks first)
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        assert list(optim.keys()) == ['backbone', 'decode_head', 'discriminator_s', 'discriminator_t']
        if 'mit-b5' in path.name:  # decoders really at 10× (6e-4); the reference's key never matched (6e-5)
            lrs = [g['lr'] for g in optim['decode_head'].optimizer.param_groups]
            assert lrs == pytest.approx([6e-5 if path.parent.name == 'reference' else 6e-4] * len(lrs))
    del model
    gc.collect()


# The reference's weights (cv516Buaa/ST-DASegNet experiments/*/config*/ST-DASegNet_*.py): decode_head_s CE,
# decode_head_t CE, pseudo-label class weights.
_ISPRS = [1.0, 1.0, 1.0, 1.25, 1.5, 1.5]
_ISPRS_T = [1.0, 1.0, 1.25, 1.25, 1.5, 1.5]
_ISPRS_PSEUDO = [1.01, 1.01, 1.51, 1.51, 2.01, 2.01]
_R2U, _R2U_PSEUDO = [1.25, 1.0, 1.25, 1.0, 1.5, 1.25, 1.0], [1.51, 1.01, 1.51, 1.01, 2.01, 1.51, 1.01]
_U2R, _U2R_PSEUDO = [1.0, 1.25, 1.25, 1.0, 1.5, 1.5, 1.25], [1.01, 1.51, 1.51, 1.01, 2.01, 2.01, 1.51]
REFERENCE_WEIGHTS = {
    ('r50', 'potsdam2vaihingen'): (_ISPRS, _ISPRS, _ISPRS_PSEUDO),
    ('r50', 'potsdam-rgb2vaihingen'): (_ISPRS, _ISPRS, _ISPRS_PSEUDO),
    ('r50', 'vaihingen2potsdam'): (_ISPRS, _ISPRS, _ISPRS_PSEUDO),
    ('mit', 'potsdam2vaihingen'): (_ISPRS, _ISPRS_T, _ISPRS_PSEUDO),
    ('mit', 'potsdam-rgb2vaihingen'): (_ISPRS, _ISPRS_T, _ISPRS_PSEUDO),
    ('mit', 'vaihingen2potsdam'): (_ISPRS_T, _ISPRS_T, _ISPRS_PSEUDO),
    **{(m, 'loveda-rural2urban'): (_R2U, _R2U, _R2U_PSEUDO) for m in ('r50', 'mit')},
    **{(m, 'loveda-urban2rural'): (_U2R, _U2R, _U2R_PSEUDO) for m in ('r50', 'mit')},
}


def _reference_key(path: Path):
    pair = re.search(r'40k_(.+)-384x384', path.name).group(1)
    return ('r50' if 'r50' in path.name else 'mit'), pair


@pytest.mark.parametrize('path', STDA, ids=_ids(STDA))
def test_reference_hyperparameters(path):
    cfg = _load(path)
    model, ow = cfg.model, cfg.optim_wrapper
    assert model.gan_loss.loss_weight == 0.005 and model.gan_loss.gan_type == 'vanilla'
    assert model.pseudo_loss.loss_weight == 0.25
    assert (model.pseudo_label.threshold, model.pseudo_label.rare_threshold) == (0.975, 0.8)
    assert model.ema_scope == 'decoder'
    assert [h.type for h in cfg.custom_hooks] == ['EMATeacherHook'] and cfg.custom_hooks[0].max_decay == 0.999
    assert cfg.model_wrapper_cfg.type == 'MMSeparateDistributedDataParallel'
    assert cfg.train_cfg.max_iters == 40000 and cfg.train_dataloader.batch_size == 2
    assert ow.constructor == 'MultiOptimWrapperConstructor'
    isprs = 'loveda' not in path.name
    n = 6 if isprs else 7
    assert model.decode_head_s.num_classes == model.decode_head_t.num_classes == n
    ce_s, ce_t, pseudo = REFERENCE_WEIGHTS[_reference_key(path)]
    assert model.decode_head_s.loss_decode.class_weight == ce_s
    assert model.decode_head_t.loss_decode.class_weight == ce_t
    assert model.decode_head_s.loss_decode.type == model.decode_head_t.loss_decode.type == 'ClassWeightedCELoss'
    assert model.pseudo_label.class_weight == pseudo
    if 'r50' in path.name:
        assert (ow.backbone.optimizer.type, ow.backbone.optimizer.lr) == ('SGD', 1e-3)
        assert (ow.decode_head.optimizer.lr, ow.backbone.optimizer.momentum) == (2e-3, 0.9)
        assert ow.backbone.optimizer.weight_decay == 5e-4
        assert (ow.discriminator_s.optimizer.type, ow.discriminator_s.optimizer.lr) == ('Adam', 2.5e-4)
        assert model.backbone_s.depth == 50 and model.neck.in_channels == [256, 512, 1024, 2048]
    else:
        assert (ow.backbone.optimizer.type, ow.backbone.optimizer.lr) == ('AdamW', 6e-5)
        assert ow.backbone.optimizer.weight_decay == 0.01
        assert ow.decode_head.paramwise_cfg.custom_keys.decode_head.lr_mult == 10.0
        assert (ow.discriminator_t.optimizer.type, ow.discriminator_t.optimizer.lr) == ('Adam', 1e-5)
        assert [s.type for s in cfg.param_scheduler] == ['LinearLR', 'PolyLR']
        assert model.backbone_s.num_layers == [3, 6, 40, 3]
    assert tuple(ow.discriminator_s.optimizer.betas) == (0.9, 0.99)


@pytest.mark.parametrize('path', STDA, ids=_ids(STDA))
def test_selection_on_target_val_numbers_on_target_test(path):
    cfg = _load(path)
    source, target = cfg.train_dataloader.dataset.source, cfg.train_dataloader.dataset.target
    assert target.with_label is False
    assert source.manifest != target.manifest
    assert (cfg.val_dataloader.dataset.manifest, cfg.val_dataloader.dataset.split) == (target.manifest, 'val')
    assert (cfg.test_dataloader.dataset.manifest, cfg.test_dataloader.dataset.split) == (target.manifest, 'test')
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    assert cfg.val_evaluator.iou_metrics == ['mIoU', 'mFscore']


@pytest.mark.parametrize('path', BASELINES, ids=_ids(BASELINES))
def test_baselines_compare_like_with_like(path):
    cfg = _load(path)
    kind, model_name, _, rest = path.name.split('_', 3)
    stda = _load(CONFIG_DIR / f'stdaseg_{model_name}_1xb2-40k_{rest}')
    for key in ('val_dataloader', 'test_dataloader', 'val_evaluator', 'train_cfg', 'param_scheduler'):
        assert cfg[key] == stda[key], key
    train = cfg.train_dataloader.dataset
    assert train.type == 'GeoChipDataset' and '_delete_' not in train and train.get('with_label', True)
    expected = stda.train_dataloader.dataset.source.manifest if kind == 'source-only' else \
        stda.train_dataloader.dataset.target.manifest
    assert train.manifest == expected and train.split == 'train'
    assert train.pipeline == stda.train_dataloader.dataset.source.pipeline
    assert cfg.model.decode_head.loss_decode.class_weight == stda.model.decode_head_s.loss_decode.class_weight
    assert cfg.model.backbone.type == stda.model.backbone_s.type
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert cfg.optim_wrapper.optimizer.lr == stda.optim_wrapper.backbone.optimizer.lr


def test_tiny_config_mirrors_the_tiny_source_only_model():
    cfg = _load(CONFIG_DIR / 'stdaseg_deeplabv3plus-r18-tiny_1xb2-100i_dubai-demo-128x128.py')
    ref = _load(REPO / 'configs' / '_base_' / 'models' / 'deeplabv3plus_r18-tiny.py').model
    assert cfg.model.backbone_s == ref.backbone == cfg.model.backbone_t
    head = dict(cfg.model.decode_head_s)
    ref_head = dict(ref.decode_head)
    assert head.pop('in_channels') == ref_head.pop('in_channels') + 16  # + the DDM's universal channels
    assert head == ref_head
    pre = cfg.model.data_preprocessor.source
    assert (pre.mean, pre.std, pre.bgr_to_rgb) == (ref.data_preprocessor.mean, ref.data_preprocessor.std, False)
    assert cfg.train_cfg.max_iters == 100
