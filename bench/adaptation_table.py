"""Measured adaptation table: source-only, AdaptSegNet, DACS, ST-DASegNet and the target oracle on the same settings.

    .venv/bin/python bench/adaptation_table.py [--out work_dirs/adaptation] [--seeds 0 1 2] [--iters 400]

Settings (real data from ../shared/data, read its README):
- ``dubai2loveda-rural``: Dubai (all six tiles, labelled) → LoveDA rural (three 1024² images) on the common five
  classes (building, road, water, vegetation = forest + agriculture, land = barren; LoveDA background ignored),
  transductive: the target images train unlabelled; their labels only evaluate (image 0 = val, 1-2 = test).
- ``potsdam-rgb2vaihingen-irrg``: one Potsdam RGB crop → one Vaihingen IRRG crop, a smoke run (val = test image).

Every run trains the method's tiny config (DeepLabV3+ on a slim ResNet-18, 128² crops) for the same number of
iterations and is scored on the target test split with its *final* checkpoint (no checkpoint selection). The oracle
is the source-only recipe trained on the target's labels. Writes ``OUT/adaptation_table.md`` and ``OUT/results.json``;
a rerun skips finished runs.
"""
import argparse
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / 'shared' / 'data'
COMMON = ['building', 'road', 'water', 'vegetation', 'land']
ISPRS = ['impervious_surface', 'building', 'low_vegetation', 'tree', 'car', 'clutter']
DUBAI_COMMON_PALETTE = {'classes': {'building': '#3C1098', 'road': '#6EC1E4', 'water': '#E2A929',
                                    'vegetation': '#FEDD3A', 'land': '#8429F6'},
                        # Unlabeled grey, and black: 7 of the 54 masks hold a few unannotated black pixels (4-2725 px).
                        'ignore': ['#9B9B9B', '#000000']}
METHODS = {
    'source-only': 'configs/source_only/*tiny*.py',
    'adaptseg': 'configs/adaptseg/*tiny*.py',
    'dacs': 'configs/dacs/*tiny*.py',
    'stdaseg': 'configs/stdaseg/*tiny*.py',
    'oracle': 'configs/source_only/*tiny*.py',
}


def tile(args: List[str]) -> None:
    """Run the tiler in-process (it resumes: finished scenes are skipped)."""
    from data_prep.tile_scenes import main
    if main([str(a) for a in args]) != 0:
        raise RuntimeError(f'tiling failed: {args}')


def prepare_dubai2loveda(root: Path) -> Dict[str, Path]:
    """Tile Dubai (source) and LoveDA rural (target) onto 256² chips with the common class set."""
    stage = root / 'stage' / 'dubai'
    for sub in ('images', 'masks'):
        (stage / sub).mkdir(parents=True, exist_ok=True)
    for tile_dir in sorted((SHARED / 'dubai').glob('Tile *')):
        prefix = tile_dir.name.lower().replace(' ', '')
        for sub in ('images', 'masks'):
            for f in (tile_dir / sub).iterdir():
                link = stage / sub / f'{prefix}_{f.name}'
                if not link.exists():
                    link.symlink_to(f)
    palette = root / 'stage' / 'dubai_common_palette.json'
    palette.write_text(json.dumps(DUBAI_COMMON_PALETTE))
    src, tgt = root / 'data' / 'dubai', root / 'data' / 'loveda-rural'
    chips = ['--chip', '256', '--stride', '256', '--min-valid', '0.05']
    tile(['--images', stage / 'images', '--labels', stage / 'masks', '--palette', palette, '--out', src,
          '--domain', 'dubai', '--splits', '1,0,0', *chips])
    split_file = root / 'stage' / 'loveda_splits.json'
    split_file.write_text(json.dumps({'0': 'val', '1': 'test', '2': 'test'}))
    loveda = SHARED / 'mmseg-samples' / 'loveda'
    tile(['--images', loveda / 'img_dir', '--labels', loveda / 'ann_dir', '--out', tgt, '--domain', 'loveda-rural',
          '--classes', ','.join(COMMON), '--label-map', '0:255,1:255,2:0,3:1,4:2,5:4,6:3,7:3',
          '--split-file', split_file, *chips])
    return dict(source=src / 'manifest.json', target=tgt / 'manifest.json', classes=len(COMMON), val='val')


def prepare_potsdam2vaihingen(root: Path) -> Dict[str, Path]:
    """One Potsdam RGB crop (source) and one Vaihingen IRRG crop (target), ISPRS classes, 256² chips."""
    out = {}
    for name, folder in (('source', 'potsdam'), ('target', 'vaihingen')):
        data = SHARED / 'mmseg-samples' / folder
        dest = root / 'data' / folder
        split = root / 'stage' / f'{folder}_splits.json'
        split.parent.mkdir(parents=True, exist_ok=True)
        split.write_text(json.dumps({p.stem: 'train' if name == 'source' else 'test'
                                     for p in (data / 'img_dir').iterdir()}))
        tile(['--images', data / 'img_dir', '--labels', data / 'ann_dir', '--out', dest, '--domain', folder,
              '--classes', ','.join(ISPRS), '--label-map', '0:255,1:0,2:1,3:2,4:3,5:4,6:5', '--split-file', split,
              '--chip', '256', '--stride', '256'])
        out[name] = dest / 'manifest.json'
    return dict(out, classes=len(ISPRS), val='test')


SETTINGS = {'dubai2loveda-rural': prepare_dubai2loveda, 'potsdam-rgb2vaihingen-irrg': prepare_potsdam2vaihingen}


def run_config(method: str, data: dict, seed: int, iters: int, work: Path):
    """The method's tiny config aimed at the setting's manifests, with a fixed seed and schedule."""
    from mmengine.config import Config
    from rsseg.utils.experiment import retarget
    cfg = Config.fromfile(sorted(glob.glob(str(REPO / METHODS[method])))[0])
    retarget(cfg, source=data['source'], target=data['target'], num_classes=data['classes'], iters=iters, seed=seed,
             work_dir=work, val_split=data['val'], oracle=method == 'oracle')
    cfg.default_hooks.checkpoint.save_best = None  # scored with the final checkpoint: no selection
    cfg.default_hooks.logger.interval = 20
    return cfg


def run(method: str, setting: str, data: dict, seed: int, iters: int, out: Path) -> dict:
    """Train and test one (method, setting, seed); returns the test metrics (cached in test_metrics.json)."""
    work = out / 'runs' / setting / method / f'seed{seed}'
    metrics_file = work / 'test' / 'test_metrics.json'
    if metrics_file.is_file():
        return json.loads(metrics_file.read_text())
    work.mkdir(parents=True, exist_ok=True)
    config = work / 'config.py'
    run_config(method, data, seed, iters, work).dump(str(config))
    start = time.time()
    python = sys.executable
    for cmd in ([python, 'tools/train.py', config, '--work-dir', work],
                [python, 'tools/test.py', config, work / f'iter_{iters}.pth', '--work-dir', work / 'test']):
        with open(work / 'run.log', 'a') as log:
            proc = subprocess.run([str(c) for c in cmd], cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        if proc.returncode:
            raise RuntimeError(f'{method} on {setting} (seed {seed}) failed: see {work / "run.log"}')
    metrics = json.loads(metrics_file.read_text())
    metrics['seconds'] = round(time.time() - start, 1)
    metrics_file.write_text(json.dumps(metrics, indent=1))
    return metrics


def mean_std(values: Sequence[float]) -> str:
    """``mean ± std`` (sample std over seeds); '–' when the class never occurs."""
    values = [v for v in values if v >= 0]
    if not values:
        return '–'
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):.1f} ± {std:.1f}'


def table(setting: str, results: Dict[str, List[dict]], classes: List[str]) -> str:
    """One Markdown table: rows = methods, columns = mIoU and per-class IoU."""
    head = '| method | mIoU | ' + ' | '.join(classes) + ' | s/run |'
    lines = [f'### {setting}', '', head, '|' + '---|' * (len(classes) + 3)]
    for method, runs in results.items():
        cells = [mean_std([r['mIoU'] for r in runs])] + [mean_std([r.get(f'IoU.{c}', -1) for r in runs])
                                                          for c in classes]
        seconds = statistics.mean(r.get('seconds', 0) for r in runs)
        lines.append(f'| {method} | ' + ' | '.join(cells) + f' | {seconds:.0f} |')
    return '\n'.join(lines)


def write_report(out: Path, results: dict, args: argparse.Namespace, seeds: List[int], seconds: float,
                 argv: Optional[Sequence[str]]) -> None:
    """Write (and print) the Markdown table and the raw results for the seeds finished so far."""
    sections = []
    for setting, by_method in results.items():
        iters = args.iters if setting == 'dubai2loveda-rural' else args.smoke_iters
        classes = COMMON if setting == 'dubai2loveda-rural' else ISPRS
        sections.append(table(setting, by_method, classes) + f'\n\n{iters} iterations per run, seeds {seeds}.')
    machine = f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}'
    report = (f'## Target-domain IoU (%), mean ± std over {len(seeds)} seed(s)\n\n' + '\n\n'.join(sections) +
              f'\n\nMachine: {machine}; total {seconds:.0f} s.\n'
              f'Command: `.venv/bin/python bench/adaptation_table.py {" ".join(argv or sys.argv[1:])}`\n')
    (out / 'adaptation_table.md').write_text(report)
    (out / 'results.json').write_text(json.dumps(results, indent=1))
    print(report)
    print(f'written: {out / "adaptation_table.md"}', flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='work_dirs/adaptation', help='output folder')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--iters', type=int, default=200, help='training iterations per run (all methods)')
    parser.add_argument('--smoke-iters', type=int, default=40, help='iterations for the Potsdam→Vaihingen smoke run')
    parser.add_argument('--settings', nargs='+', default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        raise FileNotFoundError(f'real data folder {SHARED} (../shared/data) is absent')
    out = Path(args.out).resolve()
    started = time.time()
    data = {setting: SETTINGS[setting](out) for setting in args.settings}
    results: Dict[str, Dict[str, List[dict]]] = {s: {m: [] for m in args.methods} for s in args.settings}
    for done, seed in enumerate(args.seeds, 1):  # seeds outermost: a complete table after every seed
        for setting in args.settings:
            iters = args.iters if setting == 'dubai2loveda-rural' else args.smoke_iters
            for method in args.methods:
                print(f'[{time.time() - started:6.0f}s] {setting}: {method}, seed {seed}, {iters} iterations',
                      flush=True)
                results[setting][method].append(run(method, setting, data[setting], seed, iters, out))
        write_report(out, results, args, args.seeds[:done], time.time() - started, argv)
    return 0


if __name__ == '__main__':
    from rsseg.utils.cli import run_cli
    run_cli(main)
