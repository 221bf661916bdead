"""Train a segmentor from an mmengine config: ``rsseg-train CONFIG [--work-dir DIR] [--resume [CKPT]]``
(``python tools/train.py ...`` in a checkout).

A checkpoint training starts from (``load_from``, ``--resume``) must fit the model; ``--load-partial`` lets
``load_from`` load only the matching weights; ``--warm-start CKPT`` starts a UDA model from a source-only checkpoint.

Shaped like mmseg's ``tools/train.py``; adds CPU multi-process training (gloo) for ``--launcher pytorch`` on machines
without CUDA, AMP for multi-optimizer (adversarial) configs, and one-line errors for bad input.
"""
import argparse
from typing import Optional, Sequence

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.apis.runner import (
    add_run_arguments,
    apply_run_arguments,
    build_runner,
    check_start_checkpoint,
    load_config,
    setup_cpu_distributed,
    start_checkpoint,
)
from rsseg.utils.cli import run_cli
from rsseg.utils.config_checks import check_before_training
from rsseg.utils.pretrained import check_start_fits, drop_pretrained
from rsseg.utils.warm_start import write_warm_start


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an rsseg / mmseg segmentor.')
    add_run_arguments(parser, 'training')
    parser.add_argument('--load-partial', action='store_true',
                        help='let load_from (--cfg-options load_from=CKPT) load a checkpoint that fits the model only '
                             'in part (the matching weights; the rest keeps its init); by default it is refused')
    parser.add_argument('--warm-start', metavar='CKPT',
                        help='start a UDA model from a source-only checkpoint (backbone and decode head go to every '
                             'student and teacher; a resumed run keeps its own weights)')
    parser.add_argument('--no-pretrained', action='store_true',
                        help='random init: drop every pretrained start (backbone init_cfg / model.pretrained) the '
                             'config names; nothing is downloaded')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    apply_run_arguments(cfg, args)
    if args.no_pretrained or (cfg.resume and start_checkpoint(cfg)):
        drop_pretrained(cfg.model)  # random init, or weights that resuming replaces anyway: nothing to fetch
    check_before_training(cfg, args.config)
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    check_start_fits(runner.model, args.config)
    if args.warm_start and not cfg.resume:
        cfg.load_from, report = write_warm_start(runner.model, args.warm_start, cfg.work_dir)
        runner._load_from = cfg.load_from  # mmengine reads load_from once, when the runner is built
        runner.logger.info(f'warm start from {args.warm_start}: {report.summary()}')
    check_start_checkpoint(runner, cfg, args.config, args.load_partial)
    runner.train()
    return 0


def cli() -> None:
    """Console entry point ``rsseg-train``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
