"""The tiler with hostile records, a shared output folder, a killed parent, a full disk and a read-only folder."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from rsseg.formats.errors import GeoError
from rsseg.formats.files import FolderBusyError
from rsseg.formats.label_coding import LabelCoding
from rsseg.geo.scenes import Scene
from rsseg.geo.tiler import TileConfig, tile_scenes
from tests.conftest import REPO, fill_disk, run_tool
from tests.data.tiler_scenes.data import make_scene


def _tile(scene: Scene, out: Path, chip: int = 32):
    config = TileConfig(chip=chip, stride=chip, coding=LabelCoding(classes=['a', 'b', 'c']))
    return tile_scenes([scene], str(out), config, progress=False)


@pytest.mark.parametrize('entry', ['../victim.tif', 'ABSOLUTE'])
def test_record_entries_outside_the_folder_are_refused_never_deleted(tmp_path: Path, entry: str) -> None:
    scene = Scene('s', *map(str, make_scene(tmp_path / 'in', 's')))
    out = tmp_path / 'out'
    _tile(scene, out)
    victim = tmp_path / 'victim.tif'
    victim.write_bytes(b'precious')
    entry = str(victim) if entry == 'ABSOLUTE' else entry
    record = out / '.tiles' / 's.json'
    rec = json.loads(record.read_text())
    rec['records'][0]['img'] = entry
    record.write_text(json.dumps(rec))
    with pytest.raises(GeoError, match=rf"s\.json: path entry '{entry}'"):
        _tile(scene, out, chip=16)  # other settings: the old chips would be dropped
    assert victim.read_bytes() == b'precious'


def test_second_tiler_into_the_same_folder_is_refused(tmp_path: Path, folder_held) -> None:
    scene = Scene('s', *map(str, make_scene(tmp_path / 'in', 's')))
    out = tmp_path / 'out'
    holder = folder_held(out)
    with pytest.raises(FolderBusyError, match=rf'being written by another rsseg process \(pid {holder.pid}'):
        _tile(scene, out)
    assert not (out / 'manifest.json').exists()
    holder.kill()
    holder.wait()
    assert _tile(scene, out).chips  # the dead holder's lock is taken over


def _children(pid: int) -> list:
    out = subprocess.run(['ps', '-o', 'pid=', '--ppid', str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_workers_die_with_a_killed_tiler(tmp_path: Path) -> None:
    code = textwrap.dedent('''
        import time
        from rsseg.geo.tiler.pool import executor
        pool = executor(2)
        list(pool.map(time.sleep, [0.01, 0.01]))
        print('ready', flush=True)
        time.sleep(60)
    ''')
    parent = subprocess.Popen([sys.executable, '-c', code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().strip() == 'ready'
    workers = _children(parent.pid)
    assert len(workers) >= 2
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(Path(f'/proc/{w}').exists() for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if Path(f'/proc/{w}').exists() and 'Z' not in
             Path(f'/proc/{w}/stat').read_text().split()[2]]
    for pid in alive:  # do not leave them behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, f'workers {alive} outlived their tiler'


def _cli(*args) -> subprocess.CompletedProcess:
    return run_tool('data_prep/tile_scenes.py', *args, '--chip', '32', '--stride', '32', '--classes', 'a,b,c',
                    '--label-pattern', '{stem}_label', '--no-progress')


def test_full_disk_is_one_error_line_and_no_manifest(tmp_path: Path, full_disk: Path) -> None:
    img, lab = make_scene(tmp_path / 'in', 's', width=256, height=256)
    fill_disk(full_disk, leave=60_000)
    proc = _cli('--images', img, '--labels', lab, '--out', full_disk / 'out')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith('error:') and 'no space left on device' in line
    assert not (full_disk / 'out' / 'manifest.json').exists()
    assert not list((full_disk / 'out').rglob('*.tif'))  # the failed scene's chips are removed, none is partial


def test_read_only_output_is_one_error_line(tmp_path: Path, read_only_dir: Path) -> None:
    img, lab = make_scene(tmp_path / 'in', 's')
    proc = _cli('--images', img, '--labels', lab, '--out', read_only_dir / 'out')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == f'error: {read_only_dir / "out"}: read-only file system'
