"""Pretrained starts named in configs: found in the local cache (or downloaded once), loaded with safe loading on.

Configs name weights the mmseg way: ``open-mmlab://resnet50_v1c``, an ``https://`` URL, or a local file, in a
backbone's ``init_cfg=dict(type='Pretrained', checkpoint=...)`` or a model's ``pretrained``. mmengine downloads URLs
into torch's hub cache and unpickles them without ``weights_only``; here every remote start resolves to
``<torch hub dir>/checkpoints/<file name>`` (the same place mmengine and torch.hub use, so a file a user copies
there is found on an offline machine) and goes through :func:`~rsseg.utils.checkpoint.safe_torch_load`.
"""
import functools
import os
import os.path as osp
from typing import Any, Iterator, List, Optional, Tuple

import torch
from mmengine.runner.checkpoint import CheckpointLoader, get_deprecated_model_names, get_external_models

from .checkpoint import safe_torch_load, state_dict_of
from .config_tree import walk_dicts
from .packaged_weights import PACKAGED_PREFIX, packaged_checkpoint

OPENMMLAB_PREFIX = 'open-mmlab://'
REMOTE_PREFIXES = (OPENMMLAB_PREFIX, 'http://', 'https://')
NO_PRETRAINED_HINT = 'or train from random init with tools/train.py --no-pretrained'


def is_remote(checkpoint: str) -> bool:
    """Whether ``checkpoint`` names a download (``open-mmlab://`` or a URL) rather than a local file."""
    return checkpoint.startswith(REMOTE_PREFIXES)


def url_of(checkpoint: str) -> str:
    """The download URL of an ``open-mmlab://`` name (URLs pass through)."""
    if not checkpoint.startswith(OPENMMLAB_PREFIX):
        return checkpoint
    name = checkpoint[len(OPENMMLAB_PREFIX):]
    name = get_deprecated_model_names().get(name, name)
    urls = get_external_models()
    if name not in urls:
        raise ValueError(f'{checkpoint}: unknown open-mmlab model name (mmengine knows {len(urls)} names, '
                         f'e.g. resnet50_v1c)')
    return urls[name]


def cache_path(checkpoint: str) -> str:
    """Local file of a pretrained start: the torch hub cache for downloads, the path itself otherwise."""
    if not is_remote(checkpoint):
        return osp.expanduser(checkpoint)
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(url_of(checkpoint).split('?')[0]))


def fetch_pretrained(checkpoint: str) -> str:
    """Path of ``checkpoint`` on disk, downloading a remote start into the cache once.

    Raises:
        FileNotFoundError: a local file is missing, or a download is not cached and cannot be fetched; the message
            names the file, where to put it, and the switch that trains from random init.
    """
    if checkpoint.startswith(PACKAGED_PREFIX):  # weights shipped inside a registry package, converted once
        return packaged_checkpoint(checkpoint)
    path = cache_path(checkpoint)
    if osp.isfile(path):
        return path
    if not is_remote(checkpoint):
        raise FileNotFoundError(f'pretrained checkpoint {checkpoint} does not exist; give an existing file '
                                f'{NO_PRETRAINED_HINT}')
    url = url_of(checkpoint)
    os.makedirs(osp.dirname(path), exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, path, progress=False)  # temporary name, renamed when complete
    except Exception as exc:  # noqa: BLE001  (any network failure means the same thing to the user)
        raise FileNotFoundError(f'pretrained checkpoint {checkpoint} is not in the cache ({path}) and could not be '
                                f'downloaded from {url} ({type(exc).__name__}: {exc}); copy the file to {path} '
                                f'{NO_PRETRAINED_HINT}') from None
    return path


def _load_start(filename: str, map_location: Optional[Any] = None) -> Any:
    """mmengine checkpoint-loader scheme for downloads and packaged starts: the cached file, safe unpickler."""
    return safe_torch_load(fetch_pretrained(filename), map_location=map_location)


def install_start_loaders() -> None:
    """Route mmengine's remote schemes and ``packaged://`` through the cache and the safe unpickler."""
    CheckpointLoader.register_scheme(prefixes=[*REMOTE_PREFIXES, PACKAGED_PREFIX], loader=_load_start, force=True)


def pretrained_refs(node: Any, key: str = 'model') -> Iterator[Tuple[str, str]]:
    """``(config key, checkpoint)`` of every pretrained start inside a model config tree."""
    for path, d in walk_dicts(node, key):
        if d.get('type') == 'Pretrained' and d.get('checkpoint'):
            yield f'{path}.checkpoint', d['checkpoint']
        if isinstance(d.get('pretrained'), str):
            yield f'{path}.pretrained', d['pretrained']


def drop_pretrained(node: Any) -> List[str]:
    """Remove every pretrained start from a model config in place (random init); returns the keys it cleared.

    The same as ``--cfg-options model.pretrained=None model.backbone.init_cfg=None`` (``backbone_s`` /
    ``backbone_t`` for ST-DASegNet), for any model layout.
    """
    cleared: List[str] = []
    for key, d in walk_dicts(node, 'model'):
        if isinstance(d.get('pretrained'), str):
            d['pretrained'] = None
            cleared.append(f'{key}.pretrained')
        init = d.get('init_cfg')
        starts = [i for i in (init if isinstance(init, (list, tuple)) else [init])
                  if isinstance(i, dict) and i.get('type') == 'Pretrained']
        if starts:
            d['init_cfg'] = None if isinstance(init, dict) else [i for i in init if i not in starts]
            cleared.append(f'{key}.init_cfg')
    return cleared


def _starts(init_cfg: Any) -> List[dict]:
    """The ``Pretrained`` entries of an ``init_cfg`` (a dict or a list of them)."""
    items = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    return [i for i in items if isinstance(i, dict) and i.get('type') == 'Pretrained' and i.get('checkpoint')]


def _local_start(checkpoint: str) -> Optional[str]:
    """The file of a start the user made (not a download, not a packaged start), when it exists."""
    if is_remote(checkpoint) or checkpoint.startswith(PACKAGED_PREFIX):
        return None
    path = osp.expanduser(checkpoint)
    return path if osp.isfile(path) else None


@functools.lru_cache(maxsize=2)
def _read_start(path: str, stamp: Tuple[int, int]) -> Any:
    """A local start loaded safely, once per file version (``stamp``: mtime and size) for both checks."""
    return safe_torch_load(path, map_location='cpu')


def _load_local(path: str) -> Any:
    """:func:`_read_start` of ``path`` as it is on disk now."""
    stat = os.stat(path)
    return _read_start(path, (stat.st_mtime_ns, stat.st_size))


def check_start_bands(model_cfg: dict, config: str) -> None:
    """Refuse a start written by ``tools/pretrain.py`` (its meta records ``bands``) for a backbone taking another
    band count, before anything is built."""
    for key, node in walk_dicts(model_cfg, 'model'):
        for start in _starts(node.get('init_cfg')):
            path = _local_start(start['checkpoint'])
            if path is None:
                continue
            ckpt = _load_local(path)
            bands = (ckpt.get('meta') or {}).get('bands') if isinstance(ckpt, dict) else None
            takes = node.get('in_channels', 3)
            if bands is not None and bands != takes:
                raise ValueError(f'{config}: {key}.init_cfg: {start["checkpoint"]} was pretrained on {bands}-band '
                                 f'chips but {key} takes {takes} bands (in_channels); pretrain on chips of this '
                                 'band set or change in_channels')


def check_start_fits(model: torch.nn.Module, config: str) -> None:
    """Refuse a local ``init_cfg`` start whose weights do not fit the module it starts (another architecture).

    mmengine loads such starts non-strictly: a checkpoint of another backbone would train from random init after one
    log line. A start fits when its tensors (after the init_cfg's ``prefix``) cover at least half of the module's and
    none of the shared names has another shape.
    """
    try:
        for name, module in model.named_modules():
            for start in _starts(getattr(module, 'init_cfg', None)):
                path = _local_start(start['checkpoint'])
                if path is None:
                    continue
                state = state_dict_of(_load_local(path))
                prefix = start.get('prefix')
                if prefix:
                    state = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + '.')}
                own = module.state_dict()
                shared = [k for k in own if k in state]
                wrong = [k for k in shared if tuple(state[k].shape) != tuple(own[k].shape)]
                if wrong or len(shared) < len(own) / 2:
                    detail = (f'{wrong[0]} is {tuple(state[wrong[0]].shape)} there, {tuple(own[wrong[0]].shape)} here'
                              if wrong else f'it holds {len(shared)} of the {len(own)} tensors')
                    raise ValueError(f'{config}: {name or "model"}.init_cfg: {start["checkpoint"]} does not fit '
                                     f'{type(module).__name__} ({detail}); is it a checkpoint of another architecture?')
    finally:
        _read_start.cache_clear()  # the last reader: training loads the start itself; free it
