"""Convert colour-coded label masks into uint8 class-index GeoTIFFs aligned with their images.

    python data_prep/convert_color_masks.py --images DIR --masks DIR --palette palette.json --out DIR [--resize]

Images and masks pair by file stem (an image without its mask, or a mask without its image, is an error naming the
file). The palette file (JSON or CSV) lists class names, colours and ignore colours; RGB and palette ('P') masks both
work; colours outside the palette are refused with the colours and their pixel counts. Outputs are written under a
temporary name and renamed when complete; a rerun skips masks already converted.
"""
import argparse
from pathlib import Path
from typing import List, Optional, Sequence

from tqdm import tqdm

from rsseg.datasets.palette import Palette
from rsseg.datasets.prepare import list_images, pair_by_stem
from rsseg.geo.labels import convert_color_mask
from rsseg.utils.cli import run_cli


def convert_folder(images: str, masks: str, palette: str, out: str, resize: bool = False,
                   progress: bool = True) -> List[Path]:
    """Convert every image's mask; returns the label paths (``OUT/<stem>.tif``) in image order."""
    pal = Palette.from_file(palette)
    pairs = pair_by_stem(list_images(images), list_images(masks))
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for image, mask in tqdm(pairs, desc='masks', unit='mask', disable=not progress):
        target = out_dir / f'{image.stem}.tif'
        if not target.is_file():
            convert_color_mask(image, mask, pal, target, resize=resize)
        written.append(target)
    return written


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
    run_cli(main)


if __name__ == '__main__':
    cli()
