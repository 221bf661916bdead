"""Runner plumbing shared by the train/test tools: config loading with clear errors, CPU distributed setup, and the
check that a checkpoint training starts from fits the model."""
import os
import os.path as osp
import warnings
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner, find_latest_checkpoint

from .checkpoint import check_checkpoint_matches

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
