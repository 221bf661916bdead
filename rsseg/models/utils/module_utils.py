"""Small module helpers shared by the segmentor, the EMA hook and the optimizer constructor."""
from typing import Iterable, Union

import torch.nn as nn
from mmengine.model import is_model_wrapper
from torch.nn.modules.dropout import _DropoutNd

Modules = Union[nn.Module, Iterable[nn.Module], None]


def unwrap(module: nn.Module) -> nn.Module:
    """Return the module inside a (possibly nested) DDP / mmengine model wrapper.

    ``MMSeparateDistributedDataParallel`` wraps every first-level submodule of the segmentor in its own
    ``MMDistributedDataParallel``; methods other than ``forward`` (``loss_by_feat``, ``predict_by_feat``...) and
    attributes must be reached through the wrapped module.
    """
    while is_model_wrapper(module):
        module = module.module
    return module


def set_requires_grad(modules: Modules, requires_grad: bool) -> None:
    """Switch ``requires_grad`` of every parameter of one module or a list of modules (None entries skipped)."""
    if modules is None:
        return
    if isinstance(modules, nn.Module):
        modules = [modules]
    for module in modules:
        if module is None:
            continue
        for param in module.parameters():
            param.requires_grad_(requires_grad)


def freeze(module: nn.Module) -> None:
    """Make ``module`` a frozen teacher: no gradients; dropout / drop-path off (see :func:`disable_dropout`)."""
    set_requires_grad(module, False)
    disable_dropout(module)


def disable_dropout(module: nn.Module) -> None:
    """Put every dropout and drop-path layer of ``module`` in eval mode, leaving normalisation layers alone.

    Teachers built as EMA copies of *parameters only* have no meaningful BatchNorm running statistics, so they
    normalise with batch statistics like the students (as the reference and DAFormer do) but must not drop units.
    """
    for child in module.modules():
        if isinstance(child, _DropoutNd) or type(child).__name__ == 'DropPath':
            child.eval()
