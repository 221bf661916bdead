"""The checkpoint a training run starts from must fit the model (load_from, --resume), unless partial is asked."""
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from rsseg.utils.runner import check_start_checkpoint


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
