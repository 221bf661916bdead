"""Shared fixtures: repository paths, the real data in ../shared/data, small generated GeoTIFFs."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / 'shared' / 'data'
TINY_CONFIG = REPO / 'configs' / 'source_only' / 'source-only_deeplabv3plus-r18-tiny_1xb4-100i_dubai-demo-128x128.py'


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    """No test touches the network: a download attempt (a pretrained start left in a config) fails at once."""
    import torch

    def refuse(url, *args, **kwargs):
        raise RuntimeError(f'tests must not download ({url}): use --no-pretrained / drop_pretrained')
    monkeypatch.setattr(torch.hub, 'download_url_to_file', refuse)


@pytest.fixture(scope='session')
def shared_data() -> Path:
    """``../shared/data`` (real rasters); tests using it skip with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real data folder {SHARED_DATA} (../shared/data) is absent')
    return SHARED_DATA


def run_tool(*args: str, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python <args>`` in the repository like a user would; returns the completed process."""
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def run_main(capsys):
    """Run a tool's ``main`` in-process through ``run_cli`` (no interpreter start-up); returns (code, out, err)."""
    from rsseg.utils.cli import run_cli

    def call(main, *args) -> tuple:
        with pytest.raises(SystemExit) as exc:
            run_cli(main, [str(a) for a in args])
        captured = capsys.readouterr()
        return exc.value.code, captured.out, captured.err
    return call


@pytest.fixture
def utm_raster(tmp_path: Path):
    """Factory writing a small multi-band GeoTIFF in UTM 32N with a nodata value and a nodata corner."""
    from tests.fixtures import write_raster

    def make(name: str = 'scene.tif', count: int = 3, dtype: str = 'uint16', width: int = 96, height: int = 80,
             nodata=0, seed: int = 0) -> Path:
        rng = np.random.default_rng(seed)
        hi = 255 if dtype == 'uint8' else 4000
        data = rng.integers(1, hi, size=(count, height, width)).astype(dtype)
        if nodata is not None:
            data[:, :10, :12] = nodata
        return write_raster(tmp_path / name, data, nodata=nodata)
    return make


def _mount_tmpfs(folder: Path, options: str):
    """Mount a tmpfs on ``folder`` (root only); skips the test with the reason otherwise."""
    import os
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip('needs root to mount a tmpfs (full disk / read-only folder)')
    proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', str(folder)], capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f'cannot mount a tmpfs here: {proc.stderr.strip()}')
    return folder


@pytest.fixture
def folder_held():
    """Factory: another process holding rsseg's output lock on a folder (killed at teardown, or earlier by the test)."""
    import textwrap
    holders = []

    def hold(folder: Path) -> subprocess.Popen:
        code = textwrap.dedent(f'''
            import time
            from rsseg.formats.files import OutputLock
            with OutputLock({str(folder)!r}):
                print('held', flush=True)
                time.sleep(60)
        ''')
        holder = subprocess.Popen([sys.executable, '-c', code], cwd=REPO, stdout=subprocess.PIPE, text=True)
        holders.append(holder)
        assert holder.stdout.readline().strip() == 'held'
        return holder
    yield hold
    for holder in holders:
        holder.kill()
        holder.wait()


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 300 KiB file system (a tmpfs): writes beyond it fail with ENOSPC."""
    folder = _mount_tmpfs(tmp_path / 'small_fs', 'size=300k')
    yield folder
    subprocess.run(['umount', '-l', str(folder)], check=False)


@pytest.fixture
def read_only_dir(tmp_path: Path):
    """A read-only file system (a tmpfs mounted ``ro``): every write fails with EROFS, even as root."""
    folder = _mount_tmpfs(tmp_path / 'read_only', 'ro,size=64k')
    yield folder
    subprocess.run(['umount', '-l', str(folder)], check=False)


def fill_disk(folder: Path, leave: int = 20_000) -> None:
    """Fill ``folder``'s file system up to ``leave`` free bytes."""
    import shutil
    free = shutil.disk_usage(folder).free
    (folder / 'filler').write_bytes(b'\0' * max(0, free - leave))
