"""ST-DASegNet's consistency checks: the parts of an :class:`~rsseg.models.STDASegmentor` against each other.

Each check raises one ValueError naming the mismatch and the setting to change. Two kinds:

* :func:`check_parts` compares configured numbers (classes of both decoders, input bands of both backbones and the
  preprocessor); it is free, and building the segmentor runs it;
* :func:`check_shapes` runs both backbones on a small dummy image and checks the DDM, the decoders and the
  discriminators against the features they would get, and, by autograd, that every DDM stage with parameters
  feeds a decoder. It costs a forward pass, so building never runs it: ``STDASegmentor.init_weights`` does (mmengine's
  ``Runner.train`` calls it before the first iteration), and so can whoever builds a model
  (``model.check_shapes()``).

The checks read the parts through :func:`~rsseg.models.utils.unwrap`, so they also run on a model whose submodules
mmengine's ``MMSeparateDistributedDataParallel`` has wrapped, on the device the model is on.
"""
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from ..utils import unwrap

Features = Tuple[Tensor, ...]
BRANCHES = ('s', 't')


def first_conv_in_channels(module: nn.Module) -> Optional[int]:
    """Input channels of the first ``Conv2d`` of ``module`` (its input bands for a backbone); None without one."""
    conv = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
    return conv.in_channels if conv is not None else None


def _part(model: nn.Module, name: str) -> nn.Module:
    return unwrap(getattr(model, name))


def check_parts(model: nn.Module) -> int:
    """Both decoders predict the same classes; both backbones and the preprocessor take the same bands.

    Returns:
        The number of input bands (3 when the backbone's first layer is not a convolution).
    """
    heads = [_part(model, f'decode_head_{b}') for b in BRANCHES]
    if heads[0].num_classes != heads[1].num_classes:
        raise ValueError(f'decode_head_s has {heads[0].num_classes} classes but decode_head_t '
                         f'{heads[1].num_classes}; both students must predict the same classes')
    bands = [first_conv_in_channels(_part(model, f'backbone_{b}')) for b in BRANCHES]
    if bands[0] != bands[1]:
        raise ValueError(f'backbone_s takes {bands[0]} input bands but backbone_t {bands[1]}')
    pre_bands = getattr(unwrap(model.data_preprocessor), 'num_bands', None)
    if pre_bands is not None and bands[0] is not None and pre_bands != bands[0]:
        raise ValueError(f'the data preprocessor normalises {pre_bands} bands but the backbones take {bands[0]} '
                         '(backbone in_channels)')
    return bands[0] or 3


def check_shapes(model: nn.Module, size: int = 64) -> None:
    """Run the backbones on a ``size``² dummy image and check the DDM, the decoders and the discriminators against
    their features (eval mode, no statistics updated, no weights changed).

    A backbone that cannot run on the dummy image is logged and the checks are left to the first real batch.
    """
    feats = dry_run_backbones(model, check_parts(model), size)
    if feats is None:
        return
    neck = _part(model, 'neck')
    neck.check_inputs(*feats)
    for b in BRANCHES:
        check_head_channels(_part(model, f'decode_head_{b}'), neck.out_channels, b)
    check_stage_usage(neck, [_part(model, f'decode_head_{b}') for b in BRANCHES], feats)
    for b, branch_feats in zip(BRANCHES, feats):
        disc, last = _part(model, f'discriminator_{b}'), branch_feats[-1].shape[1]
        if getattr(disc, 'in_channels', last) != last:
            raise ValueError(f'discriminator_{b} in_channels={disc.in_channels} but the last stage of backbone_{b} '
                             f'has {last} channels')


def dry_run_backbones(model: nn.Module, bands: int, size: int = 64) -> Optional[Tuple[Features, Features]]:
    """Stage features of both backbones for one zero image; None (logged) if a backbone cannot run on it."""
    backbones = [_part(model, f'backbone_{b}') for b in BRANCHES]
    param = next(backbones[0].parameters(), None)
    x = torch.zeros(1, bands, size, size, device=param.device if param is not None else None)
    try:
        with _eval_mode(backbones), torch.no_grad():
            return tuple(tuple(m(x)) for m in backbones)
    except Exception as exc:  # noqa: BLE001  a backbone that needs another input size: skip the dry run
        print_log(f'STDASegmentor: skipped the shape check ({exc})', logger='current')
        return None


def check_stage_usage(neck: nn.Module, heads: Sequence[nn.Module], feats: Tuple[Features, Features]) -> None:
    """Every DDM stage with parameters must feed a decoder (found by differentiating the decoders' output with
    respect to the DDM stages); otherwise those parameters never train."""
    used = set()
    with _eval_mode([neck, *heads]):
        with torch.no_grad():
            ddm = neck(*feats)
        for head, stages in zip(heads, ddm):
            leaves = [f.detach().requires_grad_() for f in stages]
            with torch.enable_grad():
                grads = torch.autograd.grad(head(tuple(leaves)).sum(), leaves, allow_unused=True)
            used |= {i for i, g in enumerate(grads) if g is not None}
    unused = [i for i in neck.stages_with_params if i not in used]
    if unused:
        raise ValueError(f'DDM stage(s) {unused} hold parameters but no decoder reads them (the decoders read '
                         f'stages {sorted(used)}); set neck distinct_stages={sorted(used)}: unread blocks would '
                         'never train and DistributedDataParallel refuses parameters without gradients')


def check_head_channels(head: nn.Module, ddm_channels: List[int], branch: str) -> None:
    """The decoder of ``branch`` reads channels the DDM gives (its ``in_index`` stages, and DeepLabV3+'s c1)."""
    idx = head.in_index if isinstance(head.in_index, (list, tuple)) else [head.in_index]
    expected = [ddm_channels[i] for i in idx]
    got = head.in_channels if isinstance(head.in_channels, (list, tuple)) else [head.in_channels]
    if getattr(head, 'input_transform', None) == 'resize_concat':
        expected = [sum(expected)]
    c1 = getattr(head, 'c1_bottleneck', None)
    c1_ok = c1 is None or first_conv_in_channels(c1) == ddm_channels[0]
    if list(got) != expected or not c1_ok:
        raise ValueError(f'decode_head_{branch} in_channels={head.in_channels} (in_index={head.in_index}'
                         f'{f", c1_in_channels={first_conv_in_channels(c1)}" if c1 is not None else ""}) do '
                         f'not match the DDM output channels {ddm_channels} (C + d on universal stages)')


@contextmanager
def _eval_mode(modules: Sequence[nn.Module]) -> Iterator[None]:
    """``modules`` in eval mode inside the context, each back in its own mode after it."""
    modes = [m.training for m in modules]
    try:
        for m in modules:
            m.eval()
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)
