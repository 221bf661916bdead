"""Runner plumbing shared by the train/test/pretrain tools: the common options, config loading with clear errors, CPU
distributed setup, and the check that a checkpoint training starts from fits the model.

Imports :mod:`rsseg.plugin`: every runner built here finds rsseg's modules and loads checkpoints (``load_from``,
``--resume``, pretrained starts) with safe loading on, whatever the config's ``custom_imports`` say.
"""
import argparse
import os
import os.path as osp
import warnings
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner, find_latest_checkpoint

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.utils.checkpoint import check_checkpoint_matches

# mmengine finds 'mmseg::' config bases through pkg_resources (utils/package_utils.py), which it re-imports on every
# lookup; each import warns that setuptools deprecates that API. The warning concerns mmengine, not the user's run.
PKG_RESOURCES_WARNING = 'pkg_resources is deprecated as an API'
warnings.filterwarnings('ignore', message=PKG_RESOURCES_WARNING, category=UserWarning)


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """Read a config (and the plugins it imports); a missing file is an error naming it. Every rsseg entry point
    loads configs here, so that mmengine's pkg_resources warning is filtered (:data:`PKG_RESOURCES_WARNING`)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work on a CPU-only torch.

    mmengine's launcher calls ``torch.cuda.set_device`` and its DDP wrapper injects ``device_ids=[LOCAL_RANK]``; both
    fail without CUDA. Start a gloo process group from torchrun's environment instead and leave ``device_ids`` unset.
    """
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher != 'pytorch':
        raise RuntimeError(f'--launcher {cfg.launcher} needs CUDA; on CPU use --launcher pytorch (torchrun)')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    os.environ.setdefault('LOCAL_RANK', '0')


def _memoised_pretty_text(fn):
    """Cache ``Config.pretty_text`` per config content: mmengine formats the whole config with yapf (~4 s on a
    2-core CPU) at start-up and again for every checkpoint it saves."""
    cache: dict = {}

    def pretty_text(self: Config) -> str:
        key = (id(self), repr(self._cfg_dict))
        if key not in cache:
            cache.clear()
            cache[key] = fn(self)
        return cache[key]
    return pretty_text


if not getattr(Config.pretty_text.fget, '_rsseg_memoised', False):
    Config.pretty_text = property(_memoised_pretty_text(Config.pretty_text.fget))
    Config.pretty_text.fget._rsseg_memoised = True


def build_runner(cfg: Config) -> Runner:
    """Build the runner named by ``runner_type`` (default: mmengine's ``Runner``)."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def start_checkpoint(cfg: Config) -> Optional[str]:
    """The checkpoint training will start from: ``load_from``, or with ``resume`` and no path the work dir's latest."""
    if cfg.get('resume') and not cfg.get('load_from'):
        return find_latest_checkpoint(cfg.work_dir)
    return cfg.get('load_from')


def check_start_checkpoint(runner: Runner, cfg: Config, config_path: str, partial: bool = False) -> None:
    """Refuse a ``load_from`` / ``--resume`` checkpoint that does not fit the model, naming the keys.

    mmengine loads ``load_from`` non-strictly (a checkpoint of another model trains from random init after one log
    line) and fails on ``--resume`` with a bare ``param_groups`` error. ``partial`` keeps mmengine's partial loading
    for ``load_from`` (a deliberate start from another model's weights); resuming always needs the same model.
    """
    path = start_checkpoint(cfg)
    if not path or (partial and not cfg.get('resume')):
        return
    try:
        check_checkpoint_matches(runner.model, path, config_path)
    except ValueError as exc:
        hint = ('resuming needs a checkpoint of this very model' if cfg.get('resume') else
                'pass --load-partial to start from the matching weights only')
        raise ValueError(f'{exc} ({hint})') from None


def add_run_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """The options ``tools/train.py`` and ``tools/pretrain.py`` share: config, work dir, resume, AMP, overrides,
    launcher. ``what`` names the config in the help (``'training'``...)."""
    parser.add_argument('config', help=f'{what} config file')
    parser.add_argument('--work-dir', help='where to save logs and checkpoints (default: work_dirs/<config stem>)')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CKPT',
                        help='resume from CKPT, or from the latest checkpoint in the work dir when no path is given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU)')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'], default='float16',
                        help='autocast dtype of --amp (bfloat16 needs no loss scaling; Ampere and newer GPUs)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config settings, e.g. train_cfg.max_iters=10')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher (use tools/dist_train.sh for torchrun)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def apply_run_arguments(cfg: Config, args: argparse.Namespace) -> None:
    """Launcher, work dir (default ``work_dirs/<config stem>``), AMP and resume from :func:`add_run_arguments`."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        enable_amp(cfg, args.amp_dtype)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume


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
