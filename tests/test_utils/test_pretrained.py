"""Pretrained starts: resolved to the local cache, loaded with safe loading on, refused clearly when absent."""
import os
import pickle

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

import rsseg.plugin  # noqa: F401  (routes pretrained starts through the cache and the safe unpickler)
from rsseg.utils.checkpoint import CheckpointRefusedError
from rsseg.utils.config_checks import check_class_weights, check_pretrained
from rsseg.utils.pretrained import cache_path, drop_pretrained, fetch_pretrained, pretrained_refs, url_of
from tests.conftest import REPO

R50 = 'open-mmlab://resnet50_v1c'
STDA_R50 = REPO / 'configs/stdaseg/stdaseg_deeplabv3plus-r50-d8_1xb2-40k_potsdam2vaihingen-384x384.py'
STDA_MIT = REPO / 'configs/stdaseg/stdaseg_segformer-mit-b5_1xb2-40k_loveda-urban2rural-384x384.py'
BASE_MIT = REPO / 'configs/stdaseg/baselines/source-only_segformer-mit-b5_1xb2-40k_loveda-urban2rural-384x384.py'


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache; downloads fail as on an offline machine (no test touches the network)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    torch.hub.set_dir(str(tmp_path / 'torch' / 'hub'))

    def offline(url, dst, *a, **k):
        raise OSError(f'offline: {url}')
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    yield tmp_path / 'torch' / 'hub' / 'checkpoints'
    torch.hub.set_dir(os.path.join(os.path.expanduser('~'), '.cache', 'torch', 'hub'))


@pytest.mark.parametrize('path', [STDA_R50, STDA_MIT, BASE_MIT], ids=lambda p: p.name)
def test_full_configs_start_from_the_reference_weights_and_the_switch_drops_them(path):
    cfg = Config.fromfile(str(path))
    refs = dict(pretrained_refs(cfg.model.to_dict()))
    want = R50 if 'r50' in path.name else 'mit_b5_20220624-658746d9.pth'
    assert refs and all(want in v for v in refs.values()), refs
    assert len(refs) == (2 if 'stdaseg_' in path.name else 1)  # both students / the one backbone
    cleared = drop_pretrained(cfg.model)
    assert cleared and not list(pretrained_refs(cfg.model.to_dict()))


def test_documented_cfg_options_switch_is_the_same_as_no_pretrained():
    cfg = Config.fromfile(str(STDA_R50))
    cfg.merge_from_dict({'model.pretrained': None, 'model.backbone_s.init_cfg': None,
                         'model.backbone_t.init_cfg': None})
    assert not list(pretrained_refs(cfg.model.to_dict()))


def test_open_mmlab_names_resolve_to_the_hub_cache(hub):
    assert url_of(R50).startswith('https://') and url_of(R50).endswith('.pth')
    assert cache_path(R50) == str(hub / os.path.basename(url_of(R50)))
    with pytest.raises(ValueError, match='unknown open-mmlab model name'):
        url_of('open-mmlab://no_such_model')


def test_missing_downloads_and_files_are_refused_with_the_fix(hub, tmp_path):
    with pytest.raises(FileNotFoundError, match=r'not in the cache .*could not be downloaded.*--no-pretrained'):
        fetch_pretrained(R50)
    with pytest.raises(FileNotFoundError, match=r'/nope\.pth does not exist.*--no-pretrained'):
        fetch_pretrained(str(tmp_path / 'nope.pth'))
    cfg = Config.fromfile(str(STDA_R50))
    with pytest.raises(FileNotFoundError, match=r'model\.backbone_s\.init_cfg\.checkpoint'):
        check_pretrained(cfg, 'cfg.py')


def test_cached_start_is_loaded_safely_through_init_cfg(hub):
    """A backbone's init_cfg loads an open-mmlab:// start from the cache (and refuses a planted pickle)."""
    src = MODELS.build(dict(type='ResNetV1c', depth=18))
    hub.mkdir(parents=True)
    target = cache_path('open-mmlab://resnet18_v1c')
    torch.save(src.state_dict(), target)
    model = MODELS.build(dict(type='ResNetV1c', depth=18,
                              init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet18_v1c')))
    model.init_weights()
    for key, value in src.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key

    class Evil:
        def __reduce__(self):
            return os.system, ('touch pwned',)
    with open(target, 'wb') as f:
        pickle.dump({'state_dict': Evil()}, f)
    with pytest.raises(CheckpointRefusedError, match='refusing to load checkpoint'):
        MODELS.build(dict(type='ResNetV1c', depth=18, init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet18_v1c'))).init_weights()
    assert not os.path.exists('pwned')


def test_class_weights_must_match_the_classes():
    cfg = Config.fromfile(str(STDA_R50))
    check_class_weights(cfg, 'ok.py')
    cfg.model.decode_head_t.loss_decode.class_weight = [1.0] * 7
    with pytest.raises(ValueError, match=r'bad\.py: model\.decode_head_t\.loss_decode\.class_weight has 7 values '
                                         r'but the model has 6 classes'):
        check_class_weights(cfg, 'bad.py')
    cfg = Config.fromfile(str(STDA_R50))
    cfg.model.pseudo_label.class_weight = [1.0] * 5
    with pytest.raises(ValueError, match=r'model\.pseudo_label\.class_weight has 5 values'):
        check_class_weights(cfg, 'bad.py')
