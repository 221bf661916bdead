"""mmseg's ResNet with a CIFAR-style stem: one 3×3 stride-1 convolution and no max-pool.

Some self-supervised aerial encoders (geoembed's V3 ResNet-18, ``packaged://geoembed-resnet18``) were trained with this
stem on small tiles; mmseg's 7×7 stride-2 stem plus max-pool would see every feature at a quarter of the scale the
filters learnt. Layers 1–4 are mmseg's (torchvision-identical for ``style='pytorch'``), so state-dict keys are
``conv1, bn1, layerX.Y.{conv1,bn1,conv2,bn2,downsample.0,downsample.1}`` as in ``ResNet``.

Output strides of ``layer1..layer4``: 1, 2, 4, 8 (channels 64, 128, 256, 512 for depth 18/34), i.e. four times
finer than mmseg's ResNet; decode heads see 1/8-resolution deep features, and memory grows accordingly.
"""
import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmseg.models.backbones import ResNet
from mmseg.registry import MODELS


@MODELS.register_module()
class ResNetCIFAR(ResNet):
    """ResNet whose stem is ``conv1`` 3×3/1 → ``bn1`` → ReLU, without max-pool (output strides 1, 2, 4, 8).

    Takes every argument of mmseg's ``ResNet`` except ``deep_stem``.
    """

    def __init__(self, **kwargs) -> None:
        if kwargs.get('deep_stem'):
            raise ValueError('ResNetCIFAR has a single 3x3 stem convolution; deep_stem is not supported')
        super().__init__(**kwargs)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        """mmseg's plain stem with ``conv1`` 3×3 stride 1 and the max-pool replaced by identity."""
        super()._make_stem_layer(in_channels, stem_channels)
        self.conv1 = build_conv_layer(
            self.conv_cfg, in_channels, stem_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.maxpool = nn.Identity()
