"""Converters of public benchmark datasets into rsseg chip manifests (the tiler's format, with published splits)."""
from .common import find_files, mmseg_layout_scenes
from .isprs import ISPRS_CLASSES, ISPRS_COLORS, convert_potsdam, convert_vaihingen, isprs_coding
from .loveda import LOVEDA_CLASSES, convert_loveda, loveda_coding

__all__ = ['find_files', 'mmseg_layout_scenes', 'ISPRS_CLASSES', 'ISPRS_COLORS', 'convert_potsdam',
           'convert_vaihingen', 'isprs_coding', 'LOVEDA_CLASSES', 'convert_loveda', 'loveda_coding']
