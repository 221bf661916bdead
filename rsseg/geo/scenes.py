"""Finding scenes: files, folders, globs and list files; labels matched to images by name pattern or explicit pairs.

:func:`expand_inputs` is the one way inputs become raster paths, for the tiler, the converters and the scene
predictor (``rsseg.apis.collect_scenes``); whole-image folders of the preparers and the colour-mask converter are
listed with :func:`list_images`.
"""
import csv
import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set

from rsseg.formats.files import PathLike

from .io import is_vsi

RASTER_SUFFIXES = ('.tif', '.tiff', '.vrt', '.jp2', '.img', '.png', '.jpg', '.jpeg')
# Scenes a folder gives the scene predictor: georeferenced formats (photos are passed by name or glob).
SCENE_SUFFIXES = ('.tif', '.tiff', '.vrt', '.jp2', '.img')
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


def expand_inputs(items: Iterable[PathLike], what: str = 'input',
                  folder_suffixes: Sequence[str] = RASTER_SUFFIXES) -> List[str]:
    """Raster paths from files, folders, glob patterns and list files (one path a line), in order.

    A folder gives its rasters whose suffix is in ``folder_suffixes`` (sorted, not recursive); a glob gives the
    rasters it matches (``**`` recurses); a list file's relative paths are relative to it; GDAL virtual paths
    (``/vsizip/...``) pass as they are. A file given twice (by any path) is kept once.

    Raises:
        FileNotFoundError: An item that does not exist, or a glob that matches no raster.
        ValueError: A folder without such rasters (the message says what it holds).
    """
    out: List[str] = []
    for item in map(str, items):
        path = Path(item)
        if is_vsi(item):
            out.append(item)
        elif path.is_dir():
            out.extend(str(p) for p in folder_rasters(path, folder_suffixes, what))
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
    seen: Set[str] = set()
    unique = []
    for p in out:
        if _identity(p) not in seen:
            seen.add(_identity(p))
            unique.append(p)
    return unique


def _identity(path: str) -> str:
    """What makes two paths the same file for :func:`expand_inputs` (its absolute path)."""
    return path if is_vsi(path) else os.path.abspath(path)


def raster_files(folder: PathLike, suffixes: Sequence[str] = RASTER_SUFFIXES) -> List[Path]:
    """Files directly inside ``folder`` whose suffix is in ``suffixes`` (sorted), hidden files excluded."""
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith('.'))


def folder_rasters(folder: PathLike, suffixes: Sequence[str], what: str) -> List[Path]:
    """:func:`raster_files` of ``folder``; none is an error naming the folder and the files it does hold."""
    found = raster_files(folder, suffixes)
    if found:
        return found
    others = sorted({p.suffix.lower() or p.name for p in Path(folder).iterdir() if p.is_file()})
    where = (f'folder {folder}: it holds only {", ".join(others)} file(s); pass such rasters by file name or glob'
             if others else str(folder))
    raise ValueError(f'no {what}s ({"/".join(suffixes)}) in {where}')


def check_unique_names(paths: Sequence[PathLike], what: str = 'scene') -> None:
    """Refuse two files with the same scene name (stem): chips and class maps are named by it."""
    names: Dict[str, str] = {}
    for path in map(str, paths):
        name = scene_name(path)
        if name in names:
            raise ValueError(f'two {what}s share the scene name {name!r}: {names[name]} and {path} '
                             '(scene names must be unique: they name the outputs)')
        names[name] = path


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
    check_unique_names(images, 'image')
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
    """Image files in ``folder``, sorted; a missing folder or one without images is an error naming it."""
    if not Path(folder).is_dir():
        raise FileNotFoundError(f'data folder {folder} does not exist')
    return folder_rasters(folder, IMAGE_SUFFIXES, 'image')
