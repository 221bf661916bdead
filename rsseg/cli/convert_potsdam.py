"""Convert ISPRS Potsdam (IRRG or RGB; colour-coded labels, with or without boundaries) into rsseg chips + manifest.

Example: ``rsseg-convert-potsdam data/raw/potsdam --out data/potsdam-irrg --variant irrg``
(``python data_prep/convert_potsdam.py ...`` in a checkout).
"""
from typing import Optional, Sequence

from rsseg.cli.converter_args import common_kwargs, converter_parser, finish
from rsseg.utils.cli import run_cli


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter."""
    p = converter_parser('convert_potsdam', __doc__.split('\n\n')[0])
    p.add_argument('--variant', default='irrg', choices=('irrg', 'rgb'), help='IRRG (bands 4,1,2 of RGBIR) or RGB')
    p.add_argument('--labels', default='noboundary', choices=('noboundary', 'full'),
                   help='eroded labels (boundaries ignored) or full labels')
    p.add_argument('--clutter', default='class', choices=('class', 'ignore'), help='clutter as a 6th class or ignored')
    args = p.parse_args(argv)
    from rsseg.geo.converters import convert_potsdam
    return finish(convert_potsdam(args.root, args.out, variant=args.variant, labels=args.labels, clutter=args.clutter,
                                  **common_kwargs(args)))


def cli() -> None:
    """Console entry point ``rsseg-convert-potsdam``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
