"""Convert ISPRS Vaihingen (IRRG; DSM ignored; labels with or without boundaries) into rsseg chips + manifest.

Example: ``python data_prep/convert_vaihingen.py data/raw/vaihingen --out data/vaihingen``
"""
import sys
from pathlib import Path
from typing import Optional, Sequence

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_prep._convert_common import common_kwargs, converter_parser, finish  # noqa: E402
from rsseg.utils.cli import run_cli  # noqa: E402


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
    """Console entry point."""
    run_cli(main)


if __name__ == '__main__':
    cli()
