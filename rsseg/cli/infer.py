"""Map whole scenes with a trained model: ``rsseg-infer CONFIG CHECKPOINT SCENES... --out DIR``
(``python tools/infer.py ...``).

SCENES are raster files, globs, folders (their ``*.tif`` etc.) or list files (``.txt``: one path a line). For scene
``NAME.tif`` the class map is ``DIR/NAME.tif`` (a Cloud-Optimised GeoTIFF on the scene's grid) with its class names
for GIS clients (``DIR/NAME.tif.aux.xml``: GDAL category names; ``DIR/NAME.qml``: QGIS style), and optional
``DIR/NAME.confidence.tif`` and ``DIR/NAME.preview.png``. Complete outputs are skipped on a rerun (resume). The exit
status is non-zero when any scene failed.

Many GPUs or a cluster: ``torchrun --nproc-per-node N tools/infer.py ... --launcher pytorch`` (or ``srun ...
--launcher slurm``) shards the scenes across ranks; each rank writes its own scenes. On CPU-only machines the ranks
talk over gloo.
"""
import argparse
import logging
import os
import subprocess
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.config import DictAction

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.utils.cli import run_cli


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Predict class maps of whole scenes (sliding windows, blended, '
                                                 'memory-bounded, COG output).')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('scenes', nargs='+', help='scene files, globs, folders or list files (.txt)')
    parser.add_argument('--out', required=True, help='output folder (created if missing)')
    parser.add_argument('--device', default=None, help="'cpu', 'cuda', 'cuda:1' (default: cuda if available)")
    parser.add_argument('--amp', action='store_true', help='float16 autocast on CUDA')
    parser.add_argument('--batch-size', type=int, default=4, help='windows per model call (default 4)')
    parser.add_argument('--window', type=int, default=None,
                        help="window size in px (default: the config's slide crop_size, else 512)")
    parser.add_argument('--overlap', type=float, default=None,
                        help="share of a window overlapping its neighbour, 0-0.9 (default: config stride, else 0.25)")
    parser.add_argument('--prefetch', type=int, default=2, help='batches read ahead by the reader thread')
    parser.add_argument('--cache-mb', type=int, default=None,
                        help='GDAL block cache in MiB (default: about two window rows of the scene). Blending holds '
                             'about 4 B x classes x overlap px x scene width, whatever the scene height')
    parser.add_argument('--blend', choices=['hann', 'pyramid', 'uniform'], default='hann', help='window weighting')
    parser.add_argument('--native-gsd', action='store_true',
                        help="predict on each scene's own grid, not at the model's training GSD")
    parser.add_argument('--max-resample', type=float, default=8.0,
                        help='refuse scenes whose pixel size differs from the training GSD by more (default 8)')
    parser.add_argument('--allow-no-crs', action='store_true', help='accept scenes without a CRS')
    parser.add_argument('--bands', type=_bands, default=None, help='1-based scene bands, e.g. 4,1,2 (overrides '
                                                                   "the model's recorded bands)")
    parser.add_argument('--confidence', action='store_true', help='also write NAME.confidence.tif (max probability)')
    parser.add_argument('--preview', action='store_true', help='also write NAME.preview.png')
    parser.add_argument('--overwrite', action='store_true', help='predict again even if complete outputs exist')
    parser.add_argument('--compress', choices=['deflate', 'zstd'], default='deflate', help='output compression')
    parser.add_argument('--no-progress', action='store_true', help='no progress bars')
    parser.add_argument('--exact-model', action='store_true',
                        help='run the model exactly as trained (default: a faster copy, BatchNorm folded into its '
                             'convolutions and channels-last, used where a probe gives the same logits)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, metavar='KEY=VALUE',
                        help='override config settings')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none',
                        help='shard the scenes across ranks started by torchrun (pytorch) or srun (slurm)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def _bands(text: str) -> List[int]:
    try:
        return [int(b) for b in text.replace(' ', '').split(',') if b]
    except ValueError:
        raise argparse.ArgumentTypeError(f'--bands {text!r}: expected comma-separated band numbers') from None


def _slurm_env() -> None:
    """Fill torch's env:// variables from SLURM's, as mmengine's slurm launcher does (which needs CUDA)."""
    os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
    os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
    os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        node_list = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1')


def init_launcher(launcher: str) -> Tuple[int, int]:
    """Start the process group for ``launcher`` and return ``(rank, world_size)``.

    With CUDA, mmengine's ``init_dist`` (NCCL) is used; without it mmengine's launchers fail on
    ``torch.cuda.set_device``, so a gloo group is started from the environment instead.
    """
    from mmengine.dist import get_dist_info, init_dist
    if launcher == 'none':
        return 0, 1
    if torch.cuda.is_available():
        init_dist(launcher, backend='nccl')
    else:
        if launcher == 'slurm':
            _slurm_env()
        missing = [v for v in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if v not in os.environ]
        if missing:
            raise RuntimeError(f'--launcher {launcher}: environment variable(s) {missing} not set; start the ranks '
                               'with torchrun (or srun for slurm)')
        torch.distributed.init_process_group(backend='gloo')
    return get_dist_info()


def _device(requested: Optional[str], launcher: str) -> str:
    """The device for this rank: ``cuda:LOCAL_RANK`` when sharding on GPUs."""
    local_rank = int(os.environ.get('LOCAL_RANK', '0'))
    if requested is None:
        requested = 'cuda' if torch.cuda.is_available() else 'cpu'
    if requested == 'cuda' and launcher != 'none':
        return f'cuda:{local_rank}'
    if requested.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {requested}: CUDA is not available on this machine (use --device cpu)')
    return requested


def _logger(rank: int, world: int) -> logging.Logger:
    """mmengine logger showing INFO on every rank (each rank logs its own scenes), prefixed by the rank."""
    from rsseg.apis.scene_predictor import get_logger
    fmt = f'%(asctime)s - rsseg{f" [rank {rank}/{world}]" if world > 1 else ""} - %(levelname)s - %(message)s'
    logger = get_logger()
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setLevel(logging.INFO)
            handler.setFormatter(logging.Formatter(fmt, '%m/%d %H:%M:%S'))
    return logger


def _summary(results: list, world: int) -> Tuple[int, int, int]:
    """``(done, skipped, failed)`` over all ranks."""
    counts = torch.tensor([sum(r.status == s for r in results) for s in ('done', 'skipped', 'failed')],
                          dtype=torch.int64)
    if world > 1:
        from mmengine.dist import all_reduce
        all_reduce(counts, op='sum')
    return tuple(int(c) for c in counts)  # type: ignore[return-value]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    from rsseg.apis import ScenePredictor, collect_scenes
    from rsseg.apis.runner import load_config
    from rsseg.apis.scene_predictor import ensure_writable
    scenes = collect_scenes(args.scenes)
    ensure_writable(args.out)
    cfg = load_config(args.config, args.cfg_options)
    rank, world = init_launcher(args.launcher)
    logger = _logger(rank, world)
    predictor = ScenePredictor(
        cfg, args.checkpoint, _device(args.device, args.launcher), window=args.window, overlap=args.overlap,
        batch_size=args.batch_size, prefetch=args.prefetch, cache_mb=args.cache_mb, blend=args.blend, amp=args.amp,
        native_gsd=args.native_gsd, allow_no_crs=args.allow_no_crs, bands=args.bands,
        max_resample=args.max_resample, compress=args.compress, progress=not args.no_progress,
        fast_model=not args.exact_model)
    mine = scenes[rank::world]
    logger.info(f'{len(mine)} of {len(scenes)} scene(s) on this rank -> {args.out} (window {predictor.window}, '
                f'overlap {predictor.overlap:g}, settings from {predictor.settings.source})')
    results = predictor.predict_scenes(mine, args.out, confidence=args.confidence, preview=args.preview,
                                       overwrite=args.overwrite)
    done, skipped, failed = _summary(results, world)
    if rank == 0:
        logger.info(f'{done} scene(s) predicted, {skipped} skipped (complete), {failed} failed')
    failed_here = [r.scene.name for r in results if r.status == 'failed']
    if failed_here:  # each reason was logged when its scene failed
        logger.error(f'failed scene(s): {", ".join(failed_here)} (reasons above)')
    if world > 1:
        torch.distributed.destroy_process_group()
    return 1 if failed else 0


def cli() -> None:
    """Console entry point ``rsseg-infer``."""
    run_cli(main)


if __name__ == '__main__':
    cli()
