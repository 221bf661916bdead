"""Backbones: only ones mmseg lacks (EfficientNet-Lite; ResNet with a CIFAR-style stem for geoembed's weights)."""
from .efficientnet_lite import EfficientNetLite
from .resnet_cifar import ResNetCIFAR

__all__ = ['EfficientNetLite', 'ResNetCIFAR']
