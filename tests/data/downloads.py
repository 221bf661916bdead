"""Miniatures of the public downloads in their real layouts: ISPRS Potsdam, ISPRS Vaihingen, LoveDA.

Each writer lays out what a user unpacks (or, with ``as_zip``, the archives they download), with the real file
names, band counts, label codings and georeferencing, only with fewer and smaller tiles (512², one 512 chip each, so
that a 2-iteration run of a full config scores one chip per evaluation split):

* Potsdam: ``4_Ortho_RGBIR/top_potsdam_<id>_RGBIR.tif`` (4 × uint8, EPSG:32633, 5 cm) and
  ``5_Labels_all_noBoundary/top_potsdam_<id>_label_noBoundary.tif`` (RGB colours, black eroded boundaries);
* Vaihingen: ``ISPRS_semantic_labeling_Vaihingen/top/top_mosaic_09cm_area<N>.tif`` (IRRG, no georeferencing) and
  ``ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE/top_mosaic_09cm_area<N>_noBoundary.tif``;
* LoveDA: ``{Train,Val,Test}/{Urban,Rural}/{images_png,masks_png}/<n>.png`` (masks 0 = no-data, 1..7; Test has
  no masks).
"""
import shutil
import zipfile
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
from rasterio.transform import from_origin

from rsseg.geo.converters.isprs import ISPRS_COLORS
from tests.data.tiler_scenes.data import class_blocks, make_color_label
from tests.fixtures import write_raster

# Tiles / areas of the published train and val lists, so every split of every protocol gets scenes.
POTSDAM_TILES = ('2_10', '2_11', '2_13', '2_14')
VAIHINGEN_AREAS = (1, 3, 2, 5, 24)  # mmseg: 1, 3, 5 train / 2, 24 val; reference: 1, 3 train / 2, 5, 24 val
LOVEDA_IMAGES = {'Train': (0, 1), 'Val': (10, 11), 'Test': (20,)}


def _image(count: int, height: int, width: int, seed: int) -> np.ndarray:
    """Smooth uint8 bands with texture (compresses like imagery, not like noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:height, :width] / 64.0
    bands = [np.sin(x * rng.uniform(0.5, 2) + y * rng.uniform(0.5, 2) + rng.uniform(0, 6)) for _ in range(count)]
    noise = rng.normal(0, 0.1, (count, height, width))
    return np.clip((np.stack(bands) + noise + 1.2) * 100, 0, 255).astype(np.uint8)


def _isprs_label(size: int, seed: int) -> np.ndarray:
    """Class indices 0..5 in blocks with black boundary lines (index 6) like the eroded ISPRS labels."""
    idx = class_blocks(size, size, 6, block=32, seed=seed)
    idx[::32, :] = 6
    idx[:, ::32] = 6
    return idx


def _zip_folder(folder: Path) -> Path:
    """Replace ``folder`` by ``folder.zip`` holding it (member names ``<folder name>/...``)."""
    archive = folder.with_suffix('.zip')
    with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob('*')):
            if path.is_file():
                zf.write(path, path.relative_to(folder.parent).as_posix())
    shutil.rmtree(folder)
    return archive


def write_potsdam(root: Path, tiles: Sequence[str] = POTSDAM_TILES, size: int = 512, as_zip: bool = False) -> Path:
    """Potsdam download: RGBIR orthophotos and eroded colour labels (4_Ortho_RGBIR, 5_Labels_all_noBoundary)."""
    images, labels = root / '4_Ortho_RGBIR', root / '5_Labels_all_noBoundary'
    images.mkdir(parents=True)
    labels.mkdir()
    for seed, tile in enumerate(tiles):
        row, col = (int(p) for p in tile.split('_'))
        transform = from_origin(366000 + col * 300, 5808000 - row * 300, 0.05, 0.05)
        write_raster(images / f'top_potsdam_{tile}_RGBIR.tif', _image(4, size, size, seed), crs='EPSG:32633',
                     transform=transform)
        make_color_label(labels / f'top_potsdam_{tile}_label_noBoundary.tif', _isprs_label(size, seed),
                         list(ISPRS_COLORS) + [(0, 0, 0)], crs='EPSG:32633', transform=transform)
    if as_zip:
        _zip_folder(images), _zip_folder(labels)
    return root


def write_vaihingen(root: Path, areas: Sequence[int] = VAIHINGEN_AREAS, size: int = 512,
                    as_zip: bool = False) -> Path:
    """Vaihingen download: IRRG ``top/`` mosaics and eroded ground truth, neither georeferenced."""
    top = root / 'ISPRS_semantic_labeling_Vaihingen' / 'top'
    gts = root / 'ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE'
    top.mkdir(parents=True)
    gts.mkdir()
    for seed, area in enumerate(areas):
        write_raster(top / f'top_mosaic_09cm_area{area}.tif', _image(3, size, size, 100 + seed), crs=None)
        make_color_label(gts / f'top_mosaic_09cm_area{area}_noBoundary.tif', _isprs_label(size, 100 + seed),
                         list(ISPRS_COLORS) + [(0, 0, 0)], crs=None)
    if as_zip:
        _zip_folder(top.parent), _zip_folder(gts)
    return root


def write_loveda(root: Path, images: Dict[str, Sequence[int]] = LOVEDA_IMAGES, size: int = 512,
                 as_zip: bool = False) -> Path:
    """LoveDA download: ``Train``/``Val``/``Test`` × ``Urban``/``Rural`` PNGs; masks 0..7 (0 = no-data)."""
    for split, stems in images.items():
        for d, domain in enumerate(('Urban', 'Rural')):
            for stem in stems:
                name = stem + 1000 * d
                folder = root / split / domain
                (folder / 'images_png').mkdir(parents=True, exist_ok=True)
                write_raster(folder / 'images_png' / f'{name}.png', _image(3, size, size, name), crs=None,
                             driver='PNG')
                if split != 'Test':
                    (folder / 'masks_png').mkdir(exist_ok=True)
                    mask = class_blocks(size, size, 8, block=64, seed=name)  # 0 = no-data, 1..7 classes
                    write_raster(folder / 'masks_png' / f'{name}.png', mask[None], crs=None, driver='PNG')
    if as_zip:
        for split in images:
            _zip_folder(root / split)
    return root
