"""Finding scenes: files, folders, globs and list files; labels matched to images by name pattern or explicit pairs."""
import csv
import glob
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from .io import PathLike, is_vsi

RASTER_SUFFIXES = ('.tif', '.tiff', '.vrt', '.jp2', '.img', '.png', '.jpg', '.jpeg')
LIST_SUFFIXES = ('.txt', '.lst', '.list')
# Whole images a preparer or converter lists in a folder (no VRT/JP2: those are scenes for the tiler).
IMAGE_SUFFIXES = ('.tif', '.tiff', '.jpg', '.jpeg', '.png')


@dataclass
class Scene:
    """One scene to tile.

    Attributes:
        name: Unique scene name (the image's stem), used in chip names and for the split.
        image: Image raster path.
        label: Label raster path, or None for an unlabelled (target-domain) scene.
    """

    name: str
    image: str
    label: Optional[str] = None


def expand_inputs(items: Iterable[str], what: str = 'input') -> List[str]:
    """Raster paths from files, folders (their rasters, sorted), glob patterns and list files (one path a line).

    Relative paths in a list file are relative to the list file. Duplicates are dropped, order kept.

    Raises:
        FileNotFoundError: An item that is neither an existing file, a folder nor a glob that matches anything.
    """
    out: List[str] = []
    for item in items:
        item = str(item)
        path = Path(item)
        if is_vsi(item):
            out.append(item)
        elif path.is_dir():
            out.extend(str(p) for p in raster_files(path))
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            out.extend(read_list(path))
        elif path.is_file():
            out.append(item)
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item, recursive=True)
                             if Path(p).is_file() and Path(p).suffix.lower() in RASTER_SUFFIXES)
            if not matches:
                raise FileNotFoundError(f'{what} pattern {item} matches no raster file')
            out.extend(matches)
        else:
            raise FileNotFoundError(f'{what} {item} does not exist')
    seen = set()
    return [p for p in out if not (p in seen or seen.add(p))]


def raster_files(folder: PathLike, suffixes: Sequence[str] = RASTER_SUFFIXES) -> List[Path]:
    """Files directly inside ``folder`` whose suffix is in ``suffixes`` (sorted), hidden files excluded."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith('.'))


def read_list(path: Path) -> List[str]:
    """Paths listed in a list file, one a line (blank and ``#`` lines skipped), relative ones taken from its folder."""
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    return [ln if (Path(ln).is_absolute() or is_vsi(ln)) else str(path.parent / ln)
            for ln in lines if ln and not ln.startswith('#')]


def scene_name(path: str) -> str:
    """A scene's name: the file's stem."""
    return Path(path).stem


def label_stem(image_stem: str, pattern: Optional[str]) -> str:
    """The label stem expected for an image stem.

    ``pattern`` is a template with ``{stem}`` (``'{stem}_label'``), or a regular-expression substitution
    ``'REGEX=>REPLACEMENT'`` applied to the image stem (``'_RGB$=>_label'``, ``'S2Hand=>LabelHand'``); None keeps
    the stem.
    """
    if not pattern:
        return image_stem
    if '=>' in pattern:
        regex, repl = pattern.split('=>', 1)
        return re.sub(regex, repl, image_stem)
    if '{stem}' not in pattern:
        raise ValueError(f"label pattern {pattern!r} needs '{{stem}}' or the form 'REGEX=>REPLACEMENT'")
    return pattern.format(stem=image_stem)


def match_scenes(images: Sequence[str], labels: Optional[Sequence[str]] = None, pattern: Optional[str] = None,
                 pairs: Optional[Dict[str, str]] = None) -> List[Scene]:
    """Scenes from image paths, with labels matched by stem pattern or explicit ``{image: label}`` pairs.

    Raises:
        ValueError: No images; two images with the same stem; a label stem that matches two files.
        FileNotFoundError: An image without its label (when labels are given).
    """
    if not images:
        raise ValueError('no input scenes: the image list is empty')
    names: Dict[str, str] = {}
    for img in images:
        name = scene_name(img)
        if name in names:
            raise ValueError(f'two images share the scene name {name!r}: {names[name]} and {img} '
                             '(scene names must be unique)')
        names[name] = img
    if pairs is not None:
        return [Scene(scene_name(img), img, _pair_for(img, pairs)) for img in images]
    if not labels:
        return [Scene(scene_name(img), img) for img in images]
    by_stem: Dict[str, str] = {}
    for lbl in labels:
        stem = scene_name(lbl)
        if stem in by_stem and by_stem[stem] != lbl:
            raise ValueError(f'label name {stem!r} is ambiguous: {by_stem[stem]} and {lbl}')
        by_stem[stem] = lbl
    scenes = []
    for img in images:
        want = label_stem(scene_name(img), pattern)
        if want not in by_stem:
            raise FileNotFoundError(f'{img}: no label raster named {want}.* among the --labels '
                                    f'(pattern {pattern or "{stem}"})')
        scenes.append(Scene(scene_name(img), img, by_stem[want]))
    return scenes


def _pair_for(img: str, pairs: Dict[str, str]) -> str:
    for key in (img, str(Path(img).resolve()) if not is_vsi(img) else img, Path(img).name):
        if key in pairs:
            return pairs[key]
    raise FileNotFoundError(f'{img}: not listed in the pairs file')


def read_pairs(path: str) -> Dict[str, str]:
    """An explicit pairs file: CSV/TSV rows ``image,label`` (relative paths are relative to the file)."""
    base = Path(path).parent
    text = Path(path).read_text()
    dialect = csv.excel_tab if '\t' in text else csv.excel
    out = {}
    for i, row in enumerate(csv.reader(text.splitlines(), dialect)):
        row = [c.strip() for c in row]
        if not row or not row[0] or row[0].startswith('#') or (i == 0 and row[0].lower() == 'image'):
            continue
        if len(row) < 2:
            raise ValueError(f'{path}: row {i + 1} needs image,label')
        img, lbl = (c if Path(c).is_absolute() or is_vsi(c) else str(base / c) for c in row[:2])
        out[img] = lbl
        if not is_vsi(img):
            out[str(Path(img).resolve())] = lbl
    return out


def pair_by_stem(images: Sequence[Path], masks: Sequence[Path]) -> List[tuple]:
    """Pair image and mask files by file stem; a file without its partner is an error naming it."""
    by_stem = {p.stem: p for p in masks}
    img_stems = {p.stem for p in images}
    lonely_img = [str(p) for p in images if p.stem not in by_stem]
    lonely_mask = [str(p) for p in masks if p.stem not in img_stems]
    if lonely_img:
        raise FileNotFoundError(f'no mask for image(s): {", ".join(lonely_img[:5])}')
    if lonely_mask:
        raise FileNotFoundError(f'no image for mask(s): {", ".join(lonely_mask[:5])}')
    return [(p, by_stem[p.stem]) for p in images]


def list_images(folder: str) -> List[Path]:
    """Image files in ``folder``, sorted; a missing or empty folder is an error naming it."""
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f'data folder {folder} does not exist')
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith('.'))
    if not files:
        raise FileNotFoundError(f'no images ({"/".join(IMAGE_SUFFIXES)}) in {folder}')
    return files
