"""Data preparers: create a manifest on first use so self-contained configs need no separate data step.

A dataset given ``prepare=dict(type=NAME, **kwargs)`` calls ``ensure_prepared``: if its manifest is missing, the
named preparer builds it under a file lock (dataloader workers and distributed ranks may race on first use).
"""
import fcntl
import fnmatch
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

from mmengine.logging import print_log

from rsseg.formats.manifest import ChipRecord, Manifest
from rsseg.formats.palette import Palette
from rsseg.geo.labels import convert_color_mask
from rsseg.geo.scenes import list_images, pair_by_stem

PREPARERS: Dict[str, Callable[..., None]] = {}


def register_preparer(name: str) -> Callable:
    """Register ``fn(manifest_path, **kwargs)`` under ``name`` for ``prepare=dict(type=name)``."""
    def wrap(fn: Callable) -> Callable:
        PREPARERS[name] = fn
        return fn
    return wrap


def ensure_prepared(manifest: str, prepare: dict) -> None:
    """Run the preparer named in ``prepare`` unless ``manifest`` exists already."""
    if Path(manifest).is_file():
        return
    kwargs = dict(prepare)
    name = kwargs.pop('type')
    if name not in PREPARERS:
        raise KeyError(f'unknown data preparer {name!r}; known: {sorted(PREPARERS)}')
    Path(manifest).parent.mkdir(parents=True, exist_ok=True)
    with open(f'{manifest}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not Path(manifest).is_file():
            print_log(f'preparing {manifest} with {name}', logger='current')
            PREPARERS[name](manifest, **kwargs)


def split_of(stem: str, splits: Optional[Dict[str, Sequence[str]]]) -> str:
    """The split whose glob patterns match ``stem``; ``'train'`` when none does."""
    for split, patterns in (splits or {}).items():
        if any(fnmatch.fnmatch(stem, pat) for pat in patterns):
            return split
    return 'train'


@register_preparer('ColorMaskFolder')
def prepare_color_mask_folder(manifest: str, images: str, palette: str, masks: Optional[str] = None,
                              splits: Optional[Dict[str, Sequence[str]]] = None, domain: str = '',
                              resize: bool = False) -> None:
    """Whole images with colour-coded masks → label GeoTIFFs beside the manifest and a manifest over whole images.

    Args:
        manifest: Manifest path to write.
        images: Folder of images.
        palette: Palette file (see :mod:`rsseg.formats.palette`).
        masks: Folder of colour masks with the images' stems; None for an unlabelled domain.
        splits: ``{split: [stem glob, ...]}``; unmatched images go to ``'train'``.
        domain: Domain name recorded in the manifest.
        resize: Resample masks stored at another size than their image.
    """
    pal = Palette.from_file(palette)
    root = Path(manifest).parent
    image_files = list_images(images)
    pairs = pair_by_stem(image_files, list_images(masks)) if masks else [(p, None) for p in image_files]
    chips = []
    for img, mask in pairs:
        ann = None
        if mask is not None:
            ann = root / 'ann' / f'{img.stem}.tif'
            if not ann.is_file():
                convert_color_mask(img, mask, pal, ann, resize=resize)
        chips.append(ChipRecord(img=_rel(img, root), ann=_rel(ann, root) if ann else None, scene=img.stem,
                                split=split_of(img.stem, splits)))
    Manifest(classes=pal.classes, palette=pal.as_manifest_palette(), chips=chips, ignore_index=pal.ignore_index,
             domain=domain, meta=dict(preparer='ColorMaskFolder', images=str(images), palette=str(palette))
             ).save(manifest)


def _rel(path: Path, root: Path) -> str:
    import os
    return os.path.relpath(Path(path).resolve(), root.resolve())
