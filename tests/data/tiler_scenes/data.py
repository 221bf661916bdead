"""Seeded generators of small scenes for the tiler's tests (image + label GeoTIFFs, colour masks, PNG datasets)."""
from pathlib import Path
from typing import Optional, Sequence, Tuple

import numpy as np
from affine import Affine

from tests.fixtures import UTM, write_raster

ISPRS_COLORS = [(255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0)]


def class_blocks(height: int, width: int, num_classes: int, block: int = 8, seed: int = 0) -> np.ndarray:
    """A (H, W) uint8 label of ``block``-pixel squares of random classes (mode resampling keeps it meaningful)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, num_classes, size=(-(-height // block), -(-width // block)))
    return np.kron(small, np.ones((block, block), int))[:height, :width].astype(np.uint8)


def make_scene(folder: Path, name: str = 'scene', width: int = 96, height: int = 80, count: int = 3,
               dtype: str = 'uint16', nodata=0, num_classes: int = 3, seed: int = 0, crs: Optional[str] = UTM,
               transform: Optional[Affine] = None, label: bool = True, label_nodata: Optional[int] = 255,
               nodata_corner: Tuple[int, int] = (10, 12)) -> Tuple[Path, Optional[Path]]:
    """An image (nodata in the top-left corner) and its class-index label (nodata 255 in a bottom strip)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    hi = 250 if dtype == 'uint8' else 4000
    data = rng.integers(1, hi, size=(count, height, width)).astype(dtype)
    if nodata is not None:
        data[:, :nodata_corner[0], :nodata_corner[1]] = nodata
    img = write_raster(folder / f'{name}.tif', data, crs=crs, transform=transform, nodata=nodata)
    if not label:
        return img, None
    lbl = class_blocks(height, width, num_classes, seed=seed)
    if label_nodata is not None:
        lbl[-4:, :] = label_nodata
    lab = write_raster(folder / f'{name}_label.tif', lbl[None], crs=crs, transform=transform, nodata=label_nodata)
    return img, lab


def make_color_label(path: Path, index: np.ndarray, colors: Sequence[Tuple[int, int, int]], crs: Optional[str] = UTM,
                     transform: Optional[Affine] = None, driver: str = 'GTiff') -> Path:
    """Write a colour-coded RGB mask for a (H, W) class-index array."""
    table = np.array(colors, np.uint8)
    rgb = table[index].transpose(2, 0, 1)
    if driver == 'PNG':
        return write_raster(path, np.ascontiguousarray(rgb), crs=None, driver='PNG')
    return write_raster(path, np.ascontiguousarray(rgb), crs=crs, transform=transform)
