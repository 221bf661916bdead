"""Warm-start a UDA segmentor from a source-only checkpoint: the usual way UDA training begins.

A source-only ``EncoderDecoder`` has ``backbone.*`` and ``decode_head.*``; ST-DASegNet has two students
(``backbone_{s,t}``, ``decode_head_{s,t}``) and EMA teachers (``ema_*``); DACS and AdaptSegNet keep the plain names plus
``ema_*`` / ``discriminator.*``. Every model key is mapped back to its source-only name; equal shapes are copied, and
a tensor the UDA model widened (ST-DASegNet's decoders read ``C + d`` channels: the DDM's universal feature is appended
to the last stage, so the ASPP's depthwise convs, norms and pointwise convs grow) gets the source weights on the first
``C`` channels and zeros on the new ones, so the new channels start silent. Parts with no source counterpart (the
DDM, discriminators) keep their initialisation.
"""
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Tuple

import torch
from torch import Tensor

BRANCH_SUFFIX = re.compile(r'^(backbone|decode_head|auxiliary_head)_[st]$')
SOURCE_NAME = r'\1'


@dataclass
class WarmStartReport:
    """What a warm start copied, widened (zero-padded input channels) and left at its init."""
    copied: List[str] = field(default_factory=list)
    widened: List[str] = field(default_factory=list)
    kept_init: List[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: counts, and the top-level modules that kept their init."""
        kept = sorted({k.split('.')[0] for k in self.kept_init})
        return (f'{len(self.copied)} tensors copied, {len(self.widened)} widened (new channels zero), '
                f'{len(self.kept_init)} left at init ({", ".join(kept) or "none"})')


def source_key(key: str) -> str:
    """The source-only name of a UDA model key: ``ema_`` prefix and ``_s``/``_t`` branch suffix dropped."""
    key = key[len('ema_'):] if key.startswith('ema_') else key
    head, _, rest = key.partition('.')
    return f'{BRANCH_SUFFIX.sub(SOURCE_NAME, head)}.{rest}' if rest else key


def _widen(key: str, source: Tensor, like: Tensor) -> Tensor:
    """``source`` in the leading corner of a tensor shaped like ``like``: zeros elsewhere (ones for BatchNorm running
    variances); ValueError when some dimension of ``source`` is larger or the ranks differ."""
    if source.dim() != like.dim() or any(s > t for s, t in zip(source.shape, like.shape)):
        raise ValueError(f'shape {tuple(source.shape)} cannot start {tuple(like.shape)}')
    out = torch.ones_like(like) if key.endswith('running_var') else torch.zeros_like(like)
    out[tuple(slice(0, n) for n in source.shape)] = source
    return out


def warm_start_state(model_state: Dict[str, Tensor],
                     source_state: Dict[str, Tensor]) -> Tuple[Dict[str, Tensor], WarmStartReport]:
    """A full state dict for the UDA model: source-only weights where they map, the model's own elsewhere."""
    out, report = {}, WarmStartReport()
    for key, value in model_state.items():
        src = source_state.get(source_key(key))
        if src is None:
            out[key] = value
            report.kept_init.append(key)
        elif src.shape == value.shape:
            out[key] = src.to(value.dtype)
            report.copied.append(key)
        else:
            try:
                out[key] = _widen(key, src.to(value.dtype), value)
            except ValueError as exc:
                raise ValueError(f'warm start: {key} ({source_key(key)} in the source checkpoint): {exc}') from None
            report.widened.append(key)
    if not report.copied:
        raise ValueError('warm start: no weight of the source checkpoint matches the model (is it a checkpoint of '
                         'the same backbone and decode head?)')
    return out, report


def write_warm_start(model: torch.nn.Module, checkpoint: str, out_dir: str) -> Tuple[str, WarmStartReport]:
    """Write ``out_dir/warm_start.pth`` (a ``load_from`` for ``model``) from a source-only ``checkpoint``."""
    from mmengine.model import is_model_wrapper

    from rsseg.formats.files import atomic_output
    from rsseg.utils.checkpoint import checkpoint_state_dict
    model = model.module if is_model_wrapper(model) else model
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f'warm start: checkpoint {checkpoint} does not exist')
    state, report = warm_start_state(model.state_dict(), checkpoint_state_dict(checkpoint))
    target = Path(out_dir) / 'warm_start.pth'
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target) as tmp:
        torch.save({'state_dict': state, 'meta': {'warm_start_from': str(checkpoint)}}, tmp)
    return str(target), report
