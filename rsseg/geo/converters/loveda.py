"""LoveDA → rsseg chips and manifest with the published Train / Val / Test split.

Accepted layouts: the download (``Train.zip``, ``Val.zip``, ``Test.zip``) or its extraction
(``{Train,Val,Test}/{Urban,Rural}/{images_png,masks_png}/*.png``), or an mmseg-converted folder
(``img_dir/{train,val,test}`` + ``ann_dir/...``, or flat ``img_dir`` + ``ann_dir``). Masks: 0 = no-data (→ ignore),
1..7 = background, building, road, water, barren, forest, agriculture (→ 0..6). The images carry no georeferencing,
so they are tiled on their pixel grid (LoveDA is 0.3 m).
"""
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from rsseg.formats.label_coding import LabelCoding

from ..scenes import Scene
from ..tiler import TileReport
from .common import find_files, mmseg_layout_scenes, protocol_splits, run_conversion

LOVEDA_CLASSES = ('background', 'building', 'road', 'water', 'barren', 'forest', 'agriculture')
LOVEDA_COLORS = ((255, 255, 255), (255, 0, 0), (255, 255, 0), (0, 0, 255), (159, 129, 183), (0, 255, 0),
                 (255, 195, 128))
LOVEDA_SPLITS = {'Train': 'train', 'Val': 'val', 'Test': 'test'}


def loveda_coding() -> LabelCoding:
    """LoveDA masks: 0 no-data → ignore, 1..7 → classes 0..6."""
    return LabelCoding(classes=list(LOVEDA_CLASSES), colors=list(LOVEDA_COLORS),
                       value_map={0.0: 255, **{float(i + 1): i for i in range(7)}}, mode='index')


def loveda_scenes(root: str, domains: Sequence[str] = ('Urban', 'Rural')) -> Tuple[List[Scene], Dict[str, str]]:
    """LoveDA scenes of the given domains (``Urban``/``Rural``) in the original layout, and their split."""
    pattern = r'(?:^|/)(Train|Val|Test)/(Urban|Rural)/(images_png|masks_png)/([^/]+)\.png$'
    images: Dict[Tuple[str, str, str], str] = {}
    masks: Dict[Tuple[str, str, str], str] = {}
    for m, path in find_files(root, pattern):
        split, domain, kind, stem = m.groups()
        if domain not in domains:
            continue
        (images if kind == 'images_png' else masks)[(split, domain, stem)] = path
    if not images:
        raise FileNotFoundError(f'{root}: no LoveDA images ({{Train,Val,Test}}/{{{",".join(domains)}}}/images_png/'
                                '*.png, in folders or zip archives)')
    scenes, split_map = [], {}
    for key in sorted(images, key=lambda k: (list(LOVEDA_SPLITS).index(k[0]), k[1], _num(k[2]))):
        split, domain, stem = key
        name = f'{domain.lower()}_{stem}'
        scenes.append(Scene(name, images[key], masks.get(key)))
        split_map[name] = LOVEDA_SPLITS[split]
    return scenes, split_map


def _num(stem: str):
    return (0, int(stem), '') if stem.isdigit() else (1, 0, stem)


def convert_loveda(root: str, out: str, domains: Sequence[str] = ('Urban', 'Rural'), chip: int = 512,
                   stride: int = 512, protocol: str = 'holdout', test_share: float = 0.5, split_seed: int = 0,
                   **kwargs) -> TileReport:
    """Tile LoveDA into ``out``: Train → ``train``; Val → ``val`` + a seeded held-out ``test`` (holdout protocol)
    or all ``val`` (reference protocol); Test (no masks) → ``benchmark``, unlabelled chips.

    Args:
        root: Download folder (zips), extracted folder, or an mmseg-converted folder.
        out: Output folder.
        domains: ``Urban`` and/or ``Rural`` (ignored for mmseg-converted folders, which hold what they hold).
        chip: Chip size (LoveDA images are 1024 px).
        stride: Chip stride (use ``chip=1024`` for whole images, as the reference's target resize).
        protocol, test_share, split_seed: see :func:`~rsseg.geo.converters.common.protocol_splits`.
        **kwargs: :func:`run_conversion` options (``workers``, ``keep_going``, ``progress``, ``splits``...).
    """
    if (Path(root) / 'img_dir').is_dir():
        scenes, split_map = mmseg_layout_scenes(root)
    else:
        scenes, split_map = loveda_scenes(root, domains)
    if split_map:
        labelled = {s.name for s in scenes if s.label is not None}
        split_map = protocol_splits(split_map, labelled, protocol, test_share, split_seed)
    domain = kwargs.pop('domain', 'loveda-' + '-'.join(d.lower() for d in domains))
    return run_conversion(scenes, out, loveda_coding(), split_map or None, chip, stride, domain=domain, **kwargs)
