"""How a scene is tiled (:class:`ScenePlan`, made by inspection, shipped to the workers) and how its label is read."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from rsseg.formats.errors import GeoError
from rsseg.formats.label_coding import LabelCoding

from ..grid import Grid
from ..scenes import Scene
from .config import TileConfig


@dataclass
class ScenePlan:
    """How a scene is tiled, as inspection found it: grid, bands, nodata or mask, label reading (for the workers)."""

    name: str
    grid: Grid
    bands: List[int]
    dtype: str
    nodata: Optional[float]
    masked: bool
    key: str
    label_bands: List[int] = field(default_factory=list)
    label_crs: Optional[str] = None
    label_transform: Optional[Tuple[float, ...]] = None
    label_colormap: Optional[Dict[int, Tuple[int, ...]]] = None
    label_nodata: Optional[float] = None
    skip_reason: Optional[str] = None
    warnings: List[str] = field(default_factory=list)
    sample: Optional[np.ndarray] = None


def label_and_coding(scene: Scene, config: TileConfig) -> Tuple[str, LabelCoding]:
    """A labelled scene's label file and the coding that reads it; labels without class names are refused."""
    if scene.label is None:
        raise ValueError(f'scene {scene.name} has no label')
    if config.coding is None:
        raise GeoError(scene.label, 'labels need class names: pass --classes or --palette')
    return scene.label, config.coding


def label_nodata_override(coding: LabelCoding, info: ScenePlan) -> Optional[float]:
    """Nodata value for reading label validity: the coding's override (index labels), else the file's masks."""
    return coding.nodata if coding.mode == 'index' else None
