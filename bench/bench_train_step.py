"""One ST-DASegNet training step vs one source-only step: same backbone, batch and crop, measured side by side.

Both models come from configs (the tiny CPU configs by default, so it runs in a few minutes on 2 cores); batches are
synthetic images in [0, 1] with random labels, so only the model step is timed (no data loading). Steps alternate
between the two models; the median of ``--steps`` timed steps after ``--warmup`` steps is reported.

Where the time goes is measured by timing the ``forward`` of every top-level submodule and the two training phases;
"backward + optimizer" is what remains of a phase after its forwards. The floor of the ratio is about 4× (four
backbone passes: both students on both domains).

On CPU the clock is the process CPU time (``time.process_time``): on a shared machine wall time also counts the time
other processes hold the cores, which makes side-by-side ratios noisy; wall times are reported too. On CUDA the clock
is wall time after ``torch.cuda.synchronize()``.

Usage::

    python bench/bench_train_step.py [--config CFG] [--baseline-config CFG] [--batch 2] [--crop 128] \\
        [--steps 5] [--warmup 2] [--threads 1] [--out work_dirs/bench_train_step.json] [--profile]

Prints a table and JSON and writes the JSON to ``--out``.
"""
import argparse
import copy
import json
import os
import platform
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch

from rsseg.formats.files import write_json

REPO = Path(__file__).resolve().parents[1]
STDA_CONFIG = REPO / 'configs/stdaseg/stdaseg_deeplabv3plus-r18-tiny_1xb2-100i_dubai-demo-128x128.py'
BASELINE_CONFIG = REPO / 'configs/source_only/source-only_deeplabv3plus-r18-tiny_1xb4-100i_dubai-demo-128x128.py'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=str(STDA_CONFIG), help='ST-DASegNet config')
    parser.add_argument('--baseline-config', default=str(BASELINE_CONFIG), help='source-only config (same backbone)')
    parser.add_argument('--batch', type=int, default=2, help='images per domain')
    parser.add_argument('--crop', type=int, default=128, help='square crop size')
    parser.add_argument('--steps', type=int, default=10, help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps per model first')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads (1: OpenMP busy-waiting on a shared 2-core machine makes more '
                        'threads slower and noisy); 0 keeps torch\'s default')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--out', default=str(REPO / 'work_dirs/bench_train_step.json'))
    parser.add_argument('--profile', action='store_true', help='also print the top torch.profiler ops per model')
    parser.add_argument('--no-ablation', dest='ablate_universal', action='store_false',
                        help='skip the third model (ST-DASegNet without the DDM universal block)')
    return parser.parse_args(argv)


CLOCK = time.process_time


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def without_universal_block(model_cfg) -> None:
    """Ablation: drop the DDM's universal block(s) and shrink the decoders' inputs accordingly (in place)."""
    neck = model_cfg.neck
    stages = len(neck.in_channels)
    universal = sorted({i % stages for i in neck.get('universal_stages', (-1, ))})
    neck.universal_stages = ()
    for key in ('decode_head_s', 'decode_head_t'):
        head = model_cfg[key]
        if isinstance(head.in_channels, int):
            index = head.in_index % stages
            head.in_channels = neck.in_channels[index] if index in universal else head.in_channels
        else:
            head.in_channels = [neck.in_channels[i % stages] if i % stages in universal else c
                                for i, c in zip(head.in_index, head.in_channels)]


def build(config: str, crop: int, device: str, ablate_universal: bool = False):
    """Model and optimizer wrapper(s) from a config, preprocessing padded to ``crop``."""
    from mmengine.config import Config
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import rsseg.plugin  # noqa: F401
    MMLogger.get_instance('bench_train_step', log_level='WARNING')  # no per-parameter init report
    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    if ablate_universal:
        without_universal_block(cfg.model)
    pre = cfg.model.data_preprocessor
    for sub in ([pre.source, pre.target] if 'source' in pre else [pre]):
        sub.size = (crop, crop)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.to(device).train()
    return cfg, model, build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))


def batches(batch: int, crop: int, num_classes: int, seed: int) -> Dict[str, dict]:
    """A paired batch for ST-DASegNet and the source half of it for the source-only model."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(seed)

    def sample(labelled: bool) -> SegDataSample:
        s = SegDataSample(metainfo=dict(img_shape=(crop, crop), ori_shape=(crop, crop)))
        if labelled:
            s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, crop, crop), generator=g))
        return s

    src = [torch.rand(3, crop, crop, generator=g) for _ in range(batch)]
    tgt = [torch.rand(3, crop, crop, generator=g) for _ in range(batch)]
    src_samples = [sample(True) for _ in range(batch)]
    paired = dict(inputs=dict(src=src, tgt=tgt),
                  data_samples=dict(src=src_samples, tgt=[sample(False) for _ in range(batch)]))
    single = dict(inputs=[x.clone() for x in src], data_samples=copy.deepcopy(src_samples))
    return dict(paired=paired, single=single)


class PartTimer:
    """Forward time per top-level submodule plus timers around named methods, accumulated per step."""

    def __init__(self, model: torch.nn.Module, methods: Sequence[str], device: str) -> None:
        self.device = device
        self.times: Dict[str, float] = defaultdict(float)
        for name, module in model.named_children():
            if next(module.parameters(), None) is None or name == 'data_preprocessor':
                continue
            # wrap ``forward`` itself: mmseg heads call ``self.forward`` from ``loss``, bypassing forward hooks
            module.forward = self._wrap(f'fwd.{name}', module.forward)
        for method in methods:
            if hasattr(model, method):
                setattr(model, method, self._wrap(f'phase.{method}', getattr(model, method)))

    def _wrap(self, key: str, fn: Callable) -> Callable:
        def wrapped(*args, **kwargs):
            _sync(self.device)
            start = CLOCK()
            out = fn(*args, **kwargs)
            _sync(self.device)
            self.times[key] += CLOCK() - start
            return out
        return wrapped

    def reset(self) -> Dict[str, float]:
        out, self.times = dict(self.times), defaultdict(float)
        return out


def step_fn(model, optim, data: dict, device: str) -> Callable[[], tuple]:
    """A callable running one training step; returns ``(clock seconds, wall seconds)``."""
    def run() -> tuple:
        batch = copy.deepcopy(data)  # the preprocessor pads data samples in place
        _sync(device)
        start, wall = CLOCK(), time.perf_counter()
        model.train_step(batch, optim)
        _sync(device)
        return CLOCK() - start, time.perf_counter() - wall
    return run


def breakdown(parts: List[Dict[str, float]], step: float, stda: bool) -> Dict[str, float]:
    """Median seconds per named part; 'backward + optimizer' is what a phase spends outside its forwards."""
    keys = sorted({k for p in parts for k in p})
    med = {k: statistics.median(p.get(k, 0.0) for p in parts) for k in keys}
    fwd = {k[4:]: v for k, v in med.items() if k.startswith('fwd.')}
    out: Dict[str, float] = {}
    groups = {
        'backbones (fwd)': ['backbone_s', 'backbone_t', 'backbone'],
        'DDM neck (fwd)': ['neck'],
        'decoders (fwd)': ['decode_head_s', 'decode_head_t', 'decode_head'],
        'EMA teachers (fwd, no grad)': ['ema_decode_head_s', 'ema_decode_head_t'],
        'discriminators (fwd, both phases)': ['discriminator_s', 'discriminator_t'],
    }
    for label, names in groups.items():
        value = sum(fwd.get(n, 0.0) for n in names)
        if value:
            out[label] = value
    if stda:
        seg_phase = med.get('phase._train_segmentors', 0.0)
        disc_phase = med.get('phase._train_discriminators', 0.0)
        disc_fwd = sum(fwd.get(n, 0.0) for n in ('discriminator_s', 'discriminator_t'))
        seg_fwd = sum(v for k, v in fwd.items()) - disc_fwd
        # discriminator forwards happen in both phases: the discriminator phase's share is what its timer holds
        disc_phase_fwd = min(disc_fwd, disc_phase)
        out['segmentor backward + 2 optimizers'] = max(seg_phase - seg_fwd - (disc_fwd - disc_phase_fwd), 0.0)
        out['discriminator backward + 2 optimizers'] = max(disc_phase - disc_phase_fwd, 0.0)
    else:
        out['backward + optimizer'] = max(step - sum(fwd.values()), 0.0)
    out['other (preprocessing, pseudo-labels, losses, logging)'] = max(step - sum(out.values()), 0.0)
    return {k: round(v, 4) for k, v in out.items()}


def profile_top(run: Callable[[], float], label: str) -> None:
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    print(f'\n== torch.profiler top ops: {label} ==')
    print(prof.key_averages().table(sort_by='cpu_time_total', row_limit=15))


def measure(args: argparse.Namespace) -> dict:
    cfg, stda, stda_optim = build(args.config, args.crop, args.device)
    base_cfg, base, base_optim = build(args.baseline_config, args.crop, args.device)
    if cfg.model.backbone_s != base_cfg.model.backbone:
        raise ValueError(f'{args.config} and {args.baseline_config} use different backbones; compare like with like')
    data = batches(args.batch, args.crop, stda.num_classes, seed=0)
    stda_timer = PartTimer(stda, ['_train_segmentors', '_train_discriminators'], args.device)
    base_timer = PartTimer(base, [], args.device)
    runs = dict(stda=step_fn(stda, stda_optim, data['paired'], args.device),
                source_only=step_fn(base, base_optim, data['single'], args.device))
    timers = dict(stda=stda_timer, source_only=base_timer)
    if args.ablate_universal:
        _, ablated, ablated_optim = build(args.config, args.crop, args.device, ablate_universal=True)
        runs['stda_without_universal_block'] = step_fn(ablated, ablated_optim, data['paired'], args.device)
        timers['stda_without_universal_block'] = PartTimer(ablated, [], args.device)
    steps: Dict[str, List[float]] = defaultdict(list)
    walls: Dict[str, List[float]] = defaultdict(list)
    parts: Dict[str, List[Dict[str, float]]] = defaultdict(list)
    for i in range(args.warmup + args.steps):
        for name, run in runs.items():  # alternate: both models see the same machine state
            seconds, wall = run()
            part = timers[name].reset()
            if i >= args.warmup:
                steps[name].append(seconds)
                walls[name].append(wall)
                parts[name].append(part)
    if args.profile:
        for name, run in runs.items():
            profile_top(run, name)
    med = {k: statistics.median(v) for k, v in steps.items()}
    med_wall = {k: statistics.median(v) for k, v in walls.items()}
    extra = {}
    if 'stda_without_universal_block' in med:
        extra['ratio_without_universal_block'] = round(med['stda_without_universal_block'] / med['source_only'], 3)
    return dict(
        ratio=round(med['stda'] / med['source_only'], 3),
        **extra,
        clock='wall (cuda synchronised)' if args.device.startswith('cuda') else 'process CPU time',
        seconds_per_step={k: round(v, 4) for k, v in med.items()},
        wall_seconds_per_step={k: round(v, 4) for k, v in med_wall.items()},
        wall_ratio=round(med_wall['stda'] / med_wall['source_only'], 3),
        all_steps={k: [round(x, 4) for x in v] for k, v in steps.items()},
        breakdown=dict(stda=breakdown(parts['stda'], med['stda'], True),
                       source_only=breakdown(parts['source_only'], med['source_only'], False)),
        settings=dict(config=os.path.relpath(args.config, REPO), baseline_config=os.path.relpath(
            args.baseline_config, REPO), batch_per_domain=args.batch, crop=args.crop, steps=args.steps,
                      warmup=args.warmup, threads=torch.get_num_threads(), device=args.device),
        machine=dict(platform=platform.platform(), processor=platform.processor(), cpus=os.cpu_count(),
                     torch=torch.__version__),
    )


def report(result: dict) -> None:
    s = result['settings']
    print(f"ST-DASegNet vs source-only train step — batch {s['batch_per_domain']} per domain, crop {s['crop']}², "
          f"{s['threads']} thread(s), {s['device']}, median of {s['steps']} steps, clock: {result['clock']}")
    for name, secs in result['seconds_per_step'].items():
        wall = result['wall_seconds_per_step'][name]
        print(f'  {name:12s} {secs * 1000:9.1f} ms/step   (wall {wall * 1000:.1f} ms)')
    print(f"  ratio        {result['ratio']:9.2f}×   (wall {result['wall_ratio']:.2f}×; floor ≈ 4×: four backbone "
          'passes; goal ≤ 4.5×)')
    if 'ratio_without_universal_block' in result:
        print(f"  ratio without the DDM universal block (ablation): {result['ratio_without_universal_block']:.2f}×")
    for name, parts in result['breakdown'].items():
        total = result['seconds_per_step'][name]
        print(f'\n  where the time goes: {name}')
        for label, secs in parts.items():
            print(f'    {label:52s} {secs * 1000:8.1f} ms  {100 * secs / total:5.1f} %')


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    result = measure(args)
    report(result)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, result)
    print('\n' + json.dumps(result))
    print(f'\nwritten to {out}')
    return 0


if __name__ == '__main__':
    from rsseg.utils.cli import run_cli
    run_cli(main)
