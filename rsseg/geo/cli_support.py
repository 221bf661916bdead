"""Turning tiler command-line arguments into scenes, label coding and a :class:`TileConfig`."""
import argparse
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from rsseg.formats.label_coding import LabelCoding, default_colors, parse_label_map
from rsseg.formats.palette import Palette

from .io import open_raster
from .scenes import Scene, expand_inputs, match_scenes, read_pairs
from .tiler import TileConfig


def scenes_from_args(images: Sequence[str], labels: Optional[Sequence[str]], pattern: Optional[str],
                     pairs: Optional[str]) -> List[Scene]:
    """Scenes from ``--images`` / ``--labels`` / ``--label-pattern`` / ``--pairs``."""
    image_paths = expand_inputs(images, 'image')
    if not image_paths:
        raise ValueError(f'no input scenes: --images {" ".join(images)} matched no raster')
    if pairs and labels:
        raise ValueError('give labels either with --labels or with --pairs, not both')
    label_paths = expand_inputs(labels, 'label') if labels else None
    return match_scenes(image_paths, label_paths, pattern, read_pairs(pairs) if pairs else None)


def load_palette(path: str) -> Palette:
    """A :class:`rsseg.formats.palette.Palette` from a file."""
    return Palette.from_file(path)


def coding_from_args(classes: Optional[str], palette: Optional[str], label_format: str = 'auto',
                     label_map: Optional[str] = None, label_nodata: Optional[float] = None,
                     scenes: Sequence[Scene] = ()) -> Optional[LabelCoding]:
    """The label coding from ``--classes`` / ``--palette`` / ``--label-format`` / ``--label-map``.

    Returns None when neither classes nor a palette is given (allowed for unlabelled scenes only).
    """
    pal = None
    if palette:
        pal = load_palette(palette)
    elif classes and Path(classes).is_file():
        pal = load_palette(classes)
    if pal is not None:
        names, colors, ignore = list(pal.classes), list(pal.colors), list(pal.ignore_colors)
        if classes and not Path(classes).is_file():
            given = [c.strip() for c in classes.split(',') if c.strip()]
            if given != names:
                raise ValueError(f'--classes {given} disagree with the palette {palette} classes {names}')
    elif classes:
        names = [c.strip() for c in classes.split(',') if c.strip()]
        colors, ignore = default_colors(len(names)), []
    else:
        if label_map or label_nodata is not None:
            raise ValueError('--label-map / --label-nodata need --classes or --palette')
        return None
    mode = label_format
    if mode == 'auto':
        mode = 'color' if pal is not None and _looks_colour_coded(scenes) else 'index'
    if mode == 'color' and pal is None:
        raise ValueError('--label-format color needs --palette (the class colours)')
    if mode == 'color' and label_map:
        raise ValueError('--label-map applies to class rasters, not to colour-coded labels')
    return LabelCoding(classes=names, colors=colors, ignore_colors=ignore, mode=mode,
                       value_map=parse_label_map(label_map) if label_map else None, nodata=label_nodata,
                       ignore_index=getattr(pal, 'ignore_index', 255))


def _looks_colour_coded(scenes: Sequence[Scene]) -> bool:
    """Whether the first label raster is RGB or carries a colour table."""
    for scene in scenes:
        if scene.label:
            with open_raster(scene.label) as src:
                if src.count >= 3:
                    return True
                try:
                    src.colormap(1)
                    return True
                except ValueError:
                    return False
    return False


def read_split_file(path: str) -> Dict[str, str]:
    """``{scene: split}`` from JSON (``{"scene": "val"}`` or ``{"val": ["scene", ...]}``) or ``scene split`` lines."""
    text = Path(path).read_text()
    if path.endswith('.json'):
        raw = json.loads(text)
        if all(isinstance(v, list) for v in raw.values()):
            return {name: split for split, names in raw.items() for name in names}
        return {str(k): str(v) for k, v in raw.items()}
    out = {}
    for i, line in enumerate(text.splitlines()):
        parts = line.replace(',', ' ').split()
        if not parts or parts[0].startswith('#'):
            continue
        if len(parts) != 2:
            raise ValueError(f'{path}: line {i + 1} needs "scene split"')
        out[parts[0]] = parts[1]
    return out


def config_from_args(args: argparse.Namespace, scenes: Sequence[Scene]) -> TileConfig:
    """A :class:`TileConfig` from the parsed ``data_prep/tile_scenes.py`` arguments."""
    coding = coding_from_args(args.classes, args.palette, args.label_format, args.label_map, args.label_nodata,
                              scenes)
    if coding is None and any(s.label for s in scenes):
        raise ValueError('labels were given but no classes: pass --classes NAMES or --palette FILE')
    if len(args.percentiles) != 2:
        raise ValueError(f'--percentiles needs LOW,HIGH, got {args.percentiles}')
    return TileConfig(chip=args.chip, stride=args.stride, gsd=args.gsd, crs=args.crs, bands=args.bands,
                      band_names=args.band_names, min_valid=args.min_valid, nodata=args.nodata,
                      resampling=args.resampling, label_resampling=args.label_resampling, coding=coding,
                      trust_label_grid=args.trust_label_grid, alpha_is_data=args.alpha_is_data,
                      compress=args.compress, norm_scope=args.norm_scope,
                      percentiles=tuple(args.percentiles), norm_stats=args.norm_stats, splits=args.splits,
                      split_seed=args.split_seed,
                      split_map=read_split_file(args.split_file) if args.split_file else None, domain=args.domain)
