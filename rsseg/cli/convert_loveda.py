"""Convert LoveDA (PNG masks, 0 = no-data) into rsseg chips + manifest with the published Train/Val/Test split.

Example: ``rsseg-convert-loveda data/raw/loveda --out data/loveda-rural --domains rural``
(``python data_prep/convert_loveda.py ...`` in a checkout).
"""
from typing import Optional, Sequence

from rsseg.cli.converter_args import common_kwargs, converter_parser, finish
from rsseg.utils.cli import run_cli


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the converter."""
    p = converter_parser('convert_loveda', __doc__.split('\n\n')[0])
    p.add_argument('--domains', default='urban,rural', help='urban, rural or urban,rural')
    args = p.parse_args(argv)
    domains = [d.strip().capitalize() for d in args.domains.split(',') if d.strip()]
    bad = [d for d in domains if d not in ('Urban', 'Rural')]
    if bad or not domains:
        raise ValueError(f'--domains takes urban and/or rural, got {args.domains!r}')
    from rsseg.geo.converters import convert_loveda
    return finish(convert_loveda(args.root, args.out, domains=domains, **common_kwargs(args)))


def cli() -> None:
    """Console entry point ``rsseg-convert-loveda``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
