"""The scene predictor on a full disk, in a shared or read-only folder, after killed runs and with other settings."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rsseg.apis import ScenePredictor
from rsseg.cli.infer import main
from rsseg.formats.files import FolderBusyError
from rsseg.geo.cog import is_complete
from tests.fixtures import write_scene, write_tiny_model

from ..conftest import fill_disk


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp('model')
    return write_tiny_model(folder), write_tiny_model(folder / 'other', seed=1)


def _predictor(model, window: int = 32, other: bool = False) -> ScenePredictor:
    config, checkpoint = model[1] if other else model[0]
    return ScenePredictor(config, checkpoint, window=window, progress=False)


def test_full_disk_fails_each_scene_cleanly_and_goes_on(model, tmp_path: Path, full_disk: Path) -> None:
    scenes = [write_scene(tmp_path / f'{n}.tif', width=400, height=300, seed=i) for i, n in enumerate('ab')]
    fill_disk(full_disk, leave=30_000)
    results = _predictor(model).predict_scenes(scenes, full_disk / 'out', confidence=True)
    assert [r.status for r in results] == ['failed', 'failed']
    assert all('no space left on device' in r.error for r in results), [r.error for r in results]
    assert sorted(os.listdir(full_disk / 'out')) == []  # no partial map under a final name, no temporary


def test_stale_temporaries_removed_and_other_settings_redone(model, tmp_path: Path) -> None:
    scene, out = write_scene(tmp_path / 'a.tif', width=80, height=70), tmp_path / 'out'
    out.mkdir()
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    (out / f'.a.tif.part{dead.pid}.tif').write_bytes(b'left over by a killed run')
    predictor = _predictor(model)
    assert [r.status for r in predictor.predict_scenes([scene], out)] == ['done']
    assert sorted(os.listdir(out)) == ['a.qml', 'a.tif', 'a.tif.aux.xml']
    assert predictor.predict_scenes([scene], out)[0].status == 'skipped'
    assert _predictor(model, window=48).predict_scenes([scene], out)[0].status == 'done'  # other window
    # other weights under the same checkpoint file name: the content digest differs
    other = _predictor(model, window=48, other=True)
    other.checkpoint_name = predictor.checkpoint_name
    assert other.predict_scenes([scene], out)[0].status == 'done' and is_complete(out / 'a.tif')
    assert other.stale_settings(out / 'a.tif') == [] and predictor.stale_settings(out / 'a.tif') == [
        'checkpoint', 'window']


def test_second_writer_into_the_folder_is_refused(model, tmp_path: Path, folder_held) -> None:
    out = tmp_path / 'out'
    holder = folder_held(out)
    with pytest.raises(FolderBusyError, match=f'pid {holder.pid}'):
        _predictor(model).predict_scenes([write_scene(tmp_path / 'a.tif', width=40, height=40)], out)


def test_read_only_output_is_one_error_line(model, tmp_path: Path, read_only_dir: Path, run_main) -> None:
    scene = write_scene(tmp_path / 'a.tif', width=40, height=40)
    code, _, err = run_main(main, *model[0], scene, '--out', read_only_dir / 'out', '--device', 'cpu',
                            '--no-progress')
    assert code == 1 and err.strip().splitlines()[-1].startswith('error: ')
    assert 'read-only file system' in err.strip().splitlines()[-1].lower()
