"""Self-supervised pretraining of a backbone on unlabelled chips: ``python tools/pretrain.py CONFIG [--work-dir DIR]``.

The config (``configs/ssl/``) names the manifests (source and target together), the method (DenseCL) and the backbone;
the result is ``WORK_DIR/backbone.pth``, which a segmentation config starts from with
``backbone=dict(..., init_cfg=dict(type='Pretrained', checkpoint='WORK_DIR/backbone.pth'))``. Options as
``tools/train.py``: ``--resume``, ``--amp``, ``--cfg-options``, ``--launcher pytorch`` (torchrun).
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import DictAction

from rsseg.utils.cli import run_cli
from rsseg.utils.runner import build_runner, load_config, setup_cpu_distributed
from tools.train import enable_amp


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Self-supervised pretraining of a backbone on unlabelled chips.')
    parser.add_argument('config', help='pretraining config file (configs/ssl/)')
    parser.add_argument('--work-dir', help='where to save logs, checkpoints and backbone.pth '
                                           '(default: work_dirs/<config stem>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                        help='resume from CKPT, or from the latest checkpoint in the work dir when no path is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU)')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default='float16')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config settings, e.g. train_cfg.max_iters=10')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    if cfg.model.get('type') != 'DenseCL':
        raise ValueError(f'{args.config}: not a pretraining config (model type {cfg.model.get("type")!r}; '
                         'segmentation configs train with tools/train.py)')
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        enable_amp(cfg, args.amp_dtype)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    runner.train()
    return 0


def cli() -> None:
    run_cli(main)


if __name__ == '__main__':
    cli()
