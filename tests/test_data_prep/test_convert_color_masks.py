"""data_prep/convert_color_masks.py: pairing, palettes, refusal of bad input without partial output."""
import shutil
from pathlib import Path

import numpy as np
import rasterio

from data_prep.convert_color_masks import main

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
