"""Output-file policies: verified writes on a full disk, confined paths, one writer per folder, stale temporaries."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from rsseg.formats.errors import GeoError
from rsseg.formats.files import FolderBusyError, OutputLock, WriteError, remove_stale_temps, resolve_inside, write_json
from rsseg.geo.chips import chip_profile, write_chip
from tests.conftest import fill_disk
from tests.fixtures import write_cog


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def _noise(size: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (3, size, size), dtype=np.uint8)  # incompressible


def test_chip_on_a_full_disk_is_an_error_and_never_a_final_file(full_disk: Path) -> None:
    fill_disk(full_disk, leave=20_000)
    path = full_disk / 'chip.tif'
    with pytest.raises(WriteError, match='no space left on device') as exc:
        write_chip(path, _noise(100), chip_profile('uint8', 3, 100, 100, 'EPSG:32632', None), Affine.identity())
    assert str(path) in str(exc.value)
    assert sorted(p.name for p in full_disk.iterdir()) == ['filler']  # neither the chip nor a temporary


def test_cog_and_json_on_a_full_disk(full_disk: Path) -> None:
    fill_disk(full_disk, leave=20_000)
    with pytest.raises(WriteError, match=r'map\.tif: no space left on device'):
        write_cog(full_disk / 'map.tif', _noise(300)[0])
    with pytest.raises(WriteError, match=r'm\.json: no space left on device'):
        write_json(full_disk / 'm.json', list(range(20_000)))
    assert sorted(p.name for p in full_disk.iterdir()) == ['filler']


def test_written_raster_is_complete(tmp_path: Path) -> None:
    path = tmp_path / 'chip.tif'
    write_chip(path, _noise(64), chip_profile('uint8', 3, 64, 64, 'EPSG:32632', None), Affine.identity())
    with rasterio.open(path) as src:
        assert (src.read() == _noise(64)).all()
    assert os.listdir(tmp_path) == ['chip.tif']


@pytest.mark.parametrize('entry', ['../victim', '/etc/passwd', 'img_dir/../../victim', 'link/victim'])
def test_paths_leaving_the_folder_are_refused(tmp_path: Path, entry: str) -> None:
    root = tmp_path / 'out'
    (root / 'img_dir').mkdir(parents=True)
    (root / 'link').symlink_to(tmp_path)
    with pytest.raises(GeoError, match=r"manifest\.json: path entry .*outside"):
        resolve_inside(root, entry, root / 'manifest.json')
    assert resolve_inside(root, 'img_dir/a.tif', root / 'manifest.json') == (root / 'img_dir' / 'a.tif').resolve()


def test_one_writer_per_folder_and_a_dead_holder_is_taken_over(tmp_path: Path, folder_held) -> None:
    holder = folder_held(tmp_path)
    try:
        with pytest.raises(FolderBusyError, match=rf'pid {holder.pid}\b'):
            with OutputLock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / '.rsseg.lock').read_text().strip() == str(holder.pid)  # left by the killed holder
    with OutputLock(tmp_path), OutputLock(tmp_path):  # taken over; re-entrant in one process
        assert (tmp_path / '.rsseg.lock').read_text().strip() == str(os.getpid())
    assert not (tmp_path / '.rsseg.lock').exists()


def test_stale_temporaries_of_dead_runs_only_are_removed(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    names = [f'.a.tif.part{dead}.tif', f'.a.tif.tmp{dead}.tif.aux.xml', f'.m.json.tmp{dead}.json',
             f'.b.tif.part{alive}.tif', 'a.tif', '.hidden']
    for name in names:
        (tmp_path / name).write_bytes(b'x')
    removed = remove_stale_temps(tmp_path)
    assert sorted(p.name for p in removed) == sorted(names[:3])
    assert sorted(os.listdir(tmp_path)) == sorted(names[3:])
