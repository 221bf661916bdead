"""Evaluate a checkpoint: ``rsseg-test CONFIG CHECKPOINT [--show-dir DIR]`` (``python tools/test.py ...``).

Prints per-class IoU / F1 / precision / recall and mIoU, mF1 and overall accuracy (mmseg's ``IoUMetric`` with
``mIoU`` + ``mFscore``). The checkpoint is loaded with torch's safe unpickler and must match the config's model.
"""
import argparse
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, DictAction

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.apis.runner import build_runner, load_config, setup_cpu_distributed
from rsseg.formats.files import write_json
from rsseg.utils.checkpoint import check_checkpoint_matches
from rsseg.utils.cli import run_cli
from rsseg.utils.config_checks import check_class_weights, check_manifests


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) an rsseg / mmseg segmentor.')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to save the evaluation log and metrics')
    parser.add_argument('--out', help='folder to save the predicted label maps (PNG, class indices)')
    parser.add_argument('--show', action='store_true', help='show prediction results in a window')
    parser.add_argument('--show-dir', help='folder (under the work dir) to save prediction overlays into')
    parser.add_argument('--wait-time', type=float, default=2, help='interval of --show (s)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config settings')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation (needs tta_pipeline)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def trigger_visualization_hook(cfg: Config, args: argparse.Namespace) -> None:
    """Turn on the visualization hook: prediction overlays drawn with the dataset's class names and palette."""
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise RuntimeError('--show/--show-dir need a `visualization` hook in default_hooks')
    hook['draw'] = True
    if args.show:
        hook['show'], hook['wait_time'] = True, args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
        hook['interval'] = 1  # every test image, not every 50th


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    check_class_weights(cfg, args.config)
    check_manifests(cfg, args.config)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint} does not exist')
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        trigger_visualization_hook(cfg, args)
    if args.tta:
        enable_tta(cfg, args.config)
    if args.out:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    setup_cpu_distributed(cfg)
    runner = build_runner(cfg)
    model = runner.model.module if args.tta else runner.model  # SegTTAModel wraps the segmentor
    check_checkpoint_matches(model, args.checkpoint, args.config)
    metrics = {k: float(v) for k, v in runner.test().items()}
    summary = ', '.join(f'{k}: {v:.2f}' for k, v in metrics.items() if k in ('aAcc', 'mIoU', 'mFscore', 'mAcc'))
    print(f'test metrics: {summary}', flush=True)
    write_json(osp.join(cfg.work_dir, 'test_metrics.json'), dict(checkpoint=args.checkpoint, **metrics))
    return 0


def enable_tta(cfg: Config, path: str) -> None:
    """Test-time augmentation the mmseg way: ``tta_pipeline`` on the test set, ``tta_model`` around the model."""
    if not cfg.get('tta_pipeline') or not cfg.get('tta_model'):
        raise ValueError(f'{path}: --tta needs tta_pipeline and tta_model in the config (uda_common.py defines the '
                         'reference\'s multi-scale test for the UDA settings)')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model


def cli() -> None:
    """Console entry point ``rsseg-test``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
