"""tools/dist_train.sh on CPU: torchrun with 2 gloo processes trains and evaluates the tiny config."""
import os
import subprocess
from pathlib import Path

import rsseg.plugin  # noqa: F401  (safe loading allows the types mmengine writes, as in the tools)
from rsseg.utils.checkpoint import safe_torch_load

from ..conftest import REPO, TINY_CONFIG


def test_two_cpu_processes_train(tmp_path: Path) -> None:
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', str(TINY_CONFIG), '2', '--work-dir', str(tmp_path), '--cfg-options',
         'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False'],
        cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, 'PORT': '29613'})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'Distributed training: True' in log and 'GPU number: 2' in log  # mmengine's world size line
    assert 'mIoU' in log
    ckpt = safe_torch_load(str(tmp_path / 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2
    assert not any(k.startswith('module.') for k in ckpt['state_dict'])  # saved unwrapped from DDP
