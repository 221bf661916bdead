"""Train a segmentor from an mmengine config: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]``.

A checkpoint training starts from (``load_from``, ``--resume``) must fit the model; ``--load-partial`` lets
``load_from`` load only the matching weights; ``--warm-start CKPT`` starts a UDA model from a source-only checkpoint.

Shaped like mmseg's ``tools/train.py``; adds CPU multi-process training (gloo) for ``--launcher pytorch`` on machines
without CUDA, AMP for multi-optimizer (adversarial) configs, and one-line errors for bad input.
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction

from rsseg.utils.cli import run_cli
from rsseg.utils.config_checks import check_before_training
from rsseg.utils.pretrained import check_start_fits, drop_pretrained
from rsseg.utils.runner import (build_runner, check_start_checkpoint, load_config, setup_cpu_distributed,
                                start_checkpoint)
from rsseg.utils.warm_start import write_warm_start


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train an rsseg / mmseg segmentor.')
    parser.add_argument('config', help='training config file')
    parser.add_argument('--work-dir', help='where to save logs and checkpoints (default: work_dirs/<config stem>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                        help='resume from CKPT, or from the latest checkpoint in the work dir when no path is given')
    parser.add_argument('--load-partial', action='store_true',
                        help='let load_from (--cfg-options load_from=CKPT) load a checkpoint that fits the model only '
                             'in part (the matching weights; the rest keeps its init); by default it is refused')
    parser.add_argument('--warm-start', metavar='CKPT',
                        help='start a UDA model from a source-only checkpoint (backbone and decode head go to every '
                             'student and teacher; a resumed run keeps its own weights)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU)')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default='float16',
                        help='autocast dtype of --amp (bfloat16 needs no loss scaling; Ampere and newer GPUs)')
    parser.add_argument('--no-pretrained', action='store_true',
                        help='random init: drop every pretrained start (backbone init_cfg / model.pretrained) the '
                             'config names; nothing is downloaded')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config settings, e.g. train_cfg.max_iters=10')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher (use tools/dist_train.sh for torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        enable_amp(cfg, args.amp_dtype)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
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


def enable_amp(cfg: Config, dtype: str = 'float16') -> None:
    """Switch the optimizer wrapper(s) to ``AmpOptimWrapper`` autocasting to ``dtype``; multi-optimizer configs switch
    each one (with its own dynamic loss scaler)."""
    wrappers = [cfg.optim_wrapper]
    if 'constructor' in cfg.optim_wrapper and 'optimizer' not in cfg.optim_wrapper:
        wrappers = [v for v in cfg.optim_wrapper.values() if isinstance(v, dict) and 'optimizer' in v]
    for wrapper in wrappers:
        if wrapper.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
            continue
        wrapper.type = 'AmpOptimWrapper'
        wrapper.dtype = dtype
        wrapper.setdefault('loss_scale', 'dynamic')


def cli() -> None:
    run_cli(main)


if __name__ == '__main__':
    cli()
