"""Datasets and transforms: manifest-driven raster chips, colour-mask palettes, UDA pairing."""
from .geo_chip_dataset import GeoChipDataset
from .manifest import ChipRecord, Manifest
from .paired_domain_dataset import PairedDomainDataset
from .palette import Palette, PaletteError
from .transforms import LoadRasterAnnotation, LoadRasterImage, RSAlbu, TwoViews
from .unlabelled_chips import UnlabelledChipDataset

__all__ = ['GeoChipDataset', 'ChipRecord', 'Manifest', 'Palette', 'PaletteError', 'LoadRasterImage',
           'LoadRasterAnnotation', 'RSAlbu', 'PairedDomainDataset', 'TwoViews', 'UnlabelledChipDataset']
