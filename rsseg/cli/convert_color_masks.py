"""Convert colour-coded label masks into uint8 class-index GeoTIFFs aligned with their images.

    rsseg-convert-masks --images DIR --masks DIR --palette palette.json --out DIR [--resize]

Images and masks pair by file stem (an image without its mask, or a mask without its image, is an error naming the
file). The palette file (JSON or CSV) lists class names, colours and ignore colours; RGB and palette ('P') masks both
work; colours outside the palette are refused with the colours and their pixel counts (every mask is tried; the
bad ones are listed together). Outputs are written under a temporary name, verified and renamed; a rerun skips
masks already converted with the same palette and redoes (saying so) those made with another one. One converter
writes into an output folder at a time. In a checkout, ``python data_prep/convert_color_masks.py`` runs the same
command line.
"""
import argparse
from typing import Optional, Sequence

from rsseg.geo.labels import convert_folder
from rsseg.utils.cli import run_cli


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', required=True, help='folder of images')
    parser.add_argument('--masks', required=True, help='folder of colour-coded masks (same stems as the images)')
    parser.add_argument('--palette', required=True, help='palette file: JSON or CSV (class → colour, ignore colours)')
    parser.add_argument('--out', required=True, help='output folder for <stem>.tif class-index labels')
    parser.add_argument('--resize', action='store_true',
                        help='accept masks stored at another size than their image (nearest resampling)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = parser.parse_args(argv)
    written = convert_folder(args.images, args.masks, args.palette, args.out, args.resize, not args.no_progress)
    print(f'{len(written)} label raster(s) in {args.out}')
    return 0


def cli() -> None:
    """Console entry point ``rsseg-convert-masks``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
