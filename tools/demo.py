"""The whole rsseg workflow on the bundled CC0 Dubai example, on CPU, in one command.

    .venv/bin/python tools/demo.py [--out work_dirs/demo] [--iters 300]

1. convert the colour-coded masks of both tiles with the dataset's palette file (demo/dubai/palette.json);
2. tile the source (Tile 1, labelled) and the target (Tile 2 images 1-7: 1-5 unlabelled for training, 6-7 as the
   validation split) into GeoTIFF chips with manifests;
3. train the tiny ST-DASegNet config (source labels + unlabelled target);
4. map the held-back target images 8-9 with the scene predictor (class maps, confidence, overlay previews);
5. print the per-class IoU of those maps against their labels (used for evaluation only) and plot the training
   curves. Everything lands in one folder, printed at the end; a rerun resumes each step instead of redoing it.
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

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEMO = REPO / 'demo' / 'dubai'
CONFIG = 'configs/stdaseg/*tiny*.py'
TARGET_SPLITS = {'image_part_006': 'val', 'image_part_007': 'val'}
HELD_BACK = ('image_part_008', 'image_part_009')
# Lines of the training log worth showing: iteration and validation records, checkpoints, errors.
PROGRESS = re.compile(r'Iter\((train|val)\)|Saving checkpoint|error|Error')


def step(title: str) -> None:
    print(f'\n== {title}', flush=True)


def convert(out: Path) -> Dict[str, Path]:
    """Colour masks → label GeoTIFFs for both tiles (skips labels already converted)."""
    from data_prep.convert_color_masks import convert_folder
    labels = {}
    for domain, tile in (('source', 'tile_1'), ('target', 'tile_2')):
        labels[domain] = out / 'labels' / domain
        convert_folder(str(DEMO / tile / 'images'), str(DEMO / tile / 'masks'), str(DEMO / 'palette.json'),
                       str(labels[domain]))
    return labels


def tile(out: Path, labels: Dict[str, Path]) -> Dict[str, Path]:
    """Source chips (all train) and target chips (images 1-7; 6-7 = val); the tiler resumes finished scenes."""
    from data_prep.tile_scenes import main as tile_main
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


def train(out: Path, manifests: Dict[str, Path], iters: int) -> Path:
    """Train the tiny ST-DASegNet config on the chips; resumes from the last checkpoint of an interrupted run.

    The full training log (environment, config, every logged step) goes to ``train/train.log``; the terminal gets
    the progress lines only.
    """
    from rsseg.utils.experiment import retarget
    from rsseg.utils.runner import load_config
    work = out / 'train'
    final = work / f'iter_{iters}.pth'
    if final.is_file():
        print(f'trained model found: {final}')
        return final
    source = Path(sorted(glob.glob(str(REPO / CONFIG)))[0])
    cfg = retarget(load_config(str(source)), source=manifests['source'],
                   target=manifests['target'], num_classes=5, iters=iters, seed=0, work_dir=work,
                   val_split='val', test_split='val', val_interval=max(iters // 2, 1))  # 8-9: mapped, not tiled
    cfg.default_hooks.logger.interval = 10
    work.mkdir(parents=True, exist_ok=True)
    config = work / source.name  # previews and logs carry the model's name
    cfg.dump(str(config))
    cmd = [sys.executable, str(REPO / 'tools' / 'train.py'), str(config), '--work-dir', str(work)]
    if (work / 'last_checkpoint').is_file():
        cmd.append('--resume')
    print(f'training {source.name} for {iters} iterations (full log: {work / "train.log"})', flush=True)
    with open(work / 'train.log', 'a') as log:
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            log.write(line)
            if PROGRESS.search(line):
                print('  ' + line.split(' - mmengine - INFO - ')[-1].rstrip(), flush=True)
    if proc.wait():
        raise RuntimeError(f'training failed (exit {proc.returncode}): see {work / "train.log"}')
    return final


def trained_config(out: Path) -> Path:
    """The config file the demo trained with (its name is the model's)."""
    return out / 'train' / Path(sorted(glob.glob(str(REPO / CONFIG)))[0]).name


def predict(out: Path, checkpoint: Path) -> List[Path]:
    """Map the held-back target images (whole scenes, sliding windows, blended) into COG class maps."""
    from rsseg.apis import ScenePredictor
    scenes = [DEMO / 'tile_2' / 'images' / f'{stem}.jpg' for stem in HELD_BACK]
    predictor = ScenePredictor(trained_config(out), checkpoint, window=256, overlap=0.25,
                               allow_no_crs=True)
    results = predictor.predict_scenes(scenes, out / 'maps', confidence=True, preview=True)
    failed = [r for r in results if r.status == 'failed']
    if failed:
        raise RuntimeError(f'scene prediction failed: {failed[0].scene}: {failed[0].error}')
    return [r.output for r in results]


def evaluate(out: Path, maps: List[Path], labels: Path) -> Dict[str, Optional[float]]:
    """Per-class IoU / F1 of the class maps against the held-back images' labels (mmseg's IoU arithmetic)."""
    import numpy as np
    import torch
    from mmseg.evaluation import IoUMetric
    from prettytable import PrettyTable
    from rsseg.datasets.palette import Palette
    from rsseg.geo.io import read_raster
    classes = Palette.from_file(DEMO / 'palette.json').classes
    areas = []
    for path in maps:
        pred = read_raster(path)[0][0]
        label = read_raster(labels / path.name)[0][0]
        areas.append(IoUMetric.intersect_and_union(torch.from_numpy(pred.astype(np.int64)),
                                                   torch.from_numpy(label.astype(np.int64)), len(classes), 255))
    totals = [sum(parts) for parts in zip(*areas)]
    scores = IoUMetric.total_area_to_metrics(*totals, ['mIoU', 'mFscore'])
    table = PrettyTable(['class', 'IoU', 'F1'])
    result: Dict[str, Optional[float]] = {}
    for name, iou, f1 in zip(classes, scores['IoU'], scores['Fscore']):
        absent = bool(np.isnan(iou))  # in neither the maps nor the labels: no score, not a zero
        table.add_row([name, 'absent' if absent else f'{iou * 100:.1f}', 'absent' if absent else f'{f1 * 100:.1f}'])
        result[f'IoU.{name}'] = None if absent else float(iou * 100)
    result['mIoU'] = float(np.nanmean(scores['IoU']) * 100)
    result['aAcc'] = float(scores['aAcc'] * 100)
    print(table)
    print(f"mIoU {result['mIoU']:.1f}, overall accuracy {result['aAcc']:.1f} on {len(maps)} held-back target images")
    (out / 'target_iou.json').write_text(json.dumps(result, indent=1))
    return result


def curves(out: Path) -> Path:
    """Training curves (every logged loss term, pseudo-label share, target mIoU) to PNG."""
    from tools.plot_curves import main as plot_main
    png = out / 'training_curves.png'
    plot_main([str(out / 'train'), '--out', str(png)])
    return png


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='work_dirs/demo', help='output folder (default work_dirs/demo)')
    parser.add_argument('--iters', type=int, default=300, help='training iterations (default 300)')
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()
    step('1/5 convert colour-coded masks with demo/dubai/palette.json')
    labels = convert(out)
    step('2/5 tile source (Tile 1, labelled) and target (Tile 2, unlabelled for training)')
    manifests = tile(out, labels)
    step(f'3/5 train the tiny ST-DASegNet config for {args.iters} iterations')
    checkpoint = train(out, manifests, args.iters)
    step('4/5 map the held-back target images with the scene predictor')
    maps = predict(out, checkpoint)
    step('5/5 evaluate the maps (target labels used for evaluation only) and plot the training curves')
    evaluate(out, maps, labels['target'])
    png = curves(out)
    print(f'\nDone in {time.time() - start:.0f} s. Everything is in {out}:\n'
          f'  class maps + confidence + previews: {out / "maps"}\n  training curves: {png}\n'
          f'  per-class IoU: {out / "target_iou.json"}\n  model: {checkpoint}')
    return 0


if __name__ == '__main__':
    from rsseg.utils.cli import run_cli
    run_cli(main)
