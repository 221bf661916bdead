"""Safe checkpoint loading: mmengine's own checkpoints load, planted objects are refused before they run."""
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import CheckpointLoader

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.utils.checkpoint import CheckpointRefusedError, check_checkpoint_matches, safe_torch_load


class _Planted:
    """Unpickling this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_mmengine_message_hub_and_numpy_load(tmp_path: Path) -> None:
    hub = MessageHub.get_instance('rsseg-test-ckpt')
    hub.update_scalar('train/loss', 1.5)
    hub.update_info('np_scalar', np.float64(2.5))
    hub.update_info('np_array', np.arange(4))
    path = tmp_path / 'ok.pth'
    torch.save({'message_hub': hub.state_dict(), 'state_dict': {'w': torch.ones(2)}}, path)
    loaded = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    restored = MessageHub.get_instance('rsseg-test-ckpt-restored')
    restored.load_state_dict(loaded['message_hub'])
    assert restored.get_scalar('train/loss').current() == 1.5
    assert restored.get_info('np_scalar') == 2.5
    np.testing.assert_array_equal(restored.get_info('np_array'), np.arange(4))


def test_planted_object_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Planted(marker)}, path)
    with pytest.raises(CheckpointRefusedError, match=r'evil\.pth.*(posix|system)'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_getattr_payload_is_refused(tmp_path: Path) -> None:
    from mmengine.logging.history_buffer import HistoryBuffer

    class GetattrPayload:  # getattr is allowed only for HistoryBuffer's min/max/current/mean
        def __reduce__(self):
            return getattr, (HistoryBuffer, 'load_state_dict')

    path = tmp_path / 'getattr.pth'
    torch.save({'x': GetattrPayload()}, path)
    with pytest.raises(CheckpointRefusedError, match='load_state_dict'):
        safe_torch_load(str(path))


def test_checkpoint_from_another_model_is_refused(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 5, 1))
    other = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, 6, 1))
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': other.state_dict()}, path)
    with pytest.raises(ValueError, match=r'does not match.*other shapes.*1\.weight'):
        check_checkpoint_matches(model, str(path), 'cfg.py')
    torch.save({'state_dict': model.state_dict()}, path)
    check_checkpoint_matches(model, str(path), 'cfg.py')
