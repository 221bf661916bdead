"""Tiler throughput side by side with a naive per-window rasterio loop and the codec floor, on the same scenes.

For every setting (``--settings chip/stride ...``, stride < chip included) and the same scenes, in one run:

* **tiler**: ``rsseg.geo.tiler.tile_scenes`` (with ``--workers`` processes, and with 1 for reference);
* **naive**: one process, for each window ``src.read(window)`` + ``src.dataset_mask(window)``, skip below
  ``min_valid``, write the chip (same chip profile and codec as the tiler);
* **codec floor**: decode each scene's pixels once (``src.read()``) + encode exactly the chips the tiler wrote into
  in-memory GeoTIFFs with the same profile; nothing else (no masks, windows, disk, manifest);
* **parallel codec floor** (with ``--workers`` > 1): the same work spread over that many processes at once, whole
  scenes each: how far this machine itself lets two busy processes go beyond one (a VM's cores share caches, memory
  bandwidth and the host), the real ceiling of the 2-worker goal.

Each method runs ``--repeat`` times, interleaved; the best time counts (the machine may be shared). Throughput is
megapixels of *source scene* per second (overlap makes the chips hold more). Scenes (``--scenes``):

* ``mosaic`` (default): ``--mosaic-mp`` megapixels of real aerial texture, four georeferenced 3-band uint8 scenes
  (512-px tiles, DEFLATE, like an orthophoto delivery) pieced from flipped 512-px crops of the Dubai images in
  ``../shared/data`` (generated texture without it), built once and kept in ``--out``; large enough that pool
  start-up and per-run costs do not dominate;
* ``shared``: the small real rasters of ``../shared/data`` (4.7 MP, grouped by data type, one tiler domain each).

Prints a table, the ratios (goals: tiler >= 3x naive; >= 0.9x the codec floor with 1 worker, >= 1.8x with 2 workers,
the floor being one core's) and JSON (also written to ``--out``/bench_tiler.json).
"""
import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import rasterio
from rasterio.io import MemoryFile

from rsseg.formats.files import write_json
from rsseg.geo.chips import CHIP_ENV, chip_profile
from rsseg.geo.compression import COMPRESSIONS
from rsseg.geo.scenes import Scene
from rsseg.geo.tiler import TileConfig, tile_scenes
from rsseg.geo.tiling import iter_windows

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / 'shared' / 'data'
REAL = ['rasterio/RGB.byte.tif', 'rasterio/RGB2.byte.tif', 'rasterio/rgb1.tif',
        'rasterio/rgb2.tif', 'rasterio/RGBA.uint16.tif', 'georef/spacenet/sample_geotiff.tif',
        'georef/spacenet/road_mask_input.tif', 'georef/sen1floods11/Spain_7370579_S2Hand.tif',
        'georef/nc-landsat/landsat_multiband.tif']


def find_scenes(tmp: Path) -> Tuple[Dict[str, List[str]], str]:
    """Scenes grouped by band count and dtype (one tiler domain each): real ones from ../shared/data, else generated."""
    paths = [str(SHARED / p) for p in REAL if (SHARED / p).is_file()]
    source = 'real (../shared/data)'
    if not paths:
        source = 'generated'
        paths = [str(_generate(tmp / f'gen{i}.tif', 1024, seed=i)) for i in range(4)]
    groups: Dict[str, List[str]] = {}
    for p in paths:
        with rasterio.open(p) as src:
            groups.setdefault(f'{src.count}x{src.dtypes[0]}', []).append(p)
    return groups, source


def mosaic_scenes(folder: Path, megapixels: float, count: int = 4,
                  piece: int = 512) -> Tuple[Dict[str, List[str]], str]:
    """``count`` square scenes of ``megapixels`` in all, pieced from flipped ``piece``-px crops of real aerial images
    (the Dubai tiles of ../shared/data; generated texture without them); cached in ``folder``."""
    side = int(round((megapixels * 1e6 / count) ** 0.5 / piece)) * piece
    sources = sorted((SHARED / 'dubai').glob('*/images/*.jpg'))
    source = 'mosaic of real aerial crops (../shared/data/dubai)' if sources else 'mosaic of generated texture'
    paths = []
    for i in range(count):
        path = folder / f'mosaic{i}_{side}px{"" if sources else "_gen"}.tif'
        if not path.is_file():
            _write_mosaic(path, side, piece, sources, seed=i)
        paths.append(str(path))
    return {'3xuint8': paths}, source


def _write_mosaic(path: Path, side: int, piece: int, sources: List[Path], seed: int) -> None:
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from rsseg.formats.files import atomic_output
    rng = np.random.default_rng(seed)
    images = []
    for src_path in sources:
        with rasterio.open(src_path) as src:
            if src.width >= piece and src.height >= piece:
                images.append(src.read())
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(driver='GTiff', width=side, height=side, count=3, dtype='uint8', crs='EPSG:32640',
                   transform=from_origin(300000 + 1e4 * seed, 2800000, 0.3, 0.3), tiled=True, blockxsize=512,
                   blockysize=512, compress='deflate')
    with atomic_output(path, raster=True) as tmp, rasterio.open(tmp, 'w', **profile) as dst:
        for row in range(0, side, piece):
            for col in range(0, side, piece):
                if images:
                    img = images[rng.integers(len(images))]
                    r, c = (rng.integers(0, n - piece + 1) for n in img.shape[1:])
                    crop = img[:, r:r + piece, c:c + piece][:, ::rng.choice([-1, 1]), ::rng.choice([-1, 1])]
                else:
                    crop = np.asarray(_texture(piece, int(rng.integers(1 << 30))))
                dst.write(np.ascontiguousarray(crop), window=Window(col, row, piece, piece))


def _texture(size: int, seed: int) -> np.ndarray:
    """3-band uint8 smooth pattern with noise (stands in for real imagery when ../shared is absent)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    return np.stack([(np.sin(xx / (20 + 7 * b)) * 60 + yy / size * 120 + rng.normal(0, 8, (size, size)))
                     .clip(1, 255) for b in range(3)]).astype(np.uint8)


def _generate(path: Path, size: int, seed: int) -> Path:
    from rasterio.transform import from_origin
    data = _texture(size, seed)
    with rasterio.open(path, 'w', driver='GTiff', width=size, height=size, count=3, dtype='uint8', nodata=0,
                       crs='EPSG:32632', transform=from_origin(500000, 5000000, 0.5, 0.5), tiled=True,
                       compress='deflate') as dst:
        dst.write(data)
    return path


def scene_megapixels(paths: Sequence[str]) -> float:
    total = 0.0
    for p in paths:
        with rasterio.open(p) as src:
            total += src.width * src.height / 1e6
    return total


@contextmanager
def machine_cpu(record: Dict[str, List[Dict[str, float]]], key: str) -> Iterator[None]:
    """Append the whole machine's CPU seconds spent while the block ran (user, system: the kernel's file-system work
    included, idle) from /proc/stat to ``record[key]``: where a run's time goes beyond its own process."""
    def sample() -> Optional[List[int]]:
        try:
            return [int(v) for v in Path('/proc/stat').read_text().split('\n', 1)[0].split()[1:]]
        except OSError:
            return None
    before = sample()
    yield
    after = sample()
    if before and after:
        d = [(b - a) / os.sysconf('SC_CLK_TCK') for a, b in zip(before, after)]
        record.setdefault(key, []).append(dict(user=round(d[0] + d[1], 2), system=round(d[2] + d[5] + d[6], 2),
                                               idle=round(d[3] + d[4], 2)))


def clear(out: Path) -> None:
    """Remove an earlier run's output and flush the deletions (on a disk mounted with ``discard`` the kernel's work
    of deleting thousands of chips would otherwise land in the next timed run)."""
    shutil.rmtree(out, ignore_errors=True)
    os.sync()


def run_tiler(groups: Dict[str, List[str]], out: Path, chip: int, stride: int, min_valid: float, compress: str,
              workers: int) -> Tuple[float, Dict[str, list], Dict[str, float]]:
    """Seconds for the tiler over all groups (fresh output), the chips written per scene path and the tiler's own
    stage seconds (:attr:`~rsseg.geo.tiler.TileReport.timings`, summed over the workers)."""
    clear(out)
    chips: Dict[str, list] = {}
    stages: Dict[str, float] = {}
    t0 = time.perf_counter()
    for dtype, paths in groups.items():
        scenes = [Scene(Path(p).stem, p) for p in paths]
        report = tile_scenes(scenes, str(out / dtype), TileConfig(chip=chip, stride=stride, min_valid=min_valid,
                                                                  compress=compress), workers=workers,
                             progress=False)
        for key, seconds in report.timings.items():
            stages[key] = stages.get(key, 0.0) + seconds
        manifest = json.loads(report.manifest.read_text())
        for p in paths:
            chips[p] = [c['window'] for c in manifest['chips'] if c['scene'] == Path(p).stem]
    return time.perf_counter() - t0, chips, stages


def run_naive(groups: Dict[str, List[str]], out: Path, chip: int, stride: int, min_valid: float,
              compress: str) -> Tuple[float, int]:
    """A straightforward per-window read + mask + write loop (one process, same windows/profile/codec)."""
    clear(out)
    out.mkdir(parents=True)
    written = 0
    t0 = time.perf_counter()
    with rasterio.Env(**CHIP_ENV):
        for paths in groups.values():
            for p in paths:
                with rasterio.open(p) as src:
                    profile = chip_profile(src.dtypes[0], src.count, chip, chip, src.crs, src.nodata, compress)
                    for w in iter_windows(src.width, src.height, chip, stride):
                        data = src.read(window=w)
                        valid = src.dataset_mask(window=w) > 0
                        if not valid.any() or valid.mean() < min_valid:
                            continue
                        prof = dict(profile, width=int(w.width), height=int(w.height),
                                    transform=src.window_transform(w))
                        name = out / f'{Path(p).stem}_r{w.row_off}_c{w.col_off}.tif'
                        with rasterio.open(name, 'w', **prof) as dst:
                            dst.write(data)
                        written += 1
    return time.perf_counter() - t0, written


def run_codec_floor(groups: Dict[str, List[str]], chips: Dict[str, list], chip: int, compress: str,
                    stages: Optional[Dict[str, float]] = None) -> float:
    """Decode each scene once + encode exactly the tiler's chips with the same profile, in memory; seconds (the
    decoding and encoding parts are added to ``stages``: ``decode_s``, ``encode_s``)."""
    elapsed = 0.0
    stages = {} if stages is None else stages
    with rasterio.Env(**CHIP_ENV):
        for paths in groups.values():
            for p in paths:
                t0 = time.perf_counter()
                with rasterio.open(p) as src:
                    data = src.read()
                    profile = chip_profile(src.dtypes[0], src.count, chip, chip, src.crs, src.nodata, compress)
                    affine = src.transform
                stages['decode_s'] = stages.get('decode_s', 0.0) + time.perf_counter() - t0
                elapsed += time.perf_counter() - t0
                pieces = [(np.ascontiguousarray(data[:, r:r + h, c:c + w]),
                           rasterio.windows.transform(rasterio.windows.Window(c, r, w, h), affine))
                          for c, r, w, h in chips[p]]
                t0 = time.perf_counter()
                for piece, tf in pieces:
                    prof = dict(profile, width=piece.shape[2], height=piece.shape[1], transform=tf)
                    if piece.shape[1] % 16 or piece.shape[2] % 16:
                        prof.update(tiled=False, blockysize=piece.shape[1])
                        prof.pop('blockxsize', None)
                    with MemoryFile() as mf, mf.open(**prof) as dst:
                        dst.write(piece)
                stages['encode_s'] = stages.get('encode_s', 0.0) + time.perf_counter() - t0
                elapsed += time.perf_counter() - t0
    return elapsed


def run_codec_floor_parallel(groups: Dict[str, List[str]], chips: Dict[str, list], chip: int, compress: str,
                             workers: int) -> float:
    """The codec floor's work spread over ``workers`` processes at once (whole scenes, balanced by chip count);
    seconds of the slowest. Set beside the one-process floor this is what the machine gives two busy processes:
    the 2-worker goal's real ceiling."""
    shares: List[Dict[str, List[str]]] = [{} for _ in range(workers)]
    load = [0] * workers
    for dtype, paths in groups.items():
        for path in sorted(paths, key=lambda q: -len(chips[q])):
            k = load.index(min(load))
            shares[k].setdefault(dtype, []).append(path)
            load[k] += len(chips[path])
    with get_context('fork').Pool(workers) as pool:
        return max(pool.starmap(run_codec_floor, [(share, chips, chip, compress) for share in shares]))


def bench(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix='bench_tiler_', dir=args.tmp))
    load = [round(v, 2) for v in os.getloadavg()]
    try:
        groups, source = (mosaic_scenes(Path(args.out) / 'mosaic', args.mosaic_mp) if args.scenes == 'mosaic'
                          else find_scenes(tmp))
        mp = sum(scene_megapixels(p) for p in groups.values())
        results = []
        for setting in args.settings:
            chip, stride = (int(v) for v in setting.split('/'))
            row = dict(chip=chip, stride=stride)
            times: Dict[str, List[float]] = {'tiler': [], 'tiler_1worker': [], 'naive': [], 'codec_floor': [],
                                             'codec_floor_parallel': []}
            cpu: Dict[str, List[Dict[str, float]]] = {}
            stages: Dict[str, List[Dict[str, float]]] = {key: [] for key in times}
            for _ in range(args.repeat):
                with machine_cpu(cpu, 'tiler'):
                    t, chips, parts = run_tiler(groups, tmp / 'tiler', chip, stride, args.min_valid, args.compress,
                                                args.workers)
                times['tiler'].append(t)
                stages['tiler'].append(parts)
                if args.workers > 1:
                    with machine_cpu(cpu, 'tiler_1worker'):
                        t, _, parts = run_tiler(groups, tmp / 'tiler1', chip, stride, args.min_valid, args.compress, 1)
                    times['tiler_1worker'].append(t)
                    stages['tiler_1worker'].append(parts)
                with machine_cpu(cpu, 'naive'):
                    t, written = run_naive(groups, tmp / 'naive', chip, stride, args.min_valid, args.compress)
                times['naive'].append(t)
                stages['naive'].append({})
                stages['codec_floor'].append({})
                with machine_cpu(cpu, 'codec_floor'):
                    times['codec_floor'].append(run_codec_floor(groups, chips, chip, args.compress,
                                                                stages['codec_floor'][-1]))
                if args.workers > 1:
                    with machine_cpu(cpu, 'codec_floor_parallel'):
                        times['codec_floor_parallel'].append(
                            run_codec_floor_parallel(groups, chips, chip, args.compress, args.workers))
                    stages['codec_floor_parallel'].append({})
            n_chips = sum(len(v) for v in chips.values())
            assert written == n_chips, f'naive wrote {written} chips, the tiler {n_chips}'
            for key, vals in times.items():
                if vals:
                    sec = min(vals)  # best of the interleaved repeats: the machine may be shared
                    best = vals.index(sec)
                    row[key] = dict(seconds=round(sec, 3), mp_per_s=round(mp / sec, 2),
                                    all_seconds=[round(v, 3) for v in vals],
                                    machine_cpu=(cpu.get(key) or [None] * len(vals))[best],
                                    stages={k: round(v, 2) for k, v in stages[key][best].items()})
            row['chips'] = n_chips
            row['chip_megapixels'] = round(sum(w * h for v in chips.values() for _, _, w, h in v) / 1e6, 2)
            row['ratio_vs_naive'] = round(row['naive']['seconds'] / row['tiler']['seconds'], 2)
            row['ratio_vs_codec_floor'] = round(row['codec_floor']['seconds'] / row['tiler']['seconds'], 2)
            if 'codec_floor_parallel' in row:  # the machine's own speed-up for the floor's work on N processes
                row['floor_parallel_speedup'] = round(
                    row['codec_floor']['seconds'] / row['codec_floor_parallel']['seconds'], 2)
                row['ratio_vs_codec_floor_parallel'] = round(
                    row['codec_floor_parallel']['seconds'] / row['tiler']['seconds'], 2)
            if 'tiler_1worker' in row:
                row['ratio_vs_naive_1worker'] = round(row['naive']['seconds'] / row['tiler_1worker']['seconds'], 2)
                row['ratio_vs_codec_floor_1worker'] = round(
                    row['codec_floor']['seconds'] / row['tiler_1worker']['seconds'], 2)
            results.append(row)
        return dict(benchmark='tiler', scenes=source, scene_groups={k: [Path(p).name for p in v]
                                                                      for k, v in groups.items()},
                    scene_megapixels=round(mp, 2), workers=args.workers, compress=args.compress,
                    min_valid=args.min_valid, repeat=args.repeat, load_average=load, machine=dict(
                        cpus=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                        gdal=rasterio.__gdal_version__), goals=dict(vs_naive=3.0, vs_codec_floor_1worker=0.9,
                                                                     vs_codec_floor_2workers=1.8),
                    results=results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def print_table(report: dict) -> None:
    print(f"scenes: {report['scenes']}, {report['scene_megapixels']} MP source; workers={report['workers']}, "
          f"compress={report['compress']}, best of {report['repeat']} interleaved runs; "
          f"load average before: {report['load_average']}")
    print(f"{'chip/stride':>12} {'chips':>6} {'tiler MP/s':>11} {'1-worker':>9} {'naive MP/s':>11} "
          f"{'floor MP/s':>11} {'x naive':>8} {'x floor':>8} {'1w x floor':>11}")
    for r in report['results']:
        one = r.get('tiler_1worker', r['tiler'])['mp_per_s']
        print(f"{r['chip']:>6}/{r['stride']:<5} {r['chips']:>6} {r['tiler']['mp_per_s']:>11} {one:>9} "
              f"{r['naive']['mp_per_s']:>11} {r['codec_floor']['mp_per_s']:>11} {r['ratio_vs_naive']:>8} "
              f"{r['ratio_vs_codec_floor']:>8} {r.get('ratio_vs_codec_floor_1worker', r['ratio_vs_codec_floor']):>11}")
    print('goals: tiler >= 3x naive; >= 0.9x the (one-core) codec floor with 1 worker, >= 1.8x with 2 workers')
    for r in report['results']:
        if 'floor_parallel_speedup' in r:
            print(f"  {r['chip']}/{r['stride']}: the floor's own work on {report['workers']} processes at once runs "
                  f"{r['floor_parallel_speedup']}x its one-process speed (the machine's ceiling); the tiler reaches "
                  f"{r['ratio_vs_codec_floor_parallel']}x of that")
    print('where the one-worker time goes (seconds):')
    for r in report['results']:
        t, f = r.get('tiler_1worker', r['tiler']).get('stages'), r['codec_floor'].get('stages')
        if t and f:
            rest = round(r.get('tiler_1worker', r['tiler'])['seconds'] - sum(t.values()), 2)
            print(f"  {r['chip']}/{r['stride']}: tiler read {t['read_s']} (floor's decode {f['decode_s']}), encode "
                  f"{t['encode_s']} (floor's {f['encode_s']}), chip files written {t['write_s']} (floor: none), the "
                  f"rest {rest} (windows, records, manifest)")
    print('machine CPU seconds during the best run (user / system / idle):')
    for r in report['results']:
        cells = [f"{k} {r[k]['machine_cpu']['user']}/{r[k]['machine_cpu']['system']}/{r[k]['machine_cpu']['idle']}"
                 for k in ('tiler', 'tiler_1worker', 'naive', 'codec_floor', 'codec_floor_parallel')
                 if r.get(k, {}).get('machine_cpu')]
        print(f"  {r['chip']}/{r['stride']}: " + ', '.join(cells))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--scenes', choices=['mosaic', 'shared'], default='mosaic',
                   help='a --mosaic-mp mosaic of real aerial texture (default) or the small shared rasters')
    p.add_argument('--mosaic-mp', type=float, default=100.0, help='megapixels of the mosaic (default 100)')
    p.add_argument('--settings', nargs='+', default=['256/256', '256/128'], help='chip/stride pairs')
    p.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument('--compress', default='deflate', choices=COMPRESSIONS)
    p.add_argument('--min-valid', type=float, default=0.5)
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--tmp', default=None, help='folder for temporary output (default: system temp)')
    p.add_argument('--out', default=str(REPO / 'work_dirs' / 'bench'), help='folder for bench_tiler.json')
    args = p.parse_args(argv)
    warnings.simplefilter('ignore')
    report = bench(args)
    print_table(report)
    print(json.dumps(report, indent=1))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    write_json(Path(args.out) / 'bench_tiler.json', report)
    return 0


if __name__ == '__main__':
    sys.exit(main())
