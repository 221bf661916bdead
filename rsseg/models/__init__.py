"""rsseg models: ST-DASegNet's segmentor, DDM neck, discriminators, losses, the multi-scale contrastive head and
paired data preprocessor.

Every class registers into ``mmseg.registry.MODELS`` on import.
"""
from .backbones import EfficientNetLite, ResNetCIFAR
from .data_preprocessor import PairedSegDataPreProcessor
from .decode_heads import MultiScaleContrastiveHead
from .discriminators import FCDiscriminator
from .losses import GANLoss, PseudoLabelCELoss
from .necks import DomainDisentangleNeck
from .segmentors import STDASegmentor
from .ssl import DenseCL, DenseCLNeck

__all__ = [
    'PairedSegDataPreProcessor', 'FCDiscriminator', 'GANLoss', 'PseudoLabelCELoss', 'DomainDisentangleNeck',
    'STDASegmentor', 'EfficientNetLite', 'ResNetCIFAR', 'DenseCL', 'DenseCLNeck', 'MultiScaleContrastiveHead'
]
