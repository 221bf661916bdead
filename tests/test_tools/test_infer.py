"""tools/infer.py as users run it: folders of scenes, companions, resume, failures, bad input, 2-rank sharding."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio

from rsseg.cli.infer import main
from rsseg.geo.cog import is_complete, validate_cog
from tests.fixtures import write_scene, write_tiny_model
from tests.test_cli.test_console_scripts import console_scripts

from ..conftest import REPO, run_tool


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp('model'))


def _scenes(folder: Path, names=('a', 'b'), **kwargs) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_scene(folder / f'{n}.tif', seed=i, **kwargs) for i, n in enumerate(names)]


def _done_lines(text: str) -> list:
    """Scene names from the per-scene log lines (``NAME.tif: WxH px ... MP/s ...``)."""
    return re.findall(r' - (\S+\.tif): \d+x\d+ px .* MP/s', text)


def test_folder_with_good_and_bad_scenes_then_resume(model, tmp_path: Path) -> None:
    scenes = tmp_path / 'scenes'
    _scenes(scenes, width=150, height=110)
    write_scene(scenes / 'c_onebad.tif', count=1, width=40, height=40)          # band count != model's
    (scenes / 'd_broken.tif').write_bytes(b'II*\x00 not a tiff at all')         # corrupt GeoTIFF
    out = tmp_path / 'out'
    args = ['tools/infer.py', *model, scenes, '--out', out, '--window', '48', '--device', 'cpu',
            '--confidence', '--preview', '--no-progress']
    first = run_tool(*args)
    log = first.stdout + first.stderr
    assert first.returncode == 1, log                                          # a scene failed
    assert sorted(_done_lines(log)) == ['a.tif', 'b.tif']
    assert re.search(r'c_onebad.tif: .*1 band', log) and re.search(r'd_broken.tif: .*not a readable raster', log)
    assert '2 scene(s) predicted, 0 skipped (complete), 2 failed' in log
    names = sorted(p.name for p in out.iterdir())
    suffixes = ('.tif', '.tif.aux.xml', '.qml', '.confidence.tif', '.preview.png')
    assert names == sorted(f'{n}{s}' for n in 'ab' for s in suffixes)
    for name in names:
        if name.endswith('.tif'):
            assert validate_cog(out / name)[0] and is_complete(out / name), name
    with rasterio.open(scenes / 'a.tif') as src, rasterio.open(out / 'a.tif') as dst:
        assert dst.crs == src.crs and dst.transform == src.transform
        np.testing.assert_array_equal(dst.read(1) == 255, src.read_masks(1) == 0)
    stamps = {n: os.stat(out / n).st_mtime_ns for n in names}
    (out / '.a.tif.part99999.tif').write_bytes(b'left over by a killed run')   # must not confuse the resume

    second = run_tool(*args)
    log2 = second.stdout + second.stderr
    assert second.returncode == 1 and _done_lines(log2) == []
    assert '0 scene(s) predicted, 2 skipped (complete), 2 failed' in log2
    assert {n: os.stat(out / n).st_mtime_ns for n in names} == stamps


def test_scene_list_file_glob_and_no_crs_flag(model, tmp_path: Path) -> None:
    a, b = _scenes(tmp_path / 's', width=60, height=50)
    nocrs = write_scene(tmp_path / 'plain.tif', crs=None, width=60, height=50)
    (tmp_path / 'list.txt').write_text('s/a.tif\n')
    base = [str(model[0]), str(model[1]), '--window', '32', '--device', 'cpu', '--no-progress']
    assert main([*base, str(tmp_path / 'list.txt'), str(tmp_path / 's' / 'b*.tif'), '--out', str(tmp_path / 'o1')]) == 0
    assert sorted(p.name for p in (tmp_path / 'o1').iterdir() if p.suffix == '.tif') == ['a.tif', 'b.tif']
    assert main([*base, str(nocrs), '--out', str(tmp_path / 'o2')]) == 1                 # refused without the flag
    assert not (tmp_path / 'o2' / 'plain.tif').exists()
    assert main([*base, str(nocrs), '--out', str(tmp_path / 'o2'), '--allow-no-crs']) == 0
    with rasterio.open(tmp_path / 'o2' / 'plain.tif') as out:
        assert out.crs is None


def test_unwritable_output_folder_and_missing_scene(model, tmp_path: Path) -> None:
    (scene,) = _scenes(tmp_path / 's', names=('a',), width=40, height=40)
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    with pytest.raises(PermissionError, match='output folder .*a_file/out is not writable'):
        main([str(model[0]), str(model[1]), str(scene), '--out', str(blocker / 'out'), '--device', 'cpu'])
    with pytest.raises(FileNotFoundError, match='nope.tif does not exist'):
        main([str(model[0]), str(model[1]), str(tmp_path / 'nope.tif'), '--out', str(tmp_path / 'o')])


def test_console_entry_point_reports_a_mismatched_checkpoint_in_one_line(model, tmp_path: Path) -> None:
    """setup.py's ``rsseg-infer`` entry point, called in a fresh interpreter the way pip's console script calls it
    (installed or not: tests/test_cli checks the installed scripts)."""
    module, _, attr = console_scripts()['rsseg-infer'].partition(':')
    launcher = f'import sys; sys.argv[0] = "rsseg-infer"; from {module} import {attr}; sys.exit({attr}())'
    _, other = write_tiny_model(tmp_path / 'other', num_classes=6)
    (scene,) = _scenes(tmp_path / 's', names=('a',), width=40, height=40)
    proc = subprocess.run([sys.executable, '-c', launcher, str(model[0]), str(other), str(scene), '--out',
                           str(tmp_path / 'o'), '--device', 'cpu'], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    errors = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
    assert proc.returncode == 1 and len(errors) == 1, proc.stderr[-2000:]
    assert 'does not match config' in errors[0] and 'decode_head.conv_seg.weight' in errors[0]
    assert not (tmp_path / 'o' / 'a.tif').exists()


def test_two_ranks_shard_the_scenes_and_write_each_exactly_once(model, tmp_path: Path) -> None:
    names = ('s0', 's1', 's2', 's3', 's4')
    _scenes(tmp_path / 'scenes', names=names, width=70, height=60)
    out = tmp_path / 'out'
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2',
                           'tools/infer.py', *map(str, model), str(tmp_path / 'scenes'), '--out', str(out),
                           '--window', '32', '--device', 'cpu', '--no-progress', '--launcher', 'pytorch'],
                          cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    per_rank = {r: re.findall(rf'\[rank {r}/2\] - INFO - (\S+\.tif): \d+x\d+ px', log) for r in (0, 1)}
    assert sorted(per_rank[0] + per_rank[1]) == [f'{n}.tif' for n in names]      # every scene exactly once
    assert not set(per_rank[0]) & set(per_rank[1]) and per_rank[0] and per_rank[1]
    assert '5 scene(s) predicted, 0 skipped (complete), 0 failed' in log          # summed over the ranks
    assert sorted(p.name for p in out.glob('*.tif')) == [f'{n}.tif' for n in names]
    assert all(validate_cog(out / f'{n}.tif')[0] for n in names)


def test_a_failed_scene_is_named_once(model, tmp_path: Path) -> None:
    import logging

    from rsseg.apis.scene_predictor import get_logger
    nocrs = write_scene(tmp_path / 'plain.tif', crs=None, width=40, height=40)
    lines: list = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    get_logger().addHandler(handler)
    try:
        assert main([str(model[0]), str(model[1]), str(nocrs), '--out', str(tmp_path / 'o'), '--window', '32',
                     '--device', 'cpu', '--no-progress']) == 1
    finally:
        get_logger().removeHandler(handler)
    log = '\n'.join(lines)
    assert log.count(str(nocrs)) == 1 and 'failed: ' + str(nocrs) + ': the scene has no CRS' in log, log
    assert 'failed scene(s): plain.tif (reasons above)' in log


def test_window_zero_is_refused_not_replaced_by_the_default(model, tmp_path: Path) -> None:
    (scene,) = _scenes(tmp_path / 's', names=('a',), width=40, height=40)
    with pytest.raises(ValueError, match='window 0 is too small'):
        main([str(model[0]), str(model[1]), str(scene), '--out', str(tmp_path / 'o'), '--window', '0',
              '--device', 'cpu', '--no-progress'])


def test_folder_without_scenes_is_named_with_what_it_holds(model, tmp_path: Path) -> None:
    (tmp_path / 'jpgs').mkdir()
    (tmp_path / 'jpgs' / 'a.jpg').write_bytes(b'\xff\xd8')
    with pytest.raises(ValueError, match=rf'no scenes .* in folder {tmp_path / "jpgs"}: it holds only \.jpg file'):
        main([str(model[0]), str(model[1]), str(tmp_path / 'jpgs'), '--out', str(tmp_path / 'o')])
