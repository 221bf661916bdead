"""Checkpoint loading with torch's safe (``weights_only``) unpickler kept on.

A checkpoint is a pickle: loading one that someone handed you must not run their code. mmengine 0.10.x calls
``torch.load`` without ``weights_only``; torch >= 2.6 then defaults to the safe unpickler, which refuses the few
non-tensor types mmengine itself writes (the message hub's ``HistoryBuffer`` and numpy scalars/arrays). We allow
exactly those, resolve ``getattr`` only for ``HistoryBuffer``'s statistics methods, and turn any other refusal into a
clear error that names the file and the offending global.
"""
import os.path as osp
import pickle
from typing import Any, Callable, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

_HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'current', 'mean'})


class CheckpointRefusedError(RuntimeError):
    """A checkpoint holds objects outside the allow-list of types mmengine writes."""


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """Stand-in for ``builtins.getattr`` inside checkpoints: only ``HistoryBuffer.<statistic>`` resolves."""
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


def _safe_globals() -> list:
    """The globals mmengine's own checkpoints need, under their numpy 2 and numpy 1 names."""
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    return [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        type(np.dtype(np.float64)),
        type(np.dtype(np.int64)),
        type(np.dtype(np.float32)),
        type(np.dtype(np.int32)),
        multiarray._reconstruct,
        multiarray.scalar,
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (_history_buffer_getattr, 'builtins.getattr'),
    ]


def safe_torch_load(filename: str, map_location: Optional[Any] = None) -> Any:
    """``torch.load`` with ``weights_only=True``; a refused global raises :class:`CheckpointRefusedError`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        # the allow-list travels with the call: loading is safe and works whether or not rsseg.plugin ran
        with torch.serialization.safe_globals(_safe_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = next((ln for ln in lines if 'GLOBAL' in ln or 'not allowed' in ln or 'blocked' in ln), lines[-1])
        raise CheckpointRefusedError(
            f'refusing to load checkpoint {filename}: it holds an object that is not a tensor, number, string or a '
            f'type mmengine writes, so unpickling it could run code ({detail})') from None
    except (RuntimeError, EOFError) as exc:
        raise CheckpointRefusedError(f'checkpoint {filename} is not a readable torch checkpoint: {exc}') from None


def install_safe_checkpoint_loading() -> None:
    """Allow mmengine's checkpoint types for the safe unpickler and route local loads through it."""
    torch.serialization.add_safe_globals(_safe_globals())
    CheckpointLoader.register_scheme(prefixes='', loader=safe_torch_load, force=True)


def check_state_dict(model: torch.nn.Module, state: dict, checkpoint: str, config: str) -> None:
    """Refuse a state dict whose keys or shapes differ from ``model``'s, naming them in one ValueError.

    mmengine only warns about such checkpoints and then evaluates a partly random model; a user asking for
    checkpoint X with config Y wants to know that X is not Y's.
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f'{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}' for k in own
              if k in state and hasattr(state[k], 'shape') and state[k].shape != own[k].shape]
    if not (missing or unexpected or shapes):
        return
    parts = []
    for label, keys in (('missing from the checkpoint', missing), ('not in the model', unexpected),
                        ('with other shapes (checkpoint vs model)', shapes)):
        if keys:
            more = f', ... ({len(keys)} in all)' if len(keys) > 4 else ''
            parts.append(f'{label}: {", ".join(keys[:4])}{more}')
    raise ValueError(f'checkpoint {checkpoint} does not match config {config}: ' + '; '.join(parts))


def state_dict_of(ckpt: Any) -> dict:
    """The (DDP-unwrapped) ``state_dict`` of a loaded checkpoint."""
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def checkpoint_state_dict(filename: str) -> dict:
    """The (DDP-unwrapped) ``state_dict`` of a checkpoint file, loaded safely."""
    return state_dict_of(safe_torch_load(filename, map_location='cpu'))


def check_checkpoint_matches(model: torch.nn.Module, filename: str, config: str = 'the config') -> None:
    """Refuse checkpoint ``filename`` unless it fits ``model`` (built from ``config``) exactly."""
    from mmengine.model import is_model_wrapper
    model = model.module if is_model_wrapper(model) else model
    check_state_dict(model, checkpoint_state_dict(filename), filename, config)
