"""Datasets and transforms: manifest-driven raster chips, whole-image preparers, UDA pairing.

The manifest and palette formats they read live in :mod:`rsseg.formats`.
"""
from .geo_chip_dataset import GeoChipDataset
from .paired_domain_dataset import PairedDomainDataset
from .transforms import LoadRasterAnnotation, LoadRasterImage, RSAlbu, TwoViews
from .unlabelled_chips import UnlabelledChipDataset

__all__ = ['GeoChipDataset', 'LoadRasterImage', 'LoadRasterAnnotation', 'RSAlbu', 'PairedDomainDataset', 'TwoViews',
           'UnlabelledChipDataset']
