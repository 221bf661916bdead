"""Scene-predictor benchmark, side by side in one run (each measurement in its own process for a clean peak RSS).

(a) share of the wall time spent in the model forward (goal >= 0.9 on CPU) with the CPU-sized DeepLabV3+ model, for a
    process's second scene (a batch's steady state) and for its first (which also pays GDAL's driver registration and
    torch's first-call kernel selection);
(b) peak RSS for a 2k x 2k and a 16k x 16k generated scene (goal: flat), with a light model so the 16k run takes
    about a minute on 2 cores (the model's own memory does not depend on the scene size);
(c) mmseg's own ``inference_model`` in slide mode on the same model, scene, window and stride: time and peak-memory
    ratios, plus the agreement of the two class maps (DeepLabV3+ on the 2k scene, with rsseg's default fast model
    and with ``--exact-model``; the light model on a 4k scene to show how mmseg's whole-scene buffers grow);
(d) the pipeline's own ceiling: the 4k scene with the model forward replaced by a constant (a null model), in MP/s
    (what a GPU fast enough to make the model free would reach), with where its time goes: read, normalise (reader
    thread), blend (blender thread), write (writer thread), overviews and the COG copy (at the end). The threads
    overlap the calling thread, so the parts may add up to more than the wall time.

Usage::

    python bench/bench_predict.py [--small 2048] [--mid 4096] [--large 16384] [--window 512] [--overlap 0.25] \\
        [--work-dir work_dirs/bench_predict] [--skip-large]

Prints a table and JSON, and writes ``WORK_DIR/bench_predict.json``. Generated scenes are cached in WORK_DIR.
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from rsseg.formats.files import write_json

REPO = Path(__file__).resolve().parents[1]
CLASSES = ['building', 'land', 'road', 'vegetation', 'water']
PALETTE = [[60, 16, 152], [132, 41, 246], [110, 193, 228], [254, 221, 58], [226, 169, 41]]
LIGHT_MODEL = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.5] * 3, std=[0.25] * 3, bgr_to_rgb=False),
    backbone=dict(type='UNet', in_channels=3, base_channels=8, num_stages=1, strides=(1,), enc_num_convs=(1,),
                  dec_num_convs=(), downsamples=(), enc_dilations=(1,), dec_dilations=(), norm_cfg=dict(type='BN')),
    decode_head=dict(type='FCNHead', in_channels=8, channels=8, num_convs=0, concat_input=False, in_index=-1,
                     num_classes=5, norm_cfg=dict(type='BN'), loss_decode=dict(type='CrossEntropyLoss')),
    test_cfg=dict(mode='whole'))


# ------------------------------------------------------------------------------------------------ setup
def calibrate_batchnorm(model, scene: Path, crops: int = 12, size: int = 256) -> None:
    """Set BN running statistics from crops of ``scene`` (train-mode forwards, no gradients).

    A randomly initialised deep network otherwise shrinks its activations layer after layer and predicts one class
    everywhere, which would make the class-map comparison with mmseg meaningless; no training is needed for this.
    """
    import rasterio
    import torch
    rng = np.random.default_rng(0)
    with rasterio.open(scene) as src:
        img = src.read(window=((0, min(1024, src.height)), (0, min(1024, src.width)))) / np.float32(255)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None                      # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(crops // 4):                    # batches of 4: BN needs more than one value per channel
            corners = rng.integers(0, min(img.shape[1:]) - size + 1, size=(4, 2))
            batch = torch.from_numpy(np.stack([img[:, r:r + size, c:c + size] for r, c in corners]))
            model._forward(model.data_preprocessor(dict(inputs=list(batch)), False)['inputs'])
    model.eval()


def write_model(work: Path, name: str, scene: Path) -> Dict[str, str]:
    """Config + random-init checkpoint: ``deeplab`` (the repository's CPU-sized DeepLabV3+, BN calibrated on the
    scene) or ``light``."""
    import torch
    from mmengine.runner.checkpoint import save_checkpoint
    from mmseg.apis import init_model

    import rsseg.plugin  # noqa: F401
    config = work / f'{name}.py'
    head = ["custom_imports = dict(imports=['rsseg.plugin'], allow_failed_imports=False)", "default_scope = 'mmseg'",
            f'infer_settings = {dict(classes=CLASSES, palette=PALETTE)!r}']
    body = ([f"_base_ = ['{REPO / 'configs/_base_/models/deeplabv3plus_r18-tiny.py'}']"] if name == 'deeplab'
            else [f'model = {LIGHT_MODEL!r}'])
    config.write_text('\n'.join(body + head) + '\n')
    checkpoint = work / f'{name}.pth'
    if not checkpoint.is_file():
        torch.manual_seed(0)
        model = init_model(str(config), None, device='cpu')
        if name == 'deeplab':
            calibrate_batchnorm(model, scene)
        save_checkpoint(dict(meta=dict(dataset_meta=dict(classes=CLASSES, palette=PALETTE)),
                             state_dict=model.state_dict()), str(checkpoint))
    return dict(config=str(config), checkpoint=str(checkpoint))


def write_scene(path: Path, size: int, tile: int = 2048) -> Path:
    """A 3-band uint8 UTM GeoTIFF (512 tiles, DEFLATE): a smooth random 2k pattern repeated to ``size``."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from rsseg.formats.files import atomic_output
    if path.is_file():
        return path
    tile = min(tile, size)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:tile, 0:tile].astype(np.float32)
    bands = []
    for _ in range(3):
        band = sum(np.sin(rng.uniform(0.002, 0.02) * yy + rng.uniform(0.002, 0.02) * xx + rng.uniform(0, 6))
                   for _ in range(4)) + rng.normal(0, 0.03, (tile, tile))
        bands.append((band - band.min()) / (band.max() - band.min()) * 250 + 3)
    pattern = np.stack(bands).astype(np.uint8)
    with atomic_output(path, raster=True) as tmp, rasterio.open(
            tmp, 'w', driver='GTiff', width=size, height=size, count=3, dtype='uint8', nodata=0, crs='EPSG:32632',
            transform=from_origin(400000, 5600000, 0.5, 0.5), tiled=True, blockxsize=512, blockysize=512,
            compress='deflate') as dst:
        for row in range(0, size, tile):
            for col in range(0, size, tile):
                h, w = min(tile, size - row), min(tile, size - col)
                dst.write(pattern[:, :h, :w], window=Window(col, row, w, h))
    return path


# ------------------------------------------------------------------------------------------------ workers
def _rss_mb() -> float:
    """Current resident set size in MiB."""
    with open('/proc/self/status') as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith('VmRSS:'))
    return kb / 1024


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_rsseg(args: argparse.Namespace) -> dict:
    """rsseg's ScenePredictor on one scene, writing the COG; with ``--twice``, then the same scene again as the
    process's second scene (``next_scene``: what every scene after the first of a batch costs, once GDAL's drivers
    are registered and torch has picked its kernels)."""
    from rsseg.apis import ScenePredictor
    predictor = ScenePredictor(args.config, args.checkpoint, 'cpu', window=args.window, overlap=args.overlap,
                               batch_size=args.batch_size, progress=False, fast_model=not args.exact_model)
    base = _rss_mb()
    first = scene_run(predictor.predict_scene(args.scene, args.out, overwrite=True))
    peak = _peak_mb()
    if not args.twice:
        return dict(first, base_rss_mb=base, peak_rss_mb=peak)
    second = scene_run(predictor.predict_scene(args.scene, args.out, overwrite=True))
    return dict(first, base_rss_mb=base, peak_rss_mb=peak, next_scene=second)


def scene_run(result) -> dict:
    """Wall time, forward share, throughput and stage seconds of one :class:`~rsseg.apis.SceneResult`."""
    return dict(wall_s=result.seconds, forward_s=result.stats['forward_s'],
                forward_share=result.stats['forward_s'] / result.seconds, mp_per_s=result.megapixels / result.seconds,
                stages={k: result.stats.get(k, 0.0) for k in STAGES}, windows=int(result.stats['windows']),
                output=str(result.output))


STAGES = ('read_s', 'normalise_s', 'forward_s', 'blend_s', 'write_s', 'overviews_s', 'cog_copy_s')


def worker_null(args: argparse.Namespace) -> dict:
    """rsseg's ScenePredictor with the forward replaced by constant probabilities: the pipeline's own ceiling."""
    from rsseg.apis import ScenePredictor
    predictor = ScenePredictor(args.config, args.checkpoint, 'cpu', window=args.window, overlap=args.overlap,
                               batch_size=args.batch_size, progress=False)
    uniform: Dict[tuple, np.ndarray] = {}

    def constant(batch: np.ndarray, weights: Optional[np.ndarray] = None) -> np.ndarray:
        n, _, h, w = batch.shape
        probs = uniform.setdefault((n, h, w), np.full((n, predictor.num_classes, h, w), 1 / predictor.num_classes,
                                                      np.float32))
        return probs if weights is None else probs * weights[:, None]

    predictor.forward = constant  # type: ignore[method-assign]
    return dict(scene_run(predictor.predict_scene(args.scene, args.out, overwrite=True)), peak_rss_mb=_peak_mb())


def worker_mmseg(args: argparse.Namespace) -> dict:
    """mmseg's ``inference_model`` in slide mode on the whole scene read into memory (its documented usage)."""
    import rasterio
    import torch
    from mmengine.config import Config
    from mmseg.apis import inference_model, init_model

    import rsseg.plugin  # noqa: F401
    cfg = Config.fromfile(args.config)
    stride = max(1, round(args.window * (1 - args.overlap)))
    cfg.model.test_cfg = dict(mode='slide', crop_size=(args.window, args.window), stride=(stride, stride))
    cfg.test_pipeline = [dict(type='LoadImageFromNDArray'), dict(type='PackSegInputs')]
    model = init_model(cfg, args.checkpoint, device='cpu')
    base = _rss_mb()
    start = time.perf_counter()
    with rasterio.open(args.scene) as src:
        img = (src.read().transpose(1, 2, 0) / np.float32(255)).astype(np.float32)
    with torch.no_grad():
        pred = inference_model(model, img).pred_sem_seg.data[0].numpy().astype(np.uint8)
    wall = time.perf_counter() - start
    np.save(args.out + '.npy', pred)
    return dict(wall_s=wall, mp_per_s=img.shape[0] * img.shape[1] / 1e6 / wall, base_rss_mb=base,
                peak_rss_mb=_peak_mb(), output=args.out + '.npy')


def run_worker(kind: str, model: Dict[str, str], scene: Path, out: Path, args: argparse.Namespace,
               exact_model: bool = False, twice: bool = False) -> dict:
    """Run one measurement in a fresh interpreter and parse its RESULT line."""
    cmd = [sys.executable, __file__, '--worker', kind, '--config', model['config'], '--checkpoint',
           model['checkpoint'], '--scene', str(scene), '--out', str(out), '--window', str(args.window),
           '--overlap', str(args.overlap), '--batch-size', str(args.batch_size)] + (
        ['--exact-model'] if exact_model else []) + (['--twice'] if twice else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('RESULT ')]
    if proc.returncode or not lines:
        raise RuntimeError(f'{kind} worker failed:\n{proc.stderr[-3000:]}')
    return json.loads(lines[-1][len('RESULT '):])


# ------------------------------------------------------------------------------------------------ report
def agreement(ours: str, theirs: str) -> float:
    """Share of pixels where rsseg's class map equals mmseg's."""
    import rasterio
    with rasterio.open(ours) as src:
        a = src.read(1)
    return float((a == np.load(theirs)).mean())


def machine() -> str:
    import torch
    model = next((ln.split(':', 1)[1].strip() for ln in open('/proc/cpuinfo') if ln.startswith('model name')), '?')
    return (f'{platform.machine()} {model}, {os.cpu_count()} cores, torch {torch.__version__}, '
            f'{torch.get_num_threads()} threads')


def print_table(res: dict) -> None:
    a, rss = res['a_forward_share'], res['b_peak_rss']
    print(f"\nmachine: {res['machine']}")
    n = a['next_scene']
    print(f"(a) forward share, {a['model']} on {a['scene']}: {n['forward_share']:.3f} from the process's second scene "
          f"on (goal >= 0.9; {n['mp_per_s']:.3f} MP/s, {n['windows']} windows; {stage_line(n)}); "
          f"{a['forward_share']:.3f} for its first scene")
    for key, r in rss['runs'].items():
        print(f"(b) {key}: peak RSS {r['peak_rss_mb']:.0f} MiB (after model load {r['base_rss_mb']:.0f} MiB, "
              f"+{r['peak_rss_mb'] - r['base_rss_mb']:.0f}), {r['wall_s']:.1f} s, {r['mp_per_s']:.2f} MP/s")
    if rss.get('ratio_large_to_small') is not None:
        print(f"    peak RSS ratio large/small: {rss['ratio_large_to_small']:.2f} for "
              f"{rss['pixel_ratio']:.0f}x the pixels (goal: flat)")
    for c in (res['c_vs_mmseg_slide'], res['c_vs_mmseg_slide_mid']):
        print(f"(c) vs mmseg inference_model (slide), {c['model']} on {c['scene']}: time ratio rsseg/mmseg "
              f"{c['time_ratio']:.2f} ({c['rsseg']['wall_s']:.1f} vs {c['mmseg']['wall_s']:.1f} s), peak memory ratio "
              f"{c['peak_rss_ratio']:.2f} (working memory {c['working_mb_rsseg']:.0f} vs {c['working_mb_mmseg']:.0f} "
              f"MiB), class-map agreement {c['agreement']:.4f}")
    c = res['c_vs_mmseg_slide']
    print(f"    with --exact-model (no BatchNorm folding, no channels-last): time ratio "
          f"{c['time_ratio_exact_model']:.2f} ({c['rsseg_exact_model']['wall_s']:.1f} s, forward share "
          f"{c['rsseg_exact_model']['forward_share']:.3f})")
    d = res['d_pipeline_ceiling']
    print(f"(d) pipeline ceiling (null model) on {d['scene']}: {d['mp_per_s']:.1f} MP/s ({d['wall_s']:.2f} s; "
          f"{stage_line(d)})")


def stage_line(run: dict) -> str:
    """Seconds per stage of a run (threads overlap: the parts may add up to more than the wall time)."""
    return ', '.join(f"{k[:-2]} {v:.2f} s" for k, v in run['stages'].items())


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--small', type=int, default=2048, help='side of the small scene (px)')
    parser.add_argument('--large', type=int, default=16384, help='side of the large scene (px)')
    parser.add_argument('--mid', type=int, default=4096, help='side of the scene for the light-model mmseg comparison')
    parser.add_argument('--window', type=int, default=512)
    parser.add_argument('--overlap', type=float, default=0.25)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'bench_predict'))
    parser.add_argument('--skip-large', action='store_true', help='leave out the large scene of (b)')
    parser.add_argument('--worker', choices=['rsseg', 'mmseg', 'null'], help=argparse.SUPPRESS)
    parser.add_argument('--exact-model', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--twice', action='store_true', help=argparse.SUPPRESS)
    for name in ('--config', '--checkpoint', '--scene', '--out'):
        parser.add_argument(name, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.worker:
        result = dict(rsseg=worker_rsseg, mmseg=worker_mmseg, null=worker_null)[args.worker](args)
        print('RESULT ' + json.dumps(result))
        return 0
    work = Path(args.work_dir)
    (work / 'out' / 'deeplab').mkdir(parents=True, exist_ok=True)
    small = write_scene(work / f'scene_{args.small}.tif', args.small)
    models = {name: write_model(work, name, small) for name in ('deeplab', 'light')}
    ours = run_worker('rsseg', models['deeplab'], small, work / 'out' / 'deeplab', args, twice=True)
    theirs = run_worker('mmseg', models['deeplab'], small, work / 'out' / 'deeplab' / 'mmseg', args)
    (work / 'out' / 'exact').mkdir(parents=True, exist_ok=True)
    exact = run_worker('rsseg', models['deeplab'], small, work / 'out' / 'exact', args, exact_model=True)
    runs = {f'{args.small}px': run_worker('rsseg', models['light'], small, work / 'out' / 'light', args)}
    if not args.skip_large:
        large = write_scene(work / f'scene_{args.large}.tif', args.large)
        runs[f'{args.large}px'] = run_worker('rsseg', models['light'], large, work / 'out' / 'light', args)
    mid = write_scene(work / f'scene_{args.mid}.tif', args.mid)
    ours_mid = run_worker('rsseg', models['light'], mid, work / 'out' / 'light', args)
    theirs_mid = run_worker('mmseg', models['light'], mid, work / 'out' / 'light' / 'mmseg', args)
    (work / 'out' / 'null').mkdir(parents=True, exist_ok=True)
    null = run_worker('null', models['deeplab'], mid, work / 'out' / 'null', args)
    keys = list(runs)
    res = dict(
        machine=machine(), settings=dict(window=args.window, overlap=args.overlap, batch_size=args.batch_size),
        a_forward_share=dict(ours, model='deeplabv3plus_r18-tiny', scene=f'{args.small}px'),
        b_peak_rss=dict(model='light (3x3 conv + 1x1 classifier)', runs=runs,
                        ratio_large_to_small=(runs[keys[-1]]['peak_rss_mb'] / runs[keys[0]]['peak_rss_mb']
                                              if len(keys) > 1 else None),
                        pixel_ratio=(args.large / args.small) ** 2),
        c_vs_mmseg_slide=dict(model='deeplabv3plus_r18-tiny', scene=f'{args.small}px', rsseg=ours, mmseg=theirs,
                              time_ratio=ours['wall_s'] / theirs['wall_s'], rsseg_exact_model=exact,
                              time_ratio_exact_model=exact['wall_s'] / theirs['wall_s'],
                              peak_rss_ratio=ours['peak_rss_mb'] / theirs['peak_rss_mb'],
                              working_mb_rsseg=ours['peak_rss_mb'] - ours['base_rss_mb'],
                              working_mb_mmseg=theirs['peak_rss_mb'] - theirs['base_rss_mb'],
                              agreement=agreement(ours['output'], theirs['output'])),
        c_vs_mmseg_slide_mid=dict(model='light', scene=f'{args.mid}px', rsseg=ours_mid, mmseg=theirs_mid,
                                  time_ratio=ours_mid['wall_s'] / theirs_mid['wall_s'],
                                  peak_rss_ratio=ours_mid['peak_rss_mb'] / theirs_mid['peak_rss_mb'],
                                  working_mb_rsseg=ours_mid['peak_rss_mb'] - ours_mid['base_rss_mb'],
                                  working_mb_mmseg=theirs_mid['peak_rss_mb'] - theirs_mid['base_rss_mb'],
                                  agreement=agreement(ours_mid['output'], theirs_mid['output'])),
        d_pipeline_ceiling=dict(null, scene=f'{args.mid}px'))
    print_table(res)
    print(json.dumps(res, indent=1))
    write_json(work / 'bench_predict.json', res)
    return 0


if __name__ == '__main__':
    sys.exit(main())
