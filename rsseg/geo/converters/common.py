"""Shared helpers of the dataset converters: finding files in folders and zip archives, mmseg-converted layouts."""
import random
import re
import warnings
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

from rsseg.formats.label_coding import LabelCoding

from ..scenes import Scene
from ..tiler import TileConfig, TileReport, assign_splits, tile_scenes

SPLIT_NAMES = ('train', 'val', 'test')
PROTOCOLS = ('holdout', 'reference')


def protocol_splits(published: Dict[str, str], labelled: Set[str], protocol: str = 'holdout',
                    test_share: float = 0.5, seed: int = 0) -> Dict[str, str]:
    """Final ``{scene: split}`` of a converted dataset under an evaluation protocol.

    ``published`` holds the dataset's own train / non-train assignment (``'train'`` or anything else). Scenes that
    are not ``train``:

    * without labels (LoveDA ``Test``) → ``'benchmark'`` (the public benchmark's hidden-label images, never scored);
    * with labels, ``protocol='reference'`` → ``'val'`` (the reference selects and reports on the same split);
    * with labels, ``protocol='holdout'`` (default) → a seeded ``test_share`` of them, **per scene**, → ``'test'``
      (held out: never trained on, never used to select), the rest → ``'val'`` (checkpoint selection). With fewer
      than two such scenes, train scenes are moved in (seeded) so that both val and test get one.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')
    if not 0.0 < test_share < 1.0:
        raise ValueError(f'test share must be in (0, 1), got {test_share}')
    out = {name: 'train' if split == 'train' else 'benchmark' for name, split in published.items()}
    pool = sorted(n for n, split in published.items() if split != 'train' and n in labelled)
    if protocol == 'reference':
        return {**out, **{n: 'val' for n in pool}}
    train = sorted(n for n, split in published.items() if split == 'train' and n in labelled)
    if len(pool) < 2 and len(train) >= 3 - len(pool):
        moved = sorted(random.Random(seed).sample(train, 2 - len(pool)))
        warnings.warn(f'only {len(pool)} labelled scene(s) outside the training split: moving {moved} from train '
                      'to the evaluation splits so that val and test each hold a scene', UserWarning, stacklevel=2)
        pool = sorted(pool + moved)
    if len(pool) < 2:
        warnings.warn(f'{len(pool)} labelled scene(s) to evaluate on: the held-out test split stays empty (use '
                      '--protocol reference to score on val)', UserWarning, stacklevel=2)
        return {**out, **{n: 'val' for n in pool}}
    carved = assign_splits(pool, (0.0, 1.0 - test_share, test_share), seed)
    return {**out, **carved}


def find_files(root: str, pattern: str) -> List[Tuple[re.Match, str]]:
    """Files under ``root`` (a folder or a ``.zip``) whose **relative path** matches ``pattern`` (``re.search``).

    Zip archives (``root`` itself or any ``*.zip`` under it) are searched without extracting: their members are
    returned as GDAL ``/vsizip/`` paths that rasterio opens directly. Results are sorted by path.

    Raises:
        FileNotFoundError: ``root`` does not exist.
    """
    base = Path(root)
    if not base.exists():
        raise FileNotFoundError(f'dataset folder {root} does not exist')
    regex = re.compile(pattern)
    found: List[Tuple[re.Match, str]] = []
    archives = [base] if base.is_file() and base.suffix.lower() == '.zip' else sorted(base.rglob('*.zip'))
    if base.is_dir():
        for path in sorted(base.rglob('*')):
            rel = path.relative_to(base).as_posix()
            if path.is_file() and (m := regex.search(rel)):
                found.append((m, str(path)))
    for archive in archives:
        try:
            names = zipfile.ZipFile(archive).namelist()
        except zipfile.BadZipFile:
            raise ValueError(f'{archive}: not a readable zip archive') from None
        for name in sorted(names):
            if not name.endswith('/') and (m := regex.search(f'{archive.stem}/{name}')):
                found.append((m, f'/vsizip/{archive.resolve()}/{name}'))
    return found


def mmseg_layout_scenes(root: str, split_folders: Sequence[str] = SPLIT_NAMES,
                        ann_suffix: str = '') -> Tuple[List[Scene], Dict[str, str]]:
    """Scenes of an mmseg-converted dataset: ``img_dir[/split]/*.png`` with ``ann_dir[/split]/<stem>.png``.

    Returns:
        Scenes (label None where ``ann_dir`` has no file, e.g. a test split) and ``{scene: split}`` for scenes in
        split sub-folders.
    """
    img_root, ann_root = Path(root) / 'img_dir', Path(root) / 'ann_dir'
    if not img_root.is_dir():
        raise FileNotFoundError(f'{root}: no img_dir/ folder (expected an mmseg-converted dataset)')
    scenes, splits = [], {}
    folders: List[Tuple[Path, Path, Optional[str]]] = [
        (img_root / s, ann_root / s, s) for s in split_folders if (img_root / s).is_dir()]
    folders = folders or [(img_root, ann_root, None)]
    for img_dir, ann_dir, split in folders:
        for img in sorted(p for p in img_dir.iterdir() if p.suffix.lower() in ('.png', '.tif', '.jpg')):
            ann = ann_dir / f'{img.stem}{ann_suffix}.png'
            scenes.append(Scene(img.stem, str(img), str(ann) if ann.is_file() else None))
            if split:
                splits[img.stem] = split
    if not scenes:
        raise FileNotFoundError(f'{root}: img_dir/ holds no images')
    return scenes, splits


def run_conversion(scenes: Sequence[Scene], out: str, coding: LabelCoding, split_map: Optional[Dict[str, str]],
                   chip: int, stride: int, bands: Optional[List[int]] = None,
                   band_names: Optional[List[str]] = None, domain: str = '', gsd: Optional[float] = None,
                   workers: int = 1, keep_going: bool = False, progress: bool = True, min_valid: float = 0.5,
                   splits: Tuple[float, float, float] = (0.8, 0.1, 0.1), compress: str = 'deflate',
                   alpha_is_data: bool = False) -> TileReport:
    """Tile converter scenes with the tiler (same chips, manifest and resume behaviour as ``tile_scenes.py``)."""
    if not scenes:
        raise ValueError(f'no scenes found for {domain or "the dataset"}')
    unlabelled = [s.name for s in scenes if s.label is None and (split_map or {}).get(s.name) != 'test']
    if unlabelled:
        warnings.warn(f'{domain or "dataset"}: {len(unlabelled)} scene(s) outside the test split have no label '
                      f'file and are tiled unlabelled: {unlabelled[:5]}', UserWarning, stacklevel=3)
    config = TileConfig(chip=(chip, chip), stride=(stride, stride), gsd=gsd, bands=bands, band_names=band_names,
                        coding=coding, split_map=split_map, domain=domain, min_valid=min_valid, splits=splits,
                        compress=compress, alpha_is_data=alpha_is_data)
    return tile_scenes(scenes, out, config, workers=workers, keep_going=keep_going, progress=progress)
