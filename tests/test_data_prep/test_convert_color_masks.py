"""data_prep/convert_color_masks.py: pairing, palettes, refusal of bad input without partial output."""
import shutil
from pathlib import Path

import numpy as np
import rasterio

from rsseg.cli.convert_color_masks import main

from ..conftest import REPO

DEMO = REPO / 'demo' / 'dubai'


def _copy_tile(tmp_path: Path, n: int = 2) -> Path:
    root = tmp_path / 'tile'
    for sub in ('images', 'masks'):
        (root / sub).mkdir(parents=True)
        for path in sorted((DEMO / 'tile_2' / sub).iterdir())[:n]:
            shutil.copy(path, root / sub / path.name)
    return root


def _error(result) -> str:
    return result[2].strip().splitlines()[-1]


def test_right_palette_converts_and_rerun_skips(tmp_path: Path, run_main) -> None:
    root = _copy_tile(tmp_path)
    args = ['--images', root / 'images', '--masks', root / 'masks', '--palette', DEMO / 'palette.json',
            '--out', tmp_path / 'labels', '--no-progress']
    proc = run_main(main, *args)
    assert proc[0] == 0, proc[2]
    outs = sorted((tmp_path / 'labels').glob('*.tif'))
    assert [p.stem for p in outs] == ['image_part_001', 'image_part_002']
    with rasterio.open(outs[0]) as src:
        labels = src.read(1)
    assert labels.dtype == np.uint8 and set(np.unique(labels)) <= {0, 1, 2, 3, 4, 255}
    mtime = outs[0].stat().st_mtime_ns
    assert run_main(main, *args)[0] == 0
    assert outs[0].stat().st_mtime_ns == mtime  # resumed, not redone


def test_shipped_palette_refused_nothing_written(tmp_path: Path, run_main) -> None:
    root = _copy_tile(tmp_path, 1)
    proc = run_main(main, '--images', root / 'images', '--masks', root / 'masks', '--palette',
                    DEMO / 'classes.json', '--out', tmp_path / 'labels')
    assert proc[0] == 1
    assert 'image_part_001.png' in _error(proc) and 'not in palette' in _error(proc) and 'px)' in _error(proc)
    assert not list((tmp_path / 'labels').iterdir())


def test_image_without_mask_and_mask_without_image(tmp_path: Path, run_main) -> None:
    root = _copy_tile(tmp_path)
    (root / 'masks' / 'image_part_002.png').unlink()
    proc = run_main(main, '--images', root / 'images', '--masks', root / 'masks', '--palette',
                    DEMO / 'palette.json', '--out', tmp_path / 'labels')
    assert proc[0] == 1 and 'no mask for image(s)' in _error(proc) and 'image_part_002.jpg' in _error(proc)
    (root / 'images' / 'image_part_002.jpg').unlink()
    shutil.copy(DEMO / 'tile_2' / 'masks' / 'image_part_003.png', root / 'masks')
    proc = run_main(main, '--images', root / 'images', '--masks', root / 'masks', '--palette',
                    DEMO / 'palette.json', '--out', tmp_path / 'labels')
    assert proc[0] == 1 and 'no image for mask(s)' in _error(proc) and 'image_part_003.png' in _error(proc)


def test_empty_image_folder(tmp_path: Path, run_main) -> None:
    (tmp_path / 'empty').mkdir()
    proc = run_main(main, '--images', tmp_path / 'empty', '--masks', tmp_path / 'empty', '--palette',
                    DEMO / 'palette.json', '--out', tmp_path / 'labels')
    assert proc[0] == 1 and _error(proc) == f'error: no images (.tif/.tiff/.jpg/.jpeg/.png) in {tmp_path / "empty"}'


def _args(root: Path, out: Path, palette: Path = DEMO / 'palette.json') -> list:
    return ['--images', root / 'images', '--masks', root / 'masks', '--palette', palette, '--out', out,
            '--no-progress']


def test_labels_of_another_palette_are_redone_saying_so(tmp_path: Path, run_main) -> None:
    import json
    root, out = _copy_tile(tmp_path, 1), tmp_path / 'labels'
    assert run_main(main, *_args(root, out))[0] == 0
    with rasterio.open(out / 'image_part_001.tif') as src:
        before = src.read(1)
    raw = json.loads((DEMO / 'palette.json').read_text())
    raw['classes'] = dict(reversed(list(raw['classes'].items())))  # same colours, class order reversed
    reversed_palette = tmp_path / 'reversed.json'
    reversed_palette.write_text(json.dumps(raw))
    code, _, err = run_main(main, *_args(root, out, reversed_palette))
    assert code == 0 and 'image_part_001.tif was not made with palette' in err
    with rasterio.open(out / 'image_part_001.tif') as src:
        after = src.read(1)
    labelled = before != 255
    assert (after[labelled] == 4 - before[labelled]).all()


def test_every_bad_mask_is_reported_and_the_good_ones_written(tmp_path: Path, run_main) -> None:
    root, out = _copy_tile(tmp_path, 3), tmp_path / 'labels'
    from PIL import Image
    for name in ('image_part_001.png', 'image_part_003.png'):
        with rasterio.open(root / 'masks' / name) as src:
            size = (src.width, src.height)
        Image.new('RGB', size, (7, 7, 7)).save(root / 'masks' / name)  # a colour outside the palette
    code, _, err = run_main(main, *_args(root, out))
    assert code == 1 and '2 of 3 mask(s) not converted' in _error((code, _, err))
    assert 'image_part_001.png' in _error((code, _, err)) and 'image_part_003.png' in _error((code, _, err))
    assert [p.name for p in out.glob('*.tif')] == ['image_part_002.tif']


def test_full_disk_and_read_only_folder_are_one_line(tmp_path: Path, run_main, full_disk: Path) -> None:
    from tests.conftest import fill_disk
    root = _copy_tile(tmp_path, 2)
    fill_disk(full_disk, leave=12_000)
    code, _, err = run_main(main, *_args(root, full_disk / 'labels'))
    assert code == 1 and 'Traceback' not in err
    assert _error((code, _, err)).startswith('error: cannot write') and 'no space left on device' in err
    for label in (full_disk / 'labels').glob('*.tif'):  # whatever was written is complete
        with rasterio.open(label) as src:
            src.read()


def test_read_only_output_folder_is_one_line(tmp_path: Path, run_main, read_only_dir: Path) -> None:
    code, _, err = run_main(main, *_args(_copy_tile(tmp_path, 1), read_only_dir / 'labels'))
    assert code == 1 and _error((code, _, err)) == f'error: {read_only_dir / "labels"}: read-only file system'
