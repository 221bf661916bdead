"""Colour-coded label images (RGB or palette PNG/TIFF) → uint8 class-index GeoTIFFs aligned with their image: one
mask (:func:`convert_color_mask`) or a folder of them (:func:`convert_folder`)."""
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
from rasterio.enums import Resampling
from tqdm import tqdm

from rsseg.formats.errors import GeoError
from rsseg.formats.files import OutputLock, PathLike, remove_stale_temps
from rsseg.formats.palette import Palette

from .chips import chip_profile, write_chip
from .class_styles import class_colormap
from .cog import read_tags
from .io import open_raster
from .scenes import list_images, pair_by_stem

PALETTE_TAG = 'RSSEG_PALETTE'


def read_color_mask(path: PathLike, out_shape: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Read a colour mask as (H, W, 3) uint8 RGB; palette ('P') images are expanded through their colour table.

    Args:
        path: Mask file.
        out_shape: Resample (nearest) to this (H, W) while reading; None keeps the stored size.
    """
    with open_raster(path) as src:
        kwargs = dict(out_shape=out_shape, resampling=Resampling.nearest) if out_shape else {}
        if src.count == 1:
            try:
                cmap = src.colormap(1)
            except ValueError as err:
                raise GeoError(path, 'single-band mask without a colour table: expected an RGB or palette '
                                     'image') from err
            lut = np.zeros((256, 3), np.uint8)
            for index, rgba in cmap.items():
                lut[index] = rgba[:3]
            return lut[src.read(1, **kwargs)]
        if src.count < 3:
            raise GeoError(path, f'{src.count}-band mask: expected an RGB or palette image')
        return np.moveaxis(src.read([1, 2, 3], **kwargs), 0, -1)


def convert_color_mask(image: PathLike, mask: PathLike, palette: Palette, out: PathLike,
                       resize: bool = False) -> np.ndarray:
    """Encode ``mask`` with ``palette`` and write a uint8 label GeoTIFF on ``image``'s grid (atomically).

    Args:
        image: The image the mask labels (its size, CRS and transform are copied).
        mask: Colour-coded mask.
        palette: Class colours and ignore colours.
        out: Output GeoTIFF path.
        resize: Allow a mask stored at another size than its image (nearest resampling); refused otherwise.

    Returns:
        The (H, W) class-index array written.
    """
    with open_raster(image) as img:
        shape, crs, transform = (img.height, img.width), img.crs, img.transform
    with open_raster(mask) as m:
        mask_shape = (m.height, m.width)
    if mask_shape != shape and not resize:
        raise GeoError(mask, f'mask is {mask_shape[1]}x{mask_shape[0]} px but its image {image} is '
                             f'{shape[1]}x{shape[0]} px (pass resize=True / --resize to resample it)')
    labels = palette.encode(read_color_mask(mask, shape if mask_shape != shape else None), where=str(mask))
    write_label_raster(out, labels, crs, transform, palette)
    return labels


def write_label_raster(out: PathLike, labels: np.ndarray, crs, transform, palette: Optional[Palette] = None,
                       nodata: int = 255) -> None:
    """Write a uint8 class-index GeoTIFF the way label chips are written (temporary name, colour table)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    profile = chip_profile('uint8', 1, labels.shape[0], labels.shape[1], crs, nodata)
    colormap = class_colormap(palette.colors, nodata) if palette is not None else None
    band_tags = dict(CLASSES=','.join(palette.classes)) if palette is not None else None
    tags = {PALETTE_TAG: palette.digest()} if palette is not None else None
    write_chip(out, labels[None], profile, transform, colormap=colormap, tags=tags, band_tags=band_tags)


def made_with(path: PathLike, palette: Palette) -> bool:
    """Whether the label raster ``path`` exists, is readable and was written with ``palette``."""
    return Path(path).is_file() and read_tags(path).get(PALETTE_TAG) == palette.digest()


def convert_folder(images: str, masks: str, palette: str, out: str, resize: bool = False,
                   progress: bool = True) -> List[Path]:
    """Convert every image's mask; returns the label paths (``OUT/<stem>.tif``) in image order.

    Raises:
        ValueError: Some masks could not be converted (all are tried; the others are written).
    """
    pal = Palette.from_file(palette)
    pairs = pair_by_stem(list_images(images), list_images(masks))
    out_dir = Path(out)
    written, failed = [], []
    with OutputLock(out_dir, 'label output folder'):
        remove_stale_temps(out_dir)
        for image, mask in tqdm(pairs, desc='masks', unit='mask', disable=not progress):
            target = out_dir / f'{image.stem}.tif'
            if made_with(target, pal):
                written.append(target)
                continue
            if target.exists():
                print(f'warning: {target} was not made with palette {palette} (or is unreadable): converting again',
                      file=sys.stderr)
            try:
                convert_color_mask(image, mask, pal, target, resize=resize)
                written.append(target)
            except ValueError as exc:
                failed.append(str(exc))
    if failed:
        more = f' (and {len(failed) - 1} more: {"; ".join(failed[1:4])})' if len(failed) > 1 else ''
        raise ValueError(f'{len(failed)} of {len(pairs)} mask(s) not converted: {failed[0]}{more}')
    return written
