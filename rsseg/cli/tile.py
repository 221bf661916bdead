"""Tile whole GeoTIFF scenes of one domain into georeferenced training chips and a manifest.

Example (Potsdam IRRG from the 4-band RGBIR tiles, 0.25 m, 512-pixel chips with 25 % overlap)::

    rsseg-tile --images '4_Ortho_RGBIR/*.tif' --labels 5_Labels_all \\
        --label-pattern '_RGBIR$=>_label' --palette isprs.json --out data/potsdam-irrg --chip 512 --stride 384 \\
        --gsd 0.25 --bands 4,1,2 --alpha-is-data --workers 8

Writes ``OUT/manifest.json`` (read by ``GeoChipDataset``), ``OUT/img_dir/*.tif``, ``OUT/ann_dir/*.tif`` and, for
non-8-bit imagery, the normalisation sidecar ``OUT/norm_stats.json``. A rerun skips finished scenes. In a checkout,
``python data_prep/tile_scenes.py`` runs the same command line.
"""
import argparse
import warnings
from typing import List, Optional, Sequence

from rsseg.geo.cli_support import config_from_args, scenes_from_args
from rsseg.geo.tiler import tile_scenes
from rsseg.utils.cli import run_cli


def parse_ints(text: str, what: str) -> List[int]:
    """``'4,1,2'`` → ``[4, 1, 2]``."""
    try:
        return [int(t) for t in text.split(',') if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f'{what} must be comma-separated integers, got {text!r}') from None


def parse_size(text: str) -> tuple:
    """``'512'`` or ``'512,384'`` (h,w) → ``(h, w)``."""
    vals = parse_ints(text, 'size')
    if len(vals) == 1:
        return (vals[0], vals[0])
    if len(vals) == 2:
        return tuple(vals)
    raise argparse.ArgumentTypeError(f'size must be N or H,W, got {text!r}')


def parse_fractions(text: str) -> tuple:
    """``'0.8,0.1,0.1'`` → three floats."""
    try:
        vals = tuple(float(t) for t in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'splits must be train,val,test fractions, got {text!r}') from None
    if len(vals) != 3:
        raise argparse.ArgumentTypeError(f'splits must be three fractions train,val,test, got {text!r}')
    return vals


def parse_nodata(text: str) -> float:
    """A nodata value (``nan`` allowed)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'nodata must be a number or nan, got {text!r}') from None


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    p = argparse.ArgumentParser(
        prog='rsseg-tile', description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='Scenes: files, folders, glob patterns (quote them) or list files (.txt, one path a line).')
    io = p.add_argument_group('input / output')
    io.add_argument('--images', nargs='+', required=True, metavar='GLOB_OR_DIR', help='image scenes of one domain')
    io.add_argument('--labels', nargs='+', metavar='GLOB_OR_DIR', help='label rasters, matched to images by name')
    io.add_argument('--label-pattern', help="label stem from the image stem: '{stem}_label' or 'REGEX=>REPL' "
                                            "(default: the same stem)")
    io.add_argument('--pairs', help='explicit image,label CSV/TSV (instead of --labels)')
    io.add_argument('--out', required=True, metavar='DIR', help='output folder (manifest.json + chips)')
    io.add_argument('--domain', default='', help='domain name recorded in the manifest')
    grid = p.add_argument_group('grid and chips')
    grid.add_argument('--chip', type=parse_size, required=True, metavar='N', help='chip size N or H,W (pixels)')
    grid.add_argument('--stride', type=parse_size, required=True, metavar='N',
                      help='step between chips, <= chip (smaller: overlap)')
    grid.add_argument('--gsd', type=float, metavar='METRES', help='target pixel size in metres (scenes in degrees '
                                                                  'are warped to their UTM zone)')
    grid.add_argument('--crs', help='target CRS (EPSG:n, WKT...); default: each scene\'s own')
    grid.add_argument('--bands', type=lambda t: parse_ints(t, 'bands'), metavar='1,2,3',
                      help='1-based source bands in chip order, e.g. 4,1,2 for IRRG from RGBI')
    grid.add_argument('--band-names', type=lambda t: [s.strip() for s in t.split(',')], help='names of the bands')
    grid.add_argument('--min-valid', type=float, default=0.5, metavar='F',
                      help='minimum fraction of valid pixels per chip (default 0.5)')
    grid.add_argument('--nodata', type=parse_nodata, help="image nodata override (ignores the file's masks)")
    grid.add_argument('--alpha-is-data', action='store_true',
                      help='a band tagged alpha holds data (e.g. NIR of RGBIR tiles); default: alpha is the mask')
    grid.add_argument('--resampling', default='auto', choices=('auto', 'nearest', 'bilinear', 'cubic', 'average',
                                                               'lanczos'),
                      help='image resampling (auto: average when coarsening, else bilinear)')
    grid.add_argument('--label-resampling', default='auto', choices=('auto', 'nearest', 'mode'),
                      help='label resampling (auto: mode when coarsening, else nearest)')
    grid.add_argument('--compress', default='deflate', choices=('deflate', 'lzw', 'zstd', 'none'))
    lab = p.add_argument_group('labels and classes')
    lab.add_argument('--classes', help='class names, comma-separated (or a palette file)')
    lab.add_argument('--palette', help='palette file (JSON/CSV, see rsseg.formats.palette): class names and '
                                       'colours; colour-coded (RGB or paletted) labels are mapped through it')
    lab.add_argument('--label-format', default='auto', choices=('auto', 'index', 'color'),
                     help='index: class raster; color: colour-coded mask (auto: color when --palette is given '
                          'and the label is RGB or has a colour table)')
    lab.add_argument('--label-map', help='raw label value → class index, e.g. "1:0,2:1,-1:255"')
    lab.add_argument('--label-nodata', type=parse_nodata, help='raw label value meaning "no label" (→ 255)')
    lab.add_argument('--trust-label-grid', action='store_true',
                     help="accept a label whose CRS tag differs from its image's on the same grid")
    norm = p.add_argument_group('normalisation (non-8-bit imagery)')
    norm.add_argument('--norm-scope', default='domain', choices=('domain', 'scene'))
    norm.add_argument('--percentiles', type=lambda t: tuple(float(v) for v in t.split(',')), default=(2.0, 98.0),
                      metavar='LOW,HIGH')
    norm.add_argument('--norm-stats', help='use this normalisation sidecar instead of computing one')
    split = p.add_argument_group('splits (by scene)')
    split.add_argument('--splits', type=parse_fractions, default=(0.8, 0.1, 0.1), metavar='TRAIN,VAL,TEST')
    split.add_argument('--split-seed', type=int, default=0)
    split.add_argument('--split-file', help='JSON {scene: split} or lines "scene split" fixing some scenes')
    run = p.add_argument_group('run')
    run.add_argument('--workers', type=int, default=1, help='worker processes (default 1)')
    run.add_argument('--keep-going', action='store_true', help='tile what can be tiled, summarise failures')
    run.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the tiler; returns 0 on success, 1 when a scene failed (with ``--keep-going``)."""
    args = build_parser().parse_args(argv)
    _plain_warnings()
    scenes = scenes_from_args(args.images, args.labels, args.label_pattern, args.pairs)
    config = config_from_args(args, scenes)
    report = tile_scenes(scenes, args.out, config, workers=args.workers, keep_going=args.keep_going,
                         progress=not args.no_progress)
    print(report.summary())
    return 1 if report.failed else 0


def _plain_warnings() -> None:
    """Show warnings as ``warning: message`` lines."""
    warnings.formatwarning = lambda message, category, *a, **k: f'warning: {message}\n'


def cli() -> None:
    """Console entry point ``rsseg-tile``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
