"""The checkpoint a training run starts from must fit the model (load_from, --resume), unless partial is asked."""
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from rsseg.apis.runner import check_start_checkpoint


def _model(classes: int) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(4, classes, 1))


@pytest.fixture
def other_ckpt(tmp_path: Path) -> Path:
    path = tmp_path / 'iter_4.pth'
    torch.save({'state_dict': _model(6).state_dict(), 'meta': {}}, path)
    (tmp_path / 'last_checkpoint').write_text(str(path))
    return path


def test_load_from_of_another_model_is_refused_naming_keys(other_ckpt: Path) -> None:
    cfg = Config(dict(load_from=str(other_ckpt), resume=False, work_dir=str(other_ckpt.parent)))
    with pytest.raises(ValueError, match=r'does not match.*1\.weight.*--load-partial'):
        check_start_checkpoint(SimpleNamespace(model=_model(5)), cfg, 'cfg.py')
    check_start_checkpoint(SimpleNamespace(model=_model(5)), cfg, 'cfg.py', partial=True)  # asked for: allowed
    check_start_checkpoint(SimpleNamespace(model=_model(6)), cfg, 'cfg.py')  # fits


@pytest.mark.parametrize('load_from', [None, 'given'])
def test_resume_with_another_model_is_refused_even_partial(other_ckpt: Path, load_from) -> None:
    cfg = Config(dict(load_from=str(other_ckpt) if load_from else None, resume=True,
                      work_dir=str(other_ckpt.parent)))
    with pytest.raises(ValueError, match=r'does not match.*1\.bias.*resuming needs'):
        check_start_checkpoint(SimpleNamespace(model=_model(5)), cfg, 'cfg.py', partial=True)


def test_loading_an_mmseg_based_config_prints_no_pkg_resources_warning() -> None:
    """mmengine resolves 'mmseg::' bases through pkg_resources, which warns on every (re-)import."""
    import subprocess
    import sys

    from tests.conftest import REPO
    config = sorted((REPO / 'configs' / 'stdaseg').glob('*tiny*.py'))[0]
    code = f'from rsseg.apis.runner import load_config; load_config({str(config)!r}); print("loaded")'
    proc = subprocess.run([sys.executable, '-W', 'default', '-c', code], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0 and 'loaded' in proc.stdout, proc.stderr[-2000:]
    assert 'pkg_resources' not in proc.stderr, proc.stderr[-2000:]
