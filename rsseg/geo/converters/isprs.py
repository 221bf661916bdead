"""ISPRS Potsdam and Vaihingen → rsseg chips and manifest, with the splits mmseg publishes.

Accepted layouts (``root`` may be the download folder holding the original zip archives, the extracted folders, or
an mmseg-converted ``img_dir``/``ann_dir`` folder):

* Potsdam: ``top_potsdam_<id>_{RGB,IRRG,RGBIR}.tif`` images (``2_Ortho_RGB``, ``3_Ortho_IRRG``, ``4_Ortho_RGBIR``)
  and colour-coded labels ``top_potsdam_<id>_label.tif`` (``5_Labels_all``) or
  ``top_potsdam_<id>_label_noBoundary.tif`` (``5_Labels_all_noBoundary``, boundaries black = ignored). IRRG from the
  4-band RGBIR tiles is bands 4,1,2; RGB is 1,2,3.
* Vaihingen: IRRG images ``top/top_mosaic_09cm_area<N>.tif`` and labels of the same name in a ground-truth folder
  (``gts_for_participants``, ``..._ground_truth_COMPLETE``) or ``top_mosaic_09cm_area<N>_noBoundary.tif``
  (``..._ground_truth_eroded_COMPLETE``). The DSM (``dsm_09cm_matching_area<N>.tif``) is ignored.
* mmseg-converted: index labels 0 = boundary/ignore, 1..6 = the classes (``reduce_zero_label``).

Classes: impervious surface, building, low vegetation, tree, car, clutter (colours white, blue, cyan, green, yellow,
red). ``clutter='ignore'`` maps clutter to the ignore index and leaves 5 classes, as many domain-adaptation papers do.
"""
from typing import Dict, List, Tuple

from rsseg.formats.label_coding import LabelCoding

from ..scenes import Scene
from ..tiler import TileReport
from .common import find_files, mmseg_layout_scenes, protocol_splits, run_conversion

ISPRS_CLASSES = ('impervious_surface', 'building', 'low_vegetation', 'tree', 'car', 'clutter')
ISPRS_COLORS = ((255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0))
BOUNDARY_COLOR = (0, 0, 0)

# The splits of mmseg's tools/dataset_converters/{potsdam,vaihingen}.py (the ISPRS labelled / benchmark tiles).
POTSDAM_SPLITS = {
    'train': ['2_10', '2_11', '2_12', '3_10', '3_11', '3_12', '4_10', '4_11', '4_12', '5_10', '5_11', '5_12', '6_10',
              '6_11', '6_12', '6_7', '6_8', '6_9', '7_10', '7_11', '7_12', '7_7', '7_8', '7_9'],
    'val': ['5_15', '6_15', '6_13', '3_13', '4_14', '6_14', '5_14', '2_13', '4_15', '2_14', '5_13', '4_13', '3_14',
            '7_13'],
}
VAIHINGEN_SPLITS = {
    'train': ['1', '11', '13', '15', '17', '21', '23', '26', '28', '3', '30', '32', '34', '37', '5', '7'],
    'val': ['6', '24', '35', '16', '14', '22', '10', '4', '2', '20', '8', '31', '33', '27', '38', '12', '29'],
}


# ST-DASegNet's Vaihingen split (its tools/convert_datasets/vaihingen.py: 25 train / 8 val areas; Potsdam as mmseg's).
VAIHINGEN_REFERENCE_SPLITS = {
    'train': ['1', '11', '15', '17', '21', '23', '26', '28', '3', '30', '32', '34', '37', '6', '35', '16', '14', '10',
              '4', '31', '33', '27', '38', '12', '29'],
    'val': ['24', '22', '2', '20', '8', '5', '7', '13'],
}


def isprs_coding(clutter: str = 'class', from_mmseg: bool = False) -> LabelCoding:
    """The ISPRS label coding: colours (original labels) or mmseg's 0..6 indices (``from_mmseg``).

    Args:
        clutter: ``'class'`` (6 classes) or ``'ignore'`` (clutter → ignore index, 5 classes).
        from_mmseg: Labels are mmseg-converted index PNGs (0 boundary, 1..6 classes).
    """
    if clutter not in ('class', 'ignore'):
        raise ValueError(f"clutter must be 'class' or 'ignore', got {clutter!r}")
    keep = 6 if clutter == 'class' else 5
    classes, colors = list(ISPRS_CLASSES[:keep]), list(ISPRS_COLORS[:keep])
    if from_mmseg:
        value_map = {0.0: 255, **{float(i + 1): i for i in range(keep)}}
        if keep == 5:
            value_map[6.0] = 255
        return LabelCoding(classes=classes, colors=colors, value_map=value_map, mode='index')
    ignore = [BOUNDARY_COLOR] + ([ISPRS_COLORS[5]] if keep == 5 else [])
    return LabelCoding(classes=classes, colors=colors, ignore_colors=ignore, mode='color')


def _split_map(ids: Dict[str, str], splits: Dict[str, List[str]]) -> Dict[str, str]:
    """``{scene: split}``: published train/val; scenes outside both lists are not train (``test``)."""
    lookup = {i: s for s, members in splits.items() for i in members}
    return {scene: lookup.get(idx, 'test') for scene, idx in ids.items()}


def _final_splits(scenes: List[Scene], published: Dict[str, str], protocol: str, test_share: float,
                  split_seed: int) -> Dict[str, str]:
    labelled = {s.name for s in scenes if s.label is not None}
    return protocol_splits(published, labelled, protocol, test_share, split_seed)


def potsdam_scenes(root: str, variant: str = 'irrg', labels: str = 'noboundary') -> Tuple[List[Scene], Dict[str, str],
                                                                                        List[int], List[str]]:
    """Potsdam scenes (original layout), their split, the bands to read and the band names."""
    if variant not in ('irrg', 'rgb'):
        raise ValueError(f"Potsdam variant must be 'irrg' or 'rgb', got {variant!r}")
    if labels not in ('full', 'noboundary'):
        raise ValueError(f"labels must be 'full' or 'noboundary', got {labels!r}")
    images: Dict[str, Dict[str, str]] = {}
    for m, path in find_files(root, r'top_potsdam_(\d+_\d+)_(RGB|IRRG|RGBIR)\.tif$'):
        images.setdefault(m.group(1), {})[m.group(2)] = path
    if not images:
        raise FileNotFoundError(f'{root}: no Potsdam tiles (top_potsdam_<id>_{{RGB,IRRG,RGBIR}}.tif, in folders or '
                                'zip archives)')
    suffix = '_label_noBoundary' if labels == 'noboundary' else '_label'
    label_paths = {m.group(1): p for m, p in find_files(root, rf'top_potsdam_(\d+_\d+){suffix}\.tif$')}
    direct = 'IRRG' if variant == 'irrg' else 'RGB'
    use_stack = not all(direct in kinds for kinds in images.values())
    if use_stack and not all('RGBIR' in kinds for kinds in images.values()):
        missing = sorted(i for i, kinds in images.items() if direct not in kinds and 'RGBIR' not in kinds)
        raise FileNotFoundError(f'{root}: Potsdam tile(s) {missing} have neither {direct} nor RGBIR images')
    kind = 'RGBIR' if use_stack else direct
    bands = ([4, 1, 2] if variant == 'irrg' else [1, 2, 3]) if use_stack else [1, 2, 3]
    names = ['ir', 'r', 'g'] if variant == 'irrg' else ['r', 'g', 'b']
    scenes = [Scene(f'potsdam_{i}', images[i][kind], label_paths.get(i)) for i in sorted(images, key=_id_key)]
    ids = {f'potsdam_{i}': i for i in images}
    return scenes, _split_map(ids, POTSDAM_SPLITS), bands, names


def vaihingen_scenes(root: str, labels: str = 'noboundary',
                     lists: str = 'mmseg') -> Tuple[List[Scene], Dict[str, str]]:
    """Vaihingen scenes (original layout) and their published split (``lists``: ``'mmseg'`` or ``'reference'``)."""
    if labels not in ('full', 'noboundary'):
        raise ValueError(f"labels must be 'full' or 'noboundary', got {labels!r}")
    images = {m.group(1): p for m, p in find_files(root, r'(?:^|/)top/top_mosaic_09cm_area(\d+)\.tif$')}
    if not images:
        raise FileNotFoundError(f'{root}: no Vaihingen images (top/top_mosaic_09cm_area<N>.tif, in folders or zip '
                                'archives)')
    if labels == 'noboundary':
        pattern = r'top_mosaic_09cm_area(\d+)_noBoundary\.tif$'
    else:
        pattern = r'(?:gts|ground_truth)(?![^/]*eroded)[^/]*/top_mosaic_09cm_area(\d+)\.tif$'
    label_paths = {m.group(1): p for m, p in find_files(root, pattern)}
    scenes = [Scene(f'vaihingen_area{i}', images[i], label_paths.get(i)) for i in sorted(images, key=int)]
    ids = {f'vaihingen_area{i}': i for i in images}
    return scenes, _split_map(ids, VAIHINGEN_REFERENCE_SPLITS if lists == 'reference' else VAIHINGEN_SPLITS)


def _is_mmseg_layout(root: str) -> bool:
    from pathlib import Path
    return (Path(root) / 'img_dir').is_dir()


def _id_key(tile_id: str) -> Tuple[int, ...]:
    return tuple(int(p) for p in tile_id.split('_'))


def convert_potsdam(root: str, out: str, variant: str = 'irrg', labels: str = 'noboundary', clutter: str = 'class',
                    chip: int = 512, stride: int = 512, protocol: str = 'holdout', test_share: float = 0.5,
                    split_seed: int = 0, **kwargs) -> TileReport:
    """Tile ISPRS Potsdam into ``out`` (``manifest.json`` + chips) with mmseg's published train/val split (the
    reference's too) and an evaluation protocol (:func:`~rsseg.geo.converters.common.protocol_splits`).

    Args:
        root: Download folder (zip archives), extracted folders, or an mmseg-converted folder.
        out: Output folder.
        variant: ``'irrg'`` or ``'rgb'`` (mmseg-converted data keeps whatever it holds).
        labels: ``'noboundary'`` (eroded, boundaries ignored) or ``'full'``.
        clutter: ``'class'`` or ``'ignore'``.
        chip: Chip size.
        stride: Chip stride.
        protocol: ``'holdout'`` (a seeded ``test_share`` of the labelled val scenes → ``test``) or ``'reference'``
            (all of them → ``val``, scored as val and test).
        test_share: Share of the labelled non-train scenes held out as ``test`` (holdout protocol).
        split_seed: Seed of the held-out draw.
        **kwargs: :func:`run_conversion` options (``gsd``, ``workers``, ``keep_going``, ``progress``...).
    """
    if _is_mmseg_layout(root):
        scenes, found = mmseg_layout_scenes(root)
        split_map = _final_splits(scenes, found, protocol, test_share, split_seed) if found else None
        return run_conversion(scenes, out, isprs_coding(clutter, from_mmseg=True), split_map, chip, stride,
                              domain=kwargs.pop('domain', 'potsdam'), **kwargs)
    scenes, split_map, bands, names = potsdam_scenes(root, variant, labels)
    split_map = _final_splits(scenes, split_map, protocol, test_share, split_seed)
    # RGBIR tiles: band 4 is near-infrared data even where the TIFF tags it alpha.
    kwargs.setdefault('alpha_is_data', True)
    return run_conversion(scenes, out, isprs_coding(clutter), split_map, chip, stride, bands=bands, band_names=names,
                          domain=kwargs.pop('domain', f'potsdam-{variant}'), **kwargs)


def convert_vaihingen(root: str, out: str, labels: str = 'noboundary', clutter: str = 'class', chip: int = 512,
                      stride: int = 512, protocol: str = 'holdout', test_share: float = 0.5, split_seed: int = 0,
                      **kwargs) -> TileReport:
    """Tile ISPRS Vaihingen (IRRG; DSM ignored) into ``out``: mmseg's published 16/17 train/val areas with the
    holdout protocol, the reference's 25/8 areas with ``protocol='reference'``.

    Args: as :func:`convert_potsdam` (no variant: Vaihingen is IRRG only).
    """
    if _is_mmseg_layout(root):
        scenes, found = mmseg_layout_scenes(root)
        split_map = _final_splits(scenes, found, protocol, test_share, split_seed) if found else None
        coding = isprs_coding(clutter, from_mmseg=True)
        return run_conversion(scenes, out, coding, split_map, chip, stride,
                              domain=kwargs.pop('domain', 'vaihingen'), **kwargs)
    scenes, split_map = vaihingen_scenes(root, labels, 'reference' if protocol == 'reference' else 'mmseg')
    split_map = _final_splits(scenes, split_map, protocol, test_share, split_seed)
    return run_conversion(scenes, out, isprs_coding(clutter), split_map, chip, stride, band_names=['ir', 'r', 'g'],
                          domain=kwargs.pop('domain', 'vaihingen'), **kwargs)
