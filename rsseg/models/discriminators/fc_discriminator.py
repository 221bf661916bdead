"""The fully convolutional (patch) discriminator of the adversarial UDA methods, one class for both shapes in use:
AdaptSegNet's ``FCDiscriminator`` on softmax outputs and the stride-1-tail variant ST-DASegNet (its reference's
``AdapSegDiscriminator``) uses on backbone features."""
from typing import List, Optional, Union

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class FCDiscriminator(BaseModule):
    """Stack of 4×4 convolutions with LeakyReLU(0.2) that outputs a one-channel real/fake logit map.

    Layers: ``num_convs`` stride-2 convs (the first without normalisation, the others with ``norm_cfg``, instance
    norm by default), one conv with ``norm_cfg`` and a classifier conv to one channel, both of stride
    ``last_stride``. Channels double from ``base_channels`` up to ``8 * base_channels``; every conv is 4×4 with
    padding 1.

    Two shapes are in use:

    * ``last_stride=1`` (default), ST-DASegNet's feature discriminator: the output is ``1/2**num_convs`` of the input
      (minus 2 pixels per axis for the two stride-1 4×4 convs);
    * ``num_convs=3, last_stride=2, norm_cfg=None``: AdaptSegNet's ``FCDiscriminator`` exactly (conv1..conv4 of
      64-128-256-512 channels and the classifier, all stride 2), output ``1/32`` of the input (384 → 12).

    Args:
        in_channels: Channels of the input feature (e.g. 2048 for the last ResNet-50 stage).
        base_channels: Channels of the first conv (64 in the reference).
        num_convs: Number of stride-2 convs before the last two (3 for DeepLabV3+, 2 for SegFormer in the
            ST-DASegNet configs; 3 for AdaptSegNet).
        last_stride: Stride of the last two convs: 1 (ST-DASegNet) or 2 (AdaptSegNet's ``FCDiscriminator``).
        norm_cfg: Normalisation after every conv but the first and the last.
        negative_slope: LeakyReLU slope.
        init_cfg: mmengine init config; normal(0, 0.02) by default, as the reference.
    """

    kernel_size = 4

    def __init__(self, in_channels: int, base_channels: int = 64, num_convs: int = 3, last_stride: int = 1,
                 norm_cfg: Optional[dict] = dict(type='IN'), negative_slope: float = 0.2,
                 init_cfg: Optional[Union[dict, List[dict]]] = dict(type='Normal', layer='Conv2d', std=0.02)) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_convs < 1:
            raise ValueError(f'FCDiscriminator num_convs must be >= 1, got {num_convs}')
        if last_stride not in (1, 2):
            raise ValueError(f'FCDiscriminator last_stride must be 1 (ST-DASegNet) or 2 (AdaptSegNet), got '
                             f'{last_stride}')
        self.in_channels = in_channels
        self.num_convs = num_convs
        self.last_stride = last_stride
        act_cfg = dict(type='LeakyReLU', negative_slope=negative_slope)
        layers = [self._conv(in_channels, base_channels, 2, None, act_cfg)]
        mult = 1
        for n in range(1, num_convs):
            prev, mult = mult, min(2**n, 8)
            layers.append(self._conv(base_channels * prev, base_channels * mult, 2, norm_cfg, act_cfg))
        prev, mult = mult, min(2**num_convs, 8)
        layers.append(self._conv(base_channels * prev, base_channels * mult, last_stride, norm_cfg, act_cfg))
        layers.append(nn.Conv2d(base_channels * mult, 1, self.kernel_size, stride=last_stride, padding=1))
        self.layers = nn.Sequential(*layers)

    def _conv(self, cin: int, cout: int, stride: int, norm_cfg: Optional[dict], act_cfg: dict) -> ConvModule:
        return ConvModule(cin, cout, self.kernel_size, stride=stride, padding=1, bias=True, norm_cfg=norm_cfg,
                          act_cfg=act_cfg)

    def output_size(self, size: int) -> int:
        """Spatial output size for an input of ``size`` pixels along one axis."""
        for _ in range(self.num_convs):
            size = (size + 2 - self.kernel_size) // 2 + 1
        for _ in range(2):
            size = (size + 2 - self.kernel_size) // self.last_stride + 1
        return size

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) → (N, 1, h, w) logits; too small an input raises ValueError naming the sizes."""
        if x.shape[1] != self.in_channels:
            raise ValueError(f'FCDiscriminator expects {self.in_channels} input channels, got {x.shape[1]}')
        h, w = x.shape[-2:]
        if min(self.output_size(h), self.output_size(w)) < 1:
            raise ValueError(f'FCDiscriminator with num_convs={self.num_convs}, last_stride={self.last_stride} '
                             'needs a feature map of at least '
                             f'{self.min_input_size()}×{self.min_input_size()} pixels, got {h}×{w}; use larger crops '
                             'or fewer num_convs')
        return self.layers(x)

    def min_input_size(self) -> int:
        """Smallest square feature size that gives a non-empty output."""
        size = 1
        while self.output_size(size) < 1:
            size += 1
        return size
