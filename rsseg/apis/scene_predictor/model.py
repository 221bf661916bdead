"""The model side of prediction: loading a checked checkpoint, what the model expects, and its class probabilities.

Importing this module imports :mod:`rsseg.plugin`, so rsseg's modules are registered and checkpoints load safely.
"""
import copy
import re
from contextlib import nullcontext
from pathlib import Path
from typing import Optional, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.formats.files import PathLike
from rsseg.utils.checkpoint import check_state_dict

from ..runner import load_config


def load_model(config: Union[PathLike, Config], checkpoint: PathLike,
               device: str = 'cpu') -> Tuple[torch.nn.Module, Config, dict]:
    """Build the segmentor with mmseg's ``init_model`` and load ``checkpoint`` after checking it matches.

    The checkpoint goes through mmengine's loader, which rsseg routes through torch's ``weights_only`` unpickler.

    Returns:
        ``(model in eval mode on device, config, checkpoint meta)``.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    from mmseg.apis import init_model
    if not isinstance(config, Config):
        config = load_config(str(config))
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    model = init_model(config, None, device='cpu')
    ckpt = _load_checkpoint(str(checkpoint), map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    check_state_dict(model, state, str(checkpoint), str(getattr(config, 'filename', None) or 'given'))
    model.load_state_dict(state, strict=True)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    model.dataset_meta = meta.get('dataset_meta')
    return model.to(device).eval(), config, meta


@torch.no_grad()
def fast_inference_model(model: torch.nn.Module, in_channels: Optional[int], size: int = 64,
                         tol: float = 1e-4) -> Tuple[torch.nn.Module, bool]:
    """A copy of the eval-mode model that runs faster: each BatchNorm folded into the convolution before it (mmcv's
    ``fuse_conv_bn``, as mmdet's ``--fuse-conv-bn``) and its weights channels-last, the layout oneDNN's and cuDNN's
    fastest convolutions use (measured on 2 CPU cores: 0.71x the forward time of DeepLabV3+ R18-tiny).

    ``fuse_conv_bn`` pairs a BatchNorm with the convolution listed before it, which a model built otherwise would not
    survive, so the copy is used only if its logits on a probe input equal the original's within ``tol``; outputs
    differ by float rounding only. Returns ``(model, whether the fast copy is used)``.
    """
    from mmcv.cnn import fuse_conv_bn
    if in_channels is None:
        return model, False
    device = next(model.parameters()).device
    probe = torch.rand(2, in_channels, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    metas = [dict(img_shape=(size, size), pad_shape=(size, size), ori_shape=(size, size))] * 2
    fast = fuse_conv_bn(copy.deepcopy(model)).to(memory_format=torch.channels_last).eval()
    try:
        same = torch.allclose(fast.encode_decode(probe.contiguous(memory_format=torch.channels_last), metas),
                              model.encode_decode(probe, metas), atol=tol, rtol=tol)
    except Exception:  # noqa: BLE001 - a model the probe does not fit: keep it as it is
        return model, False
    return (fast, True) if same else (model, False)


def model_in_channels(model: torch.nn.Module) -> Optional[int]:
    """Input channels of the model's first convolution (its stem), or None when it has none."""
    root = getattr(model, 'backbone', None) or getattr(model, 'backbone_s', None) or model
    conv = next((m for m in root.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)), None)
    if conv is not None:
        return int(conv.in_channels)
    mean = getattr(model.data_preprocessor, 'mean', None)
    return int(mean.numel()) if mean is not None else None


def model_num_classes(model: torch.nn.Module) -> int:
    """Number of classes the segmentor predicts."""
    head = getattr(model, 'decode_head', None) or getattr(model, 'decode_head_t', None)
    num = getattr(model, 'num_classes', None) or getattr(head, 'num_classes', None)
    if num is None:
        raise ValueError('cannot tell how many classes the model predicts (no num_classes on it or its decode head)')
    return int(num)


def default_window(cfg: Config) -> Tuple[int, Optional[float]]:
    """Window size and overlap from the config's slide ``test_cfg`` (else 512 px and None)."""
    test_cfg = cfg.model.get('test_cfg') or {}
    if test_cfg.get('mode') == 'slide' and test_cfg.get('crop_size'):
        crop = test_cfg['crop_size']
        crop = int(crop[0] if isinstance(crop, (list, tuple)) else crop)
        stride = test_cfg.get('stride')
        stride = int(stride[0] if isinstance(stride, (list, tuple)) else stride) if stride else None
        return crop, (1.0 - stride / crop) if stride else None
    return 512, None


@torch.no_grad()
def class_probabilities(model: torch.nn.Module, device: torch.device, amp: bool, batch: np.ndarray,
                        weights: Optional[np.ndarray] = None, channels_last: bool = False) -> np.ndarray:
    """Class probabilities of a batch of normalised windows, optionally multiplied by per-window weights.

    Args:
        model: The segmentor (its data preprocessor normalises as in training).
        device: The model's device.
        amp: Run the model under float16 autocast (CUDA).
        batch: (N, C, h, w) float32 in [0, 1] (the training loader's convention).
        weights: (N, h, w) blending weights, applied on the device.
        channels_last: Hand the model channels-last input (for a model made by :func:`fast_inference_model`).

    Returns:
        (N, num_classes, h, w) float32 probabilities (times ``weights``).
    """
    from mmseg.structures import SegDataSample
    n, _, h, w = batch.shape
    samples = [SegDataSample(metainfo=dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w)))
               for _ in range(n)]
    inputs = torch.from_numpy(batch).to(device, non_blocking=True)
    data = model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), False)
    x = data['inputs'].contiguous(memory_format=torch.channels_last) if channels_last else data['inputs']
    metas = [dict(s.metainfo, img_shape=(h, w), pad_shape=tuple(x.shape[2:])) for s in data['data_samples']]
    autocast = torch.autocast(device_type='cuda', dtype=torch.float16) if amp else nullcontext()
    with autocast:
        logits = model.encode_decode(x, metas)
    logits = logits[:, :, :h, :w].float()
    if logits.shape[1] == 1:
        fg = logits.sigmoid()
        probs = torch.cat([1 - fg, fg], dim=1)
    else:
        probs = logits.softmax(dim=1)
    if weights is not None:
        probs *= torch.from_numpy(weights).to(probs.device)[:, None]
    return probs.contiguous().cpu().numpy()
