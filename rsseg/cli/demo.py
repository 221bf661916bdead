"""The whole rsseg workflow on the bundled CC0 Dubai example, on CPU, in one command.

    rsseg-demo [--out work_dirs/demo] [--iters 300]        # or: .venv/bin/python tools/demo.py ...

1. convert the colour-coded masks of both tiles with the dataset's palette file (demo/dubai/palette.json);
2. tile the source (Tile 1, labelled) and the target (Tile 2 images 1-7: 1-5 unlabelled for training, 6-7 as the
   validation split) into GeoTIFF chips with manifests;
3. train the tiny source-only config (source labels only) for ``--iters`` iterations, then the tiny ST-DASegNet config
   (source labels + unlabelled target) warm-started from its half-way checkpoint for the other half: both models get
   the same budget;
4. map the held-back target images 8-9 with both models through the scene predictor (class maps, confidence, overlay
   previews);
5. print both models' per-class IoU on those maps side by side (target labels used for evaluation only), how often
   ST-DASegNet's self-training was active (confident share r), and plot its training curves. Everything lands in one
   folder, printed at the end; a rerun resumes each step instead of redoing it.

The example and the tiny configs are read from the rsseg checkout this package runs from (an editable install), else
from the current folder.
"""
import argparse
import glob
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.utils.cli import run_cli


def _checkout() -> Path:
    """The rsseg checkout holding the example (``demo/dubai``) and the configs: the one this package runs from,
    else the current folder (checked by :func:`main`)."""
    here = Path(__file__).resolve().parents[2]
    return next((root for root in (here, Path.cwd()) if (root / 'demo' / 'dubai').is_dir()), here)


REPO = _checkout()
DEMO = REPO / 'demo' / 'dubai'
CONFIGS = {'source-only': 'configs/source_only/*tiny*.py', 'stdaseg': 'configs/stdaseg/*tiny*.py'}
NAMES = {'source-only': 'source-only', 'stdaseg': 'ST-DASegNet'}
TARGET_SPLITS = {'image_part_006': 'val', 'image_part_007': 'val'}
HELD_BACK = ('image_part_008', 'image_part_009')
# Lines of the training log worth showing: iteration and validation records, checkpoints, errors.
PROGRESS = re.compile(r'Iter\((train|val)\)|Saving checkpoint|^error:|Traceback|\w+Error: ')


def step(title: str) -> None:
    print(f'\n== {title}', flush=True)


def convert(out: Path) -> Dict[str, Path]:
    """Colour masks → label GeoTIFFs for both tiles (skips labels already converted)."""
    from rsseg.geo.labels import convert_folder
    labels = {}
    for domain, tile in (('source', 'tile_1'), ('target', 'tile_2')):
        labels[domain] = out / 'labels' / domain
        convert_folder(str(DEMO / tile / 'images'), str(DEMO / tile / 'masks'), str(DEMO / 'palette.json'),
                       str(labels[domain]))
    return labels


def tile(out: Path, labels: Dict[str, Path]) -> Dict[str, Path]:
    """Source chips (all train) and target chips (images 1-7; 6-7 = val); the tiler resumes finished scenes."""
    from rsseg.cli.tile import main as tile_main
    manifests = {}
    target_images = [p for p in sorted((DEMO / 'tile_2' / 'images').iterdir()) if p.stem not in HELD_BACK]
    split_file = out / 'target_splits.json'
    split_file.write_text(json.dumps({p.stem: TARGET_SPLITS.get(p.stem, 'train') for p in target_images}))
    jobs = {
        'source': ['--images', DEMO / 'tile_1' / 'images', '--labels', labels['source'], '--splits', '1,0,0'],
        'target': ['--images', *target_images, '--labels', labels['target'], '--split-file', split_file],
    }
    for domain, args in jobs.items():
        dest = out / 'chips' / domain
        code = tile_main([str(a) for a in args] + ['--out', str(dest), '--chip', '256', '--stride', '192',
                                                    '--min-valid', '0.5', '--palette', str(DEMO / 'palette.json'),
                                                    '--label-format', 'index',
                                                    '--domain', f'dubai-{domain}'])
        if code:
            raise RuntimeError(f'tiling the {domain} failed')
        manifests[domain] = dest / 'manifest.json'
    return manifests


def config_path(method: str) -> Path:
    """The tiny config of ``method``."""
    return Path(sorted(glob.glob(str(REPO / CONFIGS[method])))[0])


def train(out: Path, manifests: Dict[str, Path], method: str, iters: int, save_every: int,
          warm_start: Optional[Path] = None) -> Path:
    """Train ``method``'s tiny config on the chips; resumes from the last checkpoint of an interrupted run.

    The full training log (environment, config, every logged step) goes to ``train/<method>/train.log``; the terminal
    gets the progress lines only.
    """
    from rsseg.apis.runner import load_config
    from rsseg.utils.experiment import retarget
    work = out / 'train' / method
    final = work / f'iter_{iters}.pth'
    if final.is_file():
        print(f'trained model found: {final}')
        return final
    source = config_path(method)
    cfg = retarget(load_config(str(source)), source=manifests['source'],
                   target=manifests['target'], num_classes=5, iters=iters, seed=0, work_dir=work,
                   val_split='val', test_split='val', val_interval=max(iters // 2, 1))  # 8-9: mapped, not tiled
    cfg.default_hooks.checkpoint.update(interval=save_every, save_best=None)
    cfg.default_hooks.logger.interval = 10
    work.mkdir(parents=True, exist_ok=True)
    config = work / source.name  # previews and logs carry the model's name
    cfg.dump(str(config))
    cmd = [sys.executable, '-m', 'rsseg.cli.train', str(config), '--work-dir', str(work)]
    if (work / 'last_checkpoint').is_file():
        cmd.append('--resume')
    elif warm_start:
        cmd += ['--warm-start', str(warm_start)]
    print(f'training {source.name} for {iters} iterations (full log: {work / "train.log"})', flush=True)
    with open(work / 'train.log', 'a') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:  # type: ignore[union-attr]  # never None with stdout=PIPE; typeshed cannot tell
            log.write(line)
            if PROGRESS.search(line):
                print('  ' + line.split(' - mmengine - INFO - ')[-1].rstrip(), flush=True)
    if proc.wait():
        raise RuntimeError(f'training failed (exit {proc.returncode}): see {work / "train.log"}')
    return final


def predict(out: Path, method: str, checkpoint: Path) -> List[Path]:
    """Map the held-back target images (whole scenes, sliding windows, blended) into COG class maps."""
    from rsseg.apis import ScenePredictor
    scenes = [DEMO / 'tile_2' / 'images' / f'{stem}.jpg' for stem in HELD_BACK]
    predictor = ScenePredictor(out / 'train' / method / config_path(method).name, checkpoint, window=256,
                               overlap=0.25, allow_no_crs=True)
    results = predictor.predict_scenes(scenes, out / 'maps' / method, confidence=True, preview=True)
    failed = [r for r in results if r.status == 'failed']
    if failed:
        raise RuntimeError(f'scene prediction failed: {failed[0].scene}: {failed[0].error}')
    return [r.output for r in results]


def scores(maps: List[Path], labels: Path, classes: List[str]) -> Dict[str, Optional[float]]:
    """Per-class IoU of class maps against the held-back images' labels (mmseg's IoU arithmetic); classes in neither
    the maps nor the labels are None (no score, not a zero)."""
    import numpy as np
    import torch
    from mmseg.evaluation import IoUMetric

    from rsseg.geo.io import read_raster
    areas = []
    for path in maps:
        pred = read_raster(path)[0][0]
        label = read_raster(labels / path.name)[0][0]
        areas.append(IoUMetric.intersect_and_union(torch.from_numpy(pred.astype(np.int64)),
                                                   torch.from_numpy(label.astype(np.int64)), len(classes), 255))
    totals = [sum(parts) for parts in zip(*areas)]
    metrics = IoUMetric.total_area_to_metrics(*totals, ['mIoU'])
    result: Dict[str, Optional[float]] = {f'IoU.{name}': None if np.isnan(iou) else float(iou * 100)
                                          for name, iou in zip(classes, metrics['IoU'])}
    result['mIoU'] = float(np.nanmean(metrics['IoU']) * 100)
    result['aAcc'] = float(metrics['aAcc'] * 100)
    return result


def evaluate(out: Path, maps: Dict[str, List[Path]], labels: Path) -> Dict[str, Dict[str, Optional[float]]]:
    """Print both models' per-class IoU on the held-back images side by side; writes ``target_iou.json``."""
    from prettytable import PrettyTable

    from rsseg.formats.files import write_json
    from rsseg.formats.palette import Palette
    classes = Palette.from_file(DEMO / 'palette.json').classes
    results = {method: scores(paths, labels, classes) for method, paths in maps.items()}
    table = PrettyTable(['IoU (%)', *(NAMES[m] for m in results)])
    for key in [f'IoU.{c}' for c in classes] + ['mIoU', 'aAcc']:
        values = [results[m][key] for m in results]
        table.add_row([key[4:] if key.startswith('IoU.') else key,
                       *('absent' if v is None else f'{v:.1f}' for v in values)])
    print(table)
    print(f'on {len(next(iter(maps.values())))} held-back target images; both models trained for the same number '
          'of iterations')
    write_json(out / 'target_iou.json', results)
    return results


def self_training(out: Path) -> Dict[str, float]:
    """ST-DASegNet's confident share r over its logged training steps: share of steps with r > 0, and the mean."""
    from rsseg.utils.scalars import pseudo_ratios, training_records
    ratios = pseudo_ratios(training_records(out / 'train' / 'stdaseg'))
    summary = dict(steps=len(ratios), active=sum(r > 0 for r in ratios),
                   mean_r=sum(ratios) / len(ratios) if ratios else 0.0)
    print(f"ST-DASegNet self-training: r > 0 in {summary['active']} of {summary['steps']} logged steps "
          f"(mean r {summary['mean_r']:.2f}; r = share of target pixels its teachers label at or above the config's "
          'pseudo_label.threshold)')
    return summary


def curves(out: Path) -> Path:
    """ST-DASegNet's training curves (every logged loss term, pseudo-label share, target mIoU) to PNG."""
    from rsseg.cli.plot_curves import main as plot_main
    png = out / 'training_curves.png'
    plot_main([str(out / 'train' / 'stdaseg'), '--out', str(png)])
    return png


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='work_dirs/demo', help='output folder (default work_dirs/demo)')
    parser.add_argument('--iters', type=int, default=300,
                        help='training iterations of each model (default 300; ST-DASegNet starts from the '
                             'source-only model half-way)')
    args = parser.parse_args(argv)
    if args.iters < 2:
        parser.error(f'--iters must be at least 2, got {args.iters}')
    if not (DEMO.is_dir() and (REPO / 'configs').is_dir()):
        raise FileNotFoundError(f'{DEMO} (the bundled example) or {REPO / "configs"} not found: run the demo from an '
                                'rsseg checkout')
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    warm = args.iters // 2
    step('1/5 convert colour-coded masks with demo/dubai/palette.json')
    labels = convert(out)
    step('2/5 tile source (Tile 1, labelled) and target (Tile 2, unlabelled for training)')
    manifests = tile(out, labels)
    step(f'3/5 train source-only for {args.iters} iterations, then ST-DASegNet from its iteration {warm} for '
         f'{args.iters - warm} more (the same budget)')
    checkpoints = {'source-only': train(out, manifests, 'source-only', args.iters, save_every=warm)}
    checkpoints['stdaseg'] = train(out, manifests, 'stdaseg', args.iters - warm, save_every=args.iters - warm,
                                   warm_start=out / 'train' / 'source-only' / f'iter_{warm}.pth')
    step('4/5 map the held-back target images with both models (scene predictor)')
    maps = {method: predict(out, method, ckpt) for method, ckpt in checkpoints.items()}
    step('5/5 evaluate the maps (target labels used for evaluation only) and plot the training curves')
    evaluate(out, maps, labels['target'])
    self_training(out)
    png = curves(out)
    print(f'\nDone in {time.time() - start:.0f} s. Everything is in {out}:\n'
          f'  class maps + confidence + previews: {out / "maps"}/{{source-only,stdaseg}}\n'
          f'  ST-DASegNet training curves: {png}\n  per-class IoU of both: {out / "target_iou.json"}\n'
          f'  models: {checkpoints["source-only"]}, {checkpoints["stdaseg"]}')
    return 0


def cli() -> None:
    """Console entry point ``rsseg-demo``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
