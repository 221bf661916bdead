"""Golden outputs of the tiler, the colour-mask converter and the scene predictor, as SHA-256 digests.

The same command lines (``data_prep/convert_color_masks.py``, ``data_prep/tile_scenes.py``, ``tools/infer.py``) run on
the same inputs must give the same files, whichever version of rsseg runs them. This module runs them on a checkout
(``--repo``, imported through ``PYTHONPATH``, so an older worktree runs its own package) and digests every output;
it imports no rsseg itself. ``golden_outputs.json`` beside it holds the digests of the last commit before the
layering refactor; ``tests/test_architecture/test_identical_outputs.py`` compares today's code with them.

Made with (from the repository root; see ``golden_outputs.json`` for the commit)::

    git worktree add /tmp/golden 7726661
    PYTHONPATH=/tmp/golden .venv/bin/python tests/data/golden_outputs/data.py --repo /tmp/golden \\
        --write tests/data/golden_outputs/golden_outputs.json
    git worktree remove /tmp/golden

Inputs: the bundled Dubai Tile 1 (``demo/dubai``, converted and tiled as the demo does) and, when present, rasters of
``../shared/data`` (RGB.byte with its nodata collar, RGB2.byte with its ``.msk``, shade, the North Carolina Landsat
scene with its land-cover strata). None has an alpha band or nodata values differing between bands: the validity
rule changed on purpose for those (``rsseg/geo/validity.py``), so they are left out. The scene predictor runs a tiny
seeded mmseg model (``tiny_model.py`` + ``tiny_model.pth``, made once by :func:`make_model`, 6 KB) on the native grid
and, for Landsat, with recorded bands, GSD and normalisation (``tiny_model_landsat.py``).
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np
import rasterio

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
SHARED_DATA = REPO.parent / 'shared' / 'data'
DEMO = REPO / 'demo' / 'dubai'
MODEL_CONFIG = HERE / 'tiny_model.py'
LANDSAT_CONFIG = HERE / 'tiny_model_landsat.py'
CHECKPOINT = HERE / 'tiny_model.pth'
CLASSES = ['c0', 'c1', 'c2', 'c3']
PALETTE = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200]]
RASTER_SUFFIXES = {'.tif', '.png', '.jpg'}
RECORD_DIR = '.tiles'  # the tiler's per-scene records; their resume ``key`` hashes input paths and mtimes

NOT_COMPARED = ("the resume key of the tiler's scene records (.tiles/*.json: it hashes the inputs' absolute paths "
                'and modification times) and the scene paths in manifests (relative to the output folder)')

# name -> (needs ../shared/data, tiler arguments); {demo}, {shared}, {out} are filled in by ``expand``
TILE_CASES: Dict[str, Tuple[bool, List[str]]] = {
    # demo/dubai Tile 1 exactly as tools/demo.py tiles the source domain (labels converted first, see run_case)
    'dubai-tile1': (False, ['--images', '{demo}/tile_1/images', '--labels', '{out}/labels', '--splits', '1,0,0',
                            '--chip', '256', '--stride', '192', '--min-valid', '0.5', '--palette',
                            '{demo}/palette.json', '--label-format', 'index', '--domain', 'dubai-source']),
    'rgb-byte': (True, ['--images', '{shared}/rasterio/RGB.byte.tif', '--chip', '256', '--stride', '192']),
    'rgb-byte-600m': (True, ['--images', '{shared}/rasterio/RGB.byte.tif', '--chip', '128', '--stride', '96',
                             '--gsd', '600']),
    'rgb-byte-utm17': (True, ['--images', '{shared}/rasterio/RGB.byte.tif', '--chip', '192', '--stride', '160',
                              '--crs', 'EPSG:32617', '--gsd', '300', '--compress', 'lzw']),
    'rgb2-byte-msk': (True, ['--images', '{shared}/rasterio/RGB2.byte.tif', '--chip', '256', '--stride', '192']),
    'shade': (True, ['--images', '{shared}/rasterio/shade.tif', '--chip', '256', '--stride', '256',
                     '--min-valid', '0.05']),
    'nc-landsat': (True, ['--images', '{shared}/georef/nc-landsat/landsat_multiband.tif', '--labels',
                          '{shared}/georef/nc-landsat/strata.tif', '--label-pattern', '^landsat_multiband$=>strata',
                          '--bands', '3,2,1', '--classes', 'c1,c2,c3,c4,c5,c6,c7',
                          '--label-map', '1:0,2:1,3:2,4:3,5:4,6:5,7:6', '--chip', '128', '--stride', '96',
                          '--min-valid', '0.2', '--domain', 'nc']),
}
# name -> (needs ../shared/data, config, scenes, predictor arguments)
INFER_CASES: Dict[str, Tuple[bool, Path, List[str], List[str]]] = {
    'infer-dubai': (False, MODEL_CONFIG, ['{demo}/tile_2/images/image_part_007.jpg'],
                    ['--window', '128', '--overlap', '0.25', '--allow-no-crs', '--confidence', '--preview']),
    'infer-rgb-byte': (True, MODEL_CONFIG, ['{shared}/rasterio/RGB.byte.tif', '{shared}/rasterio/RGB2.byte.tif'],
                       ['--window', '160', '--overlap', '0.3', '--confidence', '--preview']),
    'infer-nc-landsat': (True, LANDSAT_CONFIG, ['{shared}/georef/nc-landsat/landsat_multiband.tif'],
                         ['--window', '96', '--overlap', '0.25', '--blend', 'pyramid', '--confidence']),
}


def make_model(seed: int = 0) -> None:
    """Write ``tiny_model.pth`` (seeded random weights, scaled up so that class probabilities are far from uniform).

    Run once; the checkpoint is committed, so old and new code read the very same bytes.
    """
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(seed)
    net = MODELS.build(Config.fromfile(str(MODEL_CONFIG)).model)
    with torch.no_grad():
        for key, param in net.named_parameters():
            param.normal_(0.0, 1.0 if 'conv_seg' in key else 0.6)
    meta = dict(dataset_meta=dict(classes=CLASSES, palette=PALETTE), iter=1, seed=seed)
    torch.save(dict(meta=meta, state_dict=net.state_dict()), CHECKPOINT)


def expand(values: List[str], out: Path, shared: Path) -> List[str]:
    """Fill ``{demo}``, ``{shared}`` and ``{out}`` into command-line values."""
    return [v.format(demo=DEMO, shared=shared, out=out) for v in values]


def run_script(repo: Path, script: str, args: List[str]) -> None:
    """Run ``repo/script args`` with ``repo`` first on ``PYTHONPATH`` (so that checkout's rsseg is imported)."""
    env = dict(os.environ, PYTHONPATH=str(repo), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(repo / script), *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode:
        raise RuntimeError(f'{script} {" ".join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}')


def run_case(repo: Path, name: str, out: Path, shared: Path) -> None:
    """Run case ``name`` with the scripts of ``repo``, writing into ``out``."""
    if name in TILE_CASES:
        if name == 'dubai-tile1':
            run_script(repo, 'data_prep/convert_color_masks.py', [
                '--images', str(DEMO / 'tile_1' / 'images'), '--masks', str(DEMO / 'tile_1' / 'masks'),
                '--palette', str(DEMO / 'palette.json'), '--out', str(out / 'labels'), '--no-progress'])
        args = expand(TILE_CASES[name][1], out, shared)
        run_script(repo, 'data_prep/tile_scenes.py', [*args, '--out', str(out / 'chips'), '--no-progress'])
    else:
        _, config, scenes, args = INFER_CASES[name]
        run_script(repo, 'tools/infer.py', [str(config), str(CHECKPOINT), *expand(scenes, out, shared),
                                            '--out', str(out / 'maps'), '--device', 'cpu', '--batch-size', '2',
                                            '--no-progress', *args])


def cases(with_shared: bool) -> List[str]:
    """Names of the cases that run with (or without) ``../shared/data``."""
    every = {**{k: v[0] for k, v in TILE_CASES.items()}, **{k: v[0] for k, v in INFER_CASES.items()}}
    return [name for name, needs_shared in every.items() if with_shared or not needs_shared]


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def raster_content(path: Path) -> str:
    """SHA-256 of a raster's pixels, masks, georeferencing (CRS, transform, size, dtypes, nodata, colour table) and
    metadata tags but the package version (which class maps carry as ``RSSEG_VERSION``)."""
    with rasterio.Env(GDAL_PAM_ENABLED='NO'), rasterio.open(path) as src:
        try:
            colormap = {str(k): list(v) for k, v in src.colormap(1).items()}
        except ValueError:
            colormap = None
        header = dict(crs=src.crs.to_wkt() if src.crs else None, transform=list(src.transform)[:6],
                      width=src.width, height=src.height, count=src.count, dtypes=list(src.dtypes),
                      nodata=[repr(v) for v in src.nodatavals], colorinterp=[c.name for c in src.colorinterp],
                      colormap=colormap, tags={k: v for k, v in src.tags().items() if k != 'RSSEG_VERSION'})
        digest = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
        digest.update(np.ascontiguousarray(src.read()).tobytes())
        digest.update(np.ascontiguousarray(src.read_masks()).tobytes())
    return digest.hexdigest()


def rsseg_version(repo: Path) -> str:
    """``__version__`` of ``repo``'s rsseg (read, not imported)."""
    text = (repo / 'rsseg' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)  # type: ignore[union-attr]


def manifest_digests(path: Path) -> Dict[str, str]:
    """The chip list's digest and that of the rest of a manifest (scene paths cut to their file names: they are
    written relative to the output folder, which differs between runs)."""
    manifest = json.loads(path.read_text())
    chips = manifest.pop('chips')
    for scene in manifest.get('meta', {}).get('scenes', {}).values():
        for key in ('image', 'label'):
            if scene.get(key):
                scene[key] = Path(scene[key]).name
    return dict(chips=sha256(json.dumps(chips, sort_keys=True).encode()),
                rest=sha256(json.dumps(manifest, sort_keys=True).encode()), count=str(len(chips)))


def output_files(out: Path) -> Iterator[Path]:
    """Every file a case wrote (the output lock aside), sorted."""
    return iter(sorted(p for p in out.rglob('*') if p.is_file() and p.name != '.rsseg.lock'))


def digest_outputs(out: Path) -> Dict[str, Dict[str, str]]:
    """``{relative path: digests}`` of every file under ``out``: ``file`` (the bytes), and for rasters ``content``
    (see :func:`raster_content`); manifests get ``chips``/``rest``/``count`` (:func:`manifest_digests`) and the
    tiler's scene records ``record`` (without their resume key) instead."""
    digests = {}
    for path in output_files(out):
        if path.name == 'manifest.json':
            entry = manifest_digests(path)
        elif path.parent.name == RECORD_DIR and path.suffix == '.json':
            record = json.loads(path.read_text())
            record.pop('key', None)
            entry = dict(record=sha256(json.dumps(record, sort_keys=True).encode()))
        else:
            entry = dict(file=sha256(path.read_bytes()))
            if path.suffix in RASTER_SUFFIXES:
                entry['content'] = raster_content(path)
        digests[path.relative_to(out).as_posix()] = entry
    return digests


def compare(want: Dict[str, Dict[str, str]], got: Dict[str, Dict[str, str]],
            intended: Optional[Dict[str, str]] = None, same_version: bool = True) -> List[str]:
    """What differs between two cases' digests, one line per file (empty when identical); files in ``intended``
    (changed on purpose) are left out, and so are rasters' bytes unless ``same_version`` (class maps carry it)."""
    want = {k: v for k, v in want.items() if k not in (intended or {})}
    got = {k: v for k, v in got.items() if k not in (intended or {})}
    lines = [f'{name}: missing' for name in sorted(set(want) - set(got))]
    lines += [f'{name}: not in the golden set' for name in sorted(set(got) - set(want))]
    for name in sorted(set(want) & set(got)):
        keys = [key for key in want[name] if same_version or key != 'file' or 'content' not in want[name]]
        differing = [key for key in keys if want[name][key] != got[name].get(key)]
        if differing:
            lines.append(f'{name}: {", ".join(differing)} differ')
    return lines


def run_all(repo: Path, work: Path, shared: Path, names: Optional[List[str]] = None) -> Dict[str, dict]:
    """Run ``names`` (default: every case whose inputs exist) with ``repo``'s code under ``work``; their digests."""
    names = names or cases(shared.is_dir())
    result = {}
    for name in names:
        out = work / name
        run_case(repo, name, out, shared)
        result[name] = digest_outputs(out)
    return result


def dump_golden(record: dict) -> str:
    """``record`` as JSON with one line per output file."""
    cases = record.pop('cases')
    head = json.dumps(record, indent=1, sort_keys=True)[:-2]
    blocks = []
    for name in sorted(cases):
        files = ',\n'.join(f'   {json.dumps(path)}: {json.dumps(cases[name][path], sort_keys=True)}'
                           for path in sorted(cases[name]))
        blocks.append(f'  {json.dumps(name)}: {{\n{files}\n  }}')
    return head + ',\n "cases": {\n' + ',\n'.join(blocks) + '\n }\n}\n'


def intended_changes(golden: Optional[Path]) -> Dict[str, Dict[str, str]]:
    """``intended_changes`` of an existing golden file (``{case: {output file: why}}``: outputs changed on purpose,
    which the test does not compare), kept when it is written again."""
    if golden is None or not golden.is_file():
        return {}
    return dict(json.loads(golden.read_text()).get('intended_changes', {}))


def git_commit(repo: Path) -> str:
    """The commit checked out in ``repo``."""
    return subprocess.run(['git', '-C', str(repo), 'rev-parse', 'HEAD'], capture_output=True, text=True,
                          check=True).stdout.strip()


def main(argv: Optional[List[str]] = None) -> int:
    """Make the model (``--make-model``), or run every case with ``--repo``'s code and write (or print) digests."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repo', type=Path, default=REPO, help='checkout whose scripts and package run')
    parser.add_argument('--work', type=Path, default=Path('/tmp/rsseg-golden-work'), help='scratch folder')
    parser.add_argument('--write', type=Path, help='golden JSON to write')
    parser.add_argument('--make-model', action='store_true', help='write tiny_model.pth and stop')
    args = parser.parse_args(argv)
    if args.make_model:
        make_model()
        return 0
    if not SHARED_DATA.is_dir():
        parser.error(f'the golden set needs {SHARED_DATA}')
    repo = args.repo.resolve()
    digests = run_all(repo, args.work, SHARED_DATA)
    command = ' '.join([f'PYTHONPATH={repo}', 'python', 'tests/data/golden_outputs/data.py', *sys.argv[1:]])
    record = dict(commit=git_commit(repo), rsseg_version=rsseg_version(repo), command=command,
                  checkpoint_sha256=sha256(CHECKPOINT.read_bytes()), intended_changes=intended_changes(args.write),
                  not_compared=NOT_COMPARED, cases=digests)
    text = dump_golden(record)
    if args.write:
        args.write.write_text(text)
    else:
        print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
