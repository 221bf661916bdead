"""``data_prep/tile_scenes.py``: the CLI shape scripts rely on, errors as one line and a non-zero exit."""
import json

import numpy as np
import pytest
import rasterio

from rsseg.cli import tile as cli_mod
from rsseg.formats.manifest import Manifest
from tests.conftest import run_tool
from tests.data.tiler_scenes.data import ISPRS_COLORS, class_blocks, make_color_label, make_scene


def _run(argv, capsys):
    """Run the CLI like the console entry point does; returns (exit code, stdout, stderr)."""
    from rsseg.utils.cli import run_cli
    with pytest.raises(SystemExit) as exc:
        run_cli(cli_mod.main, argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_help_lists_the_documented_options(capsys):
    code, out, _ = _run(['--help'], capsys)
    assert code == 0
    for opt in ('--images', '--labels', '--out', '--chip', '--stride', '--gsd', '--bands', '--min-valid', '--crs',
                '--nodata', '--split-seed', '--splits', '--workers', '--keep-going', '--classes', '--palette',
                '--label-pattern'):
        assert opt in out


def test_folder_glob_and_label_pattern(tmp_path, capsys):
    for i in range(3):
        img, lab = make_scene(tmp_path / 'imgs', f'tile{i}', seed=i)
        lab.rename(tmp_path / 'imgs' / f'tile{i}_gt.tif')
    (tmp_path / 'labs').mkdir()
    for p in (tmp_path / 'imgs').glob('*_gt.tif'):
        p.rename(tmp_path / 'labs' / p.name)
    code, out, err = _run(['--images', str(tmp_path / 'imgs' / 'tile*.tif'), '--labels', str(tmp_path / 'labs'),
                           '--label-pattern', '{stem}_gt', '--out', str(tmp_path / 'out'), '--chip', '32',
                           '--stride', '24', '--bands', '3,1', '--classes', 'a,b,c', '--splits', '0.34,0.33,0.33',
                           '--split-seed', '1', '--no-progress'], capsys)
    assert code == 0, err
    m = Manifest.load(tmp_path / 'out' / 'manifest.json')
    assert m.bands == [3, 1] and m.classes == ['a', 'b', 'c'] and {c.scene for c in m.chips} == {'tile0', 'tile1',
                                                                                                    'tile2'}
    assert sorted({c.split for c in m.chips}) == ['test', 'train', 'val']
    assert all(c.ann and c.class_hist is not None for c in m.chips)
    assert f'{len(m.chips)} chips' in out


def test_list_file_and_palette_colour_labels(tmp_path, capsys):
    img, _ = make_scene(tmp_path, 'area1', dtype='uint8', label=False, nodata=None)
    make_color_label(tmp_path / 'area1_label.tif', class_blocks(80, 96, 6), ISPRS_COLORS)
    (tmp_path / 'list.txt').write_text('# scenes\narea1.tif\n')
    palette = {'classes': dict(zip(['imp', 'bld', 'low', 'tree', 'car', 'clutter'],
                                   ['#FFFFFF', '#0000FF', '#00FFFF', '#00FF00', '#FFFF00', '#FF0000']))}
    (tmp_path / 'pal.json').write_text(json.dumps(palette))
    code, _, err = _run(['--images', str(tmp_path / 'list.txt'), '--labels', str(tmp_path / 'area1_label.tif'),
                         '--label-pattern', '{stem}_label', '--palette', str(tmp_path / 'pal.json'),
                         '--out', str(tmp_path / 'out'), '--chip', '40', '--stride', '40', '--no-progress'], capsys)
    assert code == 0, err
    m = Manifest.load(tmp_path / 'out' / 'manifest.json')
    assert m.palette[1] == [0, 0, 255] and m.meta['tiler']['label_mode'] == 'color'
    with rasterio.open(tmp_path / 'out' / m.chips[0].ann) as a:
        np.testing.assert_array_equal(a.read(1), class_blocks(80, 96, 6)[:40, :40])


def test_error_is_one_line_and_exit_1(tmp_path, capsys):
    img, _ = make_scene(tmp_path, 's', label=False)
    code, _, err = _run(['--images', str(img), '--out', str(tmp_path / 'out'), '--chip', '32', '--stride', '32',
                         '--bands', '1,9', '--no-progress'], capsys)
    assert code == 1 and err.strip().startswith('error: ') and 'band index [9] out of range' in err
    assert 's.tif' in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(['--images', str(tmp_path / 'nothing*.tif'), '--out', str(tmp_path / 'o'), '--chip', '8',
                         '--stride', '8'], capsys)
    assert code == 1 and 'matches no raster' in err
    code, _, err = _run(['--images', str(img), '--out', str(tmp_path / 'o'), '--chip', '8', '--stride', '16'],
                        capsys)
    assert code == 1 and 'larger than chip' in err


def test_keep_going_summary_and_status(tmp_path, capsys):
    good, _ = make_scene(tmp_path, 'good', label=False, dtype='uint8')
    (tmp_path / 'bad.tif').write_bytes(b'not a tiff at all')
    code, out, _ = _run(['--images', str(good), str(tmp_path / 'bad.tif'), '--out', str(tmp_path / 'out'),
                         '--chip', '32', '--stride', '32', '--keep-going', '--no-progress'], capsys)
    assert code == 1 and '1 scene(s) failed' in out and 'bad.tif' in out
    assert (tmp_path / 'out' / 'manifest.json').is_file()


def test_script_runs_as_a_user_would(tmp_path):
    img, _ = make_scene(tmp_path, 'scene', label=False, dtype='uint8')
    proc = run_tool('data_prep/tile_scenes.py', '--images', img, '--out', tmp_path / 'out', '--chip', '32',
                    '--stride', '16', '--min-valid', '0.9', '--no-progress')
    assert proc.returncode == 0, proc.stderr
    m = Manifest.load(tmp_path / 'out' / 'manifest.json')
    assert m.chips and all(c.valid_fraction >= 0.9 for c in m.chips)
    assert callable(cli_mod.cli)
