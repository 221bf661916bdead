"""Convert ISPRS Vaihingen (IRRG; DSM ignored; labels with or without boundaries) into rsseg chips + manifest.

Example: ``rsseg-convert-vaihingen data/raw/vaihingen --out data/vaihingen``
(``python data_prep/convert_vaihingen.py ...`` in a checkout).
"""
from typing import Optional, Sequence

from rsseg.cli.converter_args import common_kwargs, converter_parser, finish
from rsseg.utils.cli import run_cli


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter."""
    p = converter_parser('convert_vaihingen', __doc__.split('\n\n')[0])
    p.add_argument('--labels', default='noboundary', choices=('noboundary', 'full'),
                   help='eroded labels (boundaries ignored) or full labels')
    p.add_argument('--clutter', default='class', choices=('class', 'ignore'), help='clutter as a 6th class or ignored')
    args = p.parse_args(argv)
    from rsseg.geo.converters import convert_vaihingen
    return finish(convert_vaihingen(args.root, args.out, labels=args.labels, clutter=args.clutter,
                                    **common_kwargs(args)))


def cli() -> None:
    """Console entry point ``rsseg-convert-vaihingen``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
