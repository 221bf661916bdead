"""One optimizer wrapper per part of a model, as an ``OptimWrapperDict`` (mmagic's multi-optimizer pattern)."""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper, OptimWrapperDict
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS

from rsseg.models.utils import unwrap

AMP_KEYS = ('loss_scale', 'dtype')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict`` with one wrapper per named part of the model.

    Every key of ``optim_wrapper`` (except ``constructor`` and the AMP switches below) is a part: a full
    optim-wrapper config plus ``modules``, the first-level submodules it optimises (the key itself by default).
    Each part is built by mmengine's ``DefaultOptimWrapperConstructor`` over those submodules, with parameter names
    prefixed by the submodule name, so ``paramwise_cfg.custom_keys`` such as ``'decode_head'`` or ``'norm'``
    really match. Example (ST-DASegNet)::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            backbone=dict(modules=['backbone_s', 'backbone_t', 'neck'],
                          optimizer=dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=5e-4)),
            decode_head=dict(modules=['decode_head_s', 'decode_head_t'],
                             optimizer=dict(type='SGD', lr=2e-3, momentum=0.9, weight_decay=5e-4)),
            discriminator_s=dict(optimizer=dict(type='Adam', lr=2.5e-4, betas=(0.9, 0.99))),
            discriminator_t=dict(optimizer=dict(type='Adam', lr=2.5e-4, betas=(0.9, 0.99))))

    Every trainable parameter must belong to exactly one part (frozen ones, e.g. EMA teachers, to none); anything
    else is an error naming the submodules.

    AMP: a top-level ``type='AmpOptimWrapper'`` (what ``tools/train.py --amp`` sets) or ``amp=True`` turns every part
    into an ``AmpOptimWrapper`` (top-level ``loss_scale`` / ``dtype`` are passed on, e.g. ``dtype='bfloat16'``); AMP
    parts share one ``GradScaler`` so parts updated from one loss (backbone + decode_head) unscale consistently.

    Args:
        optim_wrapper_cfg: The ``optim_wrapper`` config without ``constructor``.
        paramwise_cfg: Top-level ``paramwise_cfg``, the default of parts that set none.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError(f'optim_wrapper must be a dict, got {type(optim_wrapper_cfg).__name__}')
        cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        top_type = cfg.pop('type', None)
        amp = bool(cfg.pop('amp', False)) or top_type == 'AmpOptimWrapper'
        amp_kwargs = {k: cfg.pop(k) for k in AMP_KEYS if k in cfg}
        if top_type not in (None, 'OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'MultiOptimWrapperConstructor: top-level optim_wrapper type {top_type!r} is not '
                             'supported; set the type inside each part')
        if not cfg or any(not isinstance(v, dict) or 'optimizer' not in v for v in cfg.values()):
            raise ValueError('MultiOptimWrapperConstructor: every key of optim_wrapper must be a part with an '
                             f'"optimizer" config, got keys {list(cfg)}')
        self.parts: Dict[str, dict] = OrderedDict()
        for name, part in cfg.items():
            part = dict(part)
            part.setdefault('modules', [name])
            if paramwise_cfg is not None:
                part.setdefault('paramwise_cfg', paramwise_cfg)
            if amp:
                part['type'] = 'AmpOptimWrapper'
                for k, v in amp_kwargs.items():
                    part.setdefault(k, v)
            self.parts[name] = part

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        """Build the wrappers for ``model`` (wrapped or not)."""
        model = unwrap(model)
        wrappers = OrderedDict()
        owner: Dict[str, str] = {}
        for name, part in self.parts.items():
            part = dict(part)
            modules = part.pop('modules')
            modules = [modules] if isinstance(modules, str) else list(modules)
            holder = nn.ModuleDict({m: self._submodule(model, name, m) for m in modules})
            for m in modules:
                if m in owner:
                    raise ValueError(f'optim_wrapper parts {owner[m]!r} and {name!r} both optimise submodule {m!r}')
                owner[m] = name
            paramwise = part.pop('paramwise_cfg', None)
            wrappers[name] = DefaultOptimWrapperConstructor(part, paramwise)(holder)
        self._check_coverage(model, owner)
        self._share_loss_scaler(list(wrappers.values()))
        return OptimWrapperDict(**wrappers)

    @staticmethod
    def _submodule(model: nn.Module, part: str, name: str) -> nn.Module:
        if name not in model._modules:
            raise ValueError(f'optim_wrapper part {part!r} names submodule {name!r}, but {type(model).__name__} has '
                             f'only {list(model._modules)}')
        return unwrap(model._modules[name])

    @staticmethod
    def _check_coverage(model: nn.Module, owner: Dict[str, str]) -> None:
        missing: List[str] = [
            name for name, module in model._modules.items()
            if name not in owner and module is not None and any(p.requires_grad for p in module.parameters())
        ]
        if missing:
            raise ValueError(f'trainable submodule(s) {missing} are in no optim_wrapper part; add them to a part\'s '
                             '"modules" (or freeze them)')

    @staticmethod
    def _share_loss_scaler(wrappers: List[OptimWrapper]) -> None:
        scalers = [w for w in wrappers if hasattr(w, 'loss_scaler')]
        for wrapper in scalers[1:]:
            wrapper.loss_scaler = scalers[0].loss_scaler
