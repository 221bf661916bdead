"""Self-supervised pretraining of a backbone on unlabelled chips: ``rsseg-pretrain CONFIG [--work-dir DIR]``
(``python tools/pretrain.py ...``).

The config (``configs/ssl/``) names the manifests (source and target together), the method (DenseCL) and the backbone;
the result is ``WORK_DIR/backbone.pth``, which a segmentation config starts from with
``backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint='WORK_DIR/backbone.pth'))``. Options as
``tools/train.py``: ``--resume``, ``--amp``, ``--cfg-options``, ``--launcher pytorch`` (torchrun).
"""
import argparse
from typing import Optional, Sequence

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.apis.runner import add_run_arguments, apply_run_arguments, build_runner, load_config, setup_cpu_distributed
from rsseg.utils.cli import run_cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Self-supervised pretraining of a backbone on unlabelled chips.')
    add_run_arguments(parser, 'pretraining (configs/ssl/)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if cfg.model.get('type') != 'DenseCL':
        raise ValueError(f'{args.config}: not a pretraining config (model type {cfg.model.get("type")!r}; '
                         'segmentation configs train with tools/train.py)')
    apply_run_arguments(cfg, args)
    setup_cpu_distributed(cfg)
    build_runner(cfg).train()
    return 0


def cli() -> None:
    """Console entry point ``rsseg-pretrain``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
