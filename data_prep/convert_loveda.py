"""Convert LoveDA (PNG masks, 0 = no-data) into rsseg chips + manifest with the published Train/Val/Test split.

Example: ``python data_prep/convert_loveda.py data/raw/loveda --out data/loveda-rural --domains rural``
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
    """Console entry point."""
    run_cli(main)


if __name__ == '__main__':
    cli()
