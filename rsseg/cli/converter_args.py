"""Options shared by the dataset converters' command lines (:mod:`rsseg.cli.convert_potsdam`,
:mod:`~rsseg.cli.convert_vaihingen`, :mod:`~rsseg.cli.convert_loveda`); not a command itself."""
import argparse
import warnings


def converter_parser(prog: str, description: str, chip: int = 512) -> argparse.ArgumentParser:
    """A parser with the options every converter has."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument('root', help='dataset folder: the downloaded zip archives, their extraction, or an '
                                'mmseg-converted folder (img_dir/ann_dir)')
    p.add_argument('--out', required=True, metavar='DIR', help='output folder (manifest.json + chips)')
    p.add_argument('--chip', type=int, default=chip, help=f'chip size (default {chip})')
    p.add_argument('--stride', type=int, help='chip stride (default: the chip size; smaller for overlap)')
    p.add_argument('--gsd', type=float, metavar='METRES', help='resample to this GSD (georeferenced data only)')
    p.add_argument('--min-valid', type=float, default=0.5, metavar='F')
    p.add_argument('--compress', default='deflate', choices=('deflate', 'lzw', 'zstd', 'none'))
    p.add_argument('--protocol', default='holdout', choices=('holdout', 'reference'),
                   help='evaluation splits: holdout (default) carves a seeded, per-scene labelled test split out of '
                        'the non-train scenes, never used for selection; reference puts them all in val, which the '
                        "reference selects and reports on (and uses the reference's own split lists)")
    p.add_argument('--test-share', type=float, default=0.5, metavar='F',
                   help='share of the labelled non-train scenes held out as test (holdout protocol; default 0.5)')
    p.add_argument('--split-seed', type=int, default=0, help='seed of the held-out draw (default 0)')
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--keep-going', action='store_true')
    p.add_argument('--no-progress', action='store_true')
    return p


def common_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`rsseg.geo.converters.common.run_conversion` from parsed options."""
    warnings.formatwarning = lambda message, category, *a, **k: f'warning: {message}\n'
    return dict(chip=args.chip, stride=args.stride or args.chip, gsd=args.gsd, min_valid=args.min_valid,
                compress=args.compress, workers=args.workers, keep_going=args.keep_going,
                progress=not args.no_progress, protocol=args.protocol, test_share=args.test_share,
                split_seed=args.split_seed)


def finish(report) -> int:
    """Print the tiler's summary; exit status 1 when a scene failed."""
    print(report.summary())
    return 1 if report.failed else 0
