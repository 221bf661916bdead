"""Runner plumbing shared by the train/test tools: config loading with clear errors, CPU distributed setup."""
import os
import os.path as osp
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def load_config(path: str, options: Optional[dict] = None) -> Config:
    """Read a config (and the plugins it imports); a missing file is an error naming it."""
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
