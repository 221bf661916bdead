"""Adaptation benchmark on real data: source-only, AdaptSegNet, DACS, ST-DASegNet and the target oracle, CPU-sized.

    .venv/bin/python bench/adaptation_table.py --settings dubai-tiles,s2-to-landsat7 --seeds 0,1,2

Protocol (every method, setting and seed alike):
- model: DeepLabV3+ (64 channels) on EfficientNet-Lite0 (random init; ``--init efficientnet-lite0`` starts from the
  packaged ImageNet weights), 128² crops, 4 source images per iteration (UDA: 4 source + 4 target), student learning
  rates ×3, each method's tiny config otherwise (its losses, optimizers, thresholds);
- budget: ``--iters`` iterations for everyone. Source-only and the oracle (source-only recipe on the target's training
  labels) train them all; every UDA method starts from the same seed's source-only checkpoint at ``--warm-iters`` and
  trains the rest (``tools/train.py --warm-start``);
- scoring: the *final* checkpoint on the target test split (held out by scene or area, never trained on with its labels,
  never used for selection), mmseg's mIoU; the target's training labels are loaded in UDA runs only to log pseudo-label
  accuracy (``seg.tgt.pseudo_acc_gt``), never for a loss.

Writes, per setting, ``OUT/adaptation_<setting>.json`` (keys in ``report()``), ``.md`` (table), ``.png`` (target test
images: ground truth, source-only, ST-DASegNet, oracle; seed 0) and ``_curves.png`` (r, pseudo-label loss and
accuracy during UDA training; seed 0). Runs live in ``--work-dir``; an interrupted benchmark resumes from the runs that
finished (each has ``result.json``).
"""
import argparse
import glob
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'bench'))  # when imported by the tests

from adaptation_settings import SETTINGS, SHARED, Setting, majority_class_miou  # noqa: E402

from rsseg.formats.files import write_json  # noqa: E402
from rsseg.utils.scalars import active_share, training_records  # noqa: E402

METHODS = {
    'source-only': 'configs/source_only/*tiny*.py',
    'adaptseg': 'configs/adaptseg/*tiny*.py',
    'dacs': 'configs/dacs/*tiny*.py',
    'stdaseg': 'configs/stdaseg/*tiny*.py',
    'oracle': 'configs/source_only/*tiny*.py',
}
# ST-DASegNet ablations (run on request: --methods stdaseg-no-st,...): the stdaseg config with one part switched off.
ABLATIONS = {
    'stdaseg-no-st': dict(pseudo_loss=dict(loss_weight=0.0)),  # adversarial terms + DDM, no self-training
    'stdaseg-no-adv': dict(gan_loss=dict(loss_weight=0.0)),  # self-training + DDM, no adversarial terms
    'stdaseg-no-ddm': dict(neck=dict(distinct_stages=(), universal_stages=())),  # DDM off: both students plain
}
# Optional losses with configs of their own (run on request: --methods source-only-mscl).
EXTRA = {'source-only-mscl': 'configs/mscl/*tiny*.py'}  # Pissas et al.'s multi-/cross-scale contrastive loss
CONFIGS = {**METHODS, **EXTRA}
ALL_METHODS = [*METHODS, *ABLATIONS, *EXTRA]
UDA = ('adaptseg', 'dacs', 'stdaseg', *ABLATIONS)
PSEUDO = ('dacs', 'stdaseg', 'stdaseg-no-adv', 'stdaseg-no-ddm', 'stdaseg-no-st')
# Backbone starts: random init, the packaged ImageNet weights, or DenseCL pretrained here on the setting's own
# unlabelled training chips (source and target train splits; tools/pretrain.py, --ssl-iters steps).
INITS = {'random': None, 'efficientnet-lite0': 'packaged://efficientnet-lite0', 'densecl': 'densecl'}
SSL_CONFIG = REPO / 'configs' / 'ssl' / 'densecl_efficientnet-lite0_1xb8-200i_dubai-demo-128x128.py'
ACTIVE_R = 0.05
# EfficientNet-Lite0 stages 1-4: 24, 40, 80, 112 channels at strides 4, 8, 16, 16. Stopping at stride 16 leaves
# ST-DASegNet's discriminators an 8×8 map of a 128² crop (the stride-32 stages give 4×4, too small for them).
OUT_INDICES = (1, 2, 3, 4)
STAGES = [24, 40, 80, 112]
# PyTorch's BatchNorm momentum (0.1), not TF's 0.01 of the ImageNet weights: with 0.01 the running statistics a
# 300-iteration run tests with still carry its first iterations' (random-init) activations.
BACKBONE_NORM = dict(type='BN', eps=1e-3, momentum=0.1)
# The tiny configs' student learning rates (SGD 0.01, decoders 0.02) × 3: at ×1 the target oracle of 300 iterations
# from random init barely learns (seed 0: 25.1 / 25.6 mIoU on dubai-tiles / s2-to-landsat7), at ×3 it does
# (44.8 / 37.8).
LR_SCALE = 3.0
# Source images per iteration for every method (UDA: as many target images besides). The tiny UDA configs' 2 + 2
# collapses every UDA method here (dubai-tiles seed 0: AdaptSegNet 6.1 mIoU at 2 + 2, 28.7 at 4 + 4, source-only
# 26.2): with 2 images, the BatchNorm of DeepLabV3+'s image-pooling branch normalises 2 values per channel.
BATCH = 4
ITERS, WARM_ITERS, SSL_ITERS, THREADS = 300, 150, 200, 1  # the defaults; other values get their own runs folder


def comma_list(choices: Sequence[str]):
    """argparse type: a comma-separated list of names from ``choices``."""
    def parse(text: str) -> List[str]:
        names = [t for t in text.split(',') if t]
        bad = [n for n in names if n not in choices]
        if bad or not names:
            raise argparse.ArgumentTypeError(f'unknown name(s) {", ".join(bad) or repr(text)}; choose from '
                                             f'{", ".join(choices)}')
        return names
    return parse


def seed_list(text: str) -> List[int]:
    """argparse type: comma-separated integer seeds."""
    try:
        return [int(t) for t in text.split(',') if t]
    except ValueError:
        raise argparse.ArgumentTypeError(f'seeds must be comma-separated integers, got {text!r}') from None


def run_env(threads: int) -> Dict[str, str]:
    """The runs' environment: ``threads`` CPU threads each. A CPU run's float sums depend on how many threads
    share them, and 300 iterations amplify that into a different model (source-only seed 0 on dubai-tiles: 26.2 mIoU
    with 2 threads, 15.0 with 1), so a re-run repeats a row only with the thread count it was made with."""
    return {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)}


def pretrain_densecl(setting: Setting, args: argparse.Namespace) -> dict:
    """DenseCL on the setting's source + target *train* chips (labels never read): the ``densecl`` start."""
    from mmengine.config import Config
    work = args.work_dir / setting.name / 'densecl' / ('pretrain' + threads_tag(args))
    if args.ssl_iters != SSL_ITERS:
        work = work.with_name(f'{work.name}_{args.ssl_iters}i')
    start = work / 'backbone.pth'
    record = work / 'pretraining.json'
    if not record.is_file():
        cfg = Config.fromfile(str(SSL_CONFIG))
        cfg.train_dataloader.dataset.update(manifests=[str(setting.source), str(setting.target)], split='train')
        cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
        cfg.model.backbone = dict(type='EfficientNetLite', out_indices=OUT_INDICES, norm_cfg=BACKBONE_NORM)
        cfg.train_cfg.max_iters = args.ssl_iters
        cfg.param_scheduler[0].update(T_max=args.ssl_iters, end=args.ssl_iters)
        cfg.default_hooks.checkpoint.interval = args.ssl_iters
        work.mkdir(parents=True, exist_ok=True)
        cfg.dump(str(work / 'config.py'))
        started = time.time()
        with open(work / 'run.log', 'a') as log:
            proc = subprocess.run([sys.executable, 'tools/pretrain.py', str(work / 'config.py'), '--work-dir',
                                   str(work)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                  env=run_env(args.threads))
        if proc.returncode:
            raise RuntimeError(f'DenseCL pretraining on {setting.name} failed: see {work / "run.log"}')
        write_json(record, dict(iterations=args.ssl_iters, seconds=round(time.time() - started, 1)))
    from rsseg.utils.checkpoint import safe_torch_load
    meta = safe_torch_load(str(start))['meta']
    return dict(checkpoint=str(start), mean=meta['mean'], std=meta['std'], **json.loads(record.read_text()))


def backbone_start(init: str, setting: Setting, args: argparse.Namespace) -> dict:
    """Checkpoint (None: random init) and the input mean/std it was trained with."""
    if init == 'densecl':
        return pretrain_densecl(setting, args)
    # the packaged weights' input scaling, kept for random init
    return dict(checkpoint=INITS[init], mean=[0.498] * 3, std=[0.502] * 3)


def efficientnet_lite(cfg, method: str, start: dict) -> None:
    """Swap the tiny configs' slim ResNet-18 for EfficientNet-Lite0 and size the heads, DDM and discriminators."""
    checkpoint = start['checkpoint']
    backbone = dict(type='EfficientNetLite', out_indices=OUT_INDICES, norm_cfg=BACKBONE_NORM,
                    init_cfg=checkpoint and dict(type='Pretrained', checkpoint=checkpoint))
    head = dict(in_channels=STAGES[-1], c1_in_channels=STAGES[0], channels=64, c1_channels=16)
    model = cfg.model
    pre = model.data_preprocessor
    for node in (pre.source, pre.target) if 'source' in pre else (pre, ):
        node.update(mean=list(start['mean']), std=list(start['std']))
    if method == 'stdaseg':
        model.backbone_s = dict(backbone)
        model.backbone_t = dict(backbone)
        model.neck.update(in_channels=STAGES)
        universal = max(STAGES[-1] // model.neck.get('reduction', 8), model.neck.get('min_channels', 8))
        universal *= bool(model.neck.get('universal_stages', (-1, )))  # DDM off: the decoders read the stage alone
        for key in ('decode_head_s', 'decode_head_t'):
            model[key].update(head, in_channels=STAGES[-1] + universal)
        for key in ('discriminator_s', 'discriminator_t'):
            model[key].update(in_channels=STAGES[-1], num_convs=1)  # 8×8 → 4 → 3 → 2
    else:
        model.backbone = backbone
        model.decode_head.update(head)
        if model.get('auxiliary_head'):  # source-only-mscl: the contrastive head reads the same stages, resized
            model.auxiliary_head.update(in_channels=[STAGES[i] for i in model.auxiliary_head.in_index])


SEGMENTOR_WRAPPERS = ('segmentor', 'backbone', 'decode_head')  # the student parts of the UDA optimizer configs


def scale_student_lr(cfg, factor: float) -> None:
    """Multiply the segmentation network's learning rates (every method's student wrappers, or the single
    optimizer of source-only and the oracle); the discriminators keep theirs."""
    wrappers = cfg.optim_wrapper
    if 'optimizer' in wrappers:
        wrappers.optimizer.lr *= factor
    for key in SEGMENTOR_WRAPPERS:
        if key in wrappers:
            wrappers[key].optimizer.lr *= factor


def continue_schedule(cfg, done: int, total: int) -> None:
    """Start the UDA phase's student learning rates where source-only's poly schedule is after ``done`` of
    ``total`` iterations (power 0.9), so warm start + UDA follow one schedule, like the source-only twin; the
    discriminators, trained from scratch, keep theirs."""
    scale_student_lr(cfg, (1 - done / total)**0.9)


def build_config(method: str, setting: Setting, seed: int, iters: int, start: dict, work: Path, save_every: int,
                 warm_iters: int = 0, lr_scale: float = 1.0):
    """The method's tiny config aimed at the setting, with the benchmark's model, schedule and logging."""
    from mmengine.config import Config

    from rsseg.utils.experiment import log_target_labels, retarget
    base = 'stdaseg' if method in ABLATIONS else method
    cfg = Config.fromfile(sorted(glob.glob(str(REPO / CONFIGS[base])))[0])
    retarget(cfg, source=setting.source, target=setting.target, num_classes=len(setting.classes), iters=iters,
             seed=seed, work_dir=work, val_split='test', oracle=method == 'oracle', val_interval=10 * iters)
    # Scored with the final checkpoint (no selection); source-only also keeps the UDA methods' warm start.
    cfg.default_hooks.checkpoint.update(interval=save_every, save_best=None)
    if method in ABLATIONS:
        cfg.merge_from_dict(dict(model=ABLATIONS[method]))
    efficientnet_lite(cfg, base, start)
    scale_student_lr(cfg, lr_scale)
    if method in UDA:
        continue_schedule(cfg, warm_iters, warm_iters + iters)
        log_target_labels(cfg)
        cfg.default_hooks.logger.interval = 1  # r of every iteration in scalars.json
    else:
        cfg.default_hooks.logger.interval = 25
    cfg.train_dataloader.update(batch_size=BATCH, num_workers=0, persistent_workers=False)
    return cfg


def r_active_share(records: List[dict]) -> Optional[float]:
    """Share of logged UDA iterations with the confident share r above ``ACTIVE_R``; None without r."""
    share = active_share(records, ACTIVE_R)
    return None if share is None else round(share, 3)


def threads_tag(args: argparse.Namespace) -> str:
    """``_t<N>`` for a thread count other than the default (its runs give other models), else nothing."""
    return f'_t{args.threads}' if args.threads != THREADS else ''


def recipe(args: argparse.Namespace) -> str:
    """The runs' folder name: the start, plus the schedule, learning rate, DenseCL steps and threads where they are
    not the defaults (each changes the models)."""
    tag = args.init
    if (args.iters, args.warm_iters) != (ITERS, WARM_ITERS):
        tag += f'_{args.iters}i-w{args.warm_iters}'
    if args.init == 'densecl' and args.ssl_iters != SSL_ITERS:
        tag += f'_ssl{args.ssl_iters}i'
    return tag + (f'_lr{args.lr_scale:g}x' if args.lr_scale != LR_SCALE else '') + threads_tag(args)


def run_one(method: str, setting: Setting, seed: int, args: argparse.Namespace, work_root: Path) -> dict:
    """Train and test one (setting, method, seed); returns its JSON record (cached in ``result.json``)."""
    runs = work_root / setting.name / recipe(args)
    work = runs / method / f'seed{seed}'
    result_file = work / 'result.json'
    if result_file.is_file():
        return json.loads(result_file.read_text())
    uda = method in UDA
    iters = args.iters - args.warm_iters if uda else args.iters
    work.mkdir(parents=True, exist_ok=True)
    config = work / 'config.py'
    save_every = math.gcd(args.warm_iters, iters) if method == 'source-only' else iters
    start = backbone_start(args.init, setting, args)
    build_config(method, setting, seed, iters, start, work, save_every, args.warm_iters,
                 args.lr_scale).dump(str(config))
    train = [sys.executable, 'tools/train.py', config, '--work-dir', work]
    if uda:
        warm = runs / 'source-only' / f'seed{seed}' / f'iter_{args.warm_iters}.pth'
        train += ['--warm-start', warm]
    test = [sys.executable, 'tools/test.py', config, work / f'iter_{iters}.pth', '--work-dir', work / 'test',
            '--out', work / 'pred']
    started = time.time()
    for cmd in (train, test):
        with open(work / 'run.log', 'a') as log:
            proc = subprocess.run([str(c) for c in cmd], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                  env=run_env(args.threads))
        if proc.returncode:
            raise RuntimeError(f'{method} on {setting.name} (seed {seed}) failed: see {work / "run.log"}')
    metrics = json.loads((work / 'test' / 'test_metrics.json').read_text())
    record = dict(method=method, seed=seed, miou=metrics['mIoU'],
                  class_iou={c: metrics.get(f'IoU.{c}') for c in setting.classes},
                  r_active_share=r_active_share(training_records(work)) if method in PSEUDO else None,
                  iterations=args.iters, seconds=round(time.time() - started, 1), init=args.init,
                  lr_scale=args.lr_scale, threads=args.threads,
                  warm_start=f'source-only seed {seed}, iteration {args.warm_iters}' if uda else None)
    result_file.write_text(json.dumps(record, indent=1))
    return record


def summary(runs: List[dict]) -> Dict[str, dict]:
    """Per method: mean and std of mIoU over seeds, and the mean r-active share."""
    out = {}
    for method in dict.fromkeys(r['method'] for r in runs):
        mine = [r for r in runs if r['method'] == method]
        mious = [r['miou'] for r in mine]
        shares = [r['r_active_share'] for r in mine if r['r_active_share'] is not None]
        out[method] = dict(mean=statistics.mean(mious), std=statistics.stdev(mious) if len(mious) > 1 else 0.0,
                           seeds=len(mine), r_active=statistics.mean(shares) if shares else None,
                           seconds=statistics.mean(r['seconds'] for r in mine), runs=mine)
    return out


def gap_closed(method: float, source_only: float, oracle: float) -> Optional[float]:
    """(method − source-only) / (oracle − source-only); None without a positive gap."""
    return (method - source_only) / (oracle - source_only) if oracle > source_only else None


def markdown(report: dict, classes: List[str]) -> str:
    """The setting's table, the criteria and the majority-class figure."""
    stats = summary(report['runs'])
    so, orc = stats.get('source-only', {}).get('mean'), stats.get('oracle', {}).get('mean')
    lines = [f"### {report['setting']} ({report['shift']})", '',
             f"Predicting the majority class everywhere: **{report['majority_class_miou']:.1f} mIoU**. "
             f"Start: {report['init']}; {report['iterations']} iterations per method "
             f"(UDA: warm start at {report['warm_iterations']}).", '',
             '| method | mIoU | gap closed | r > 0.05 (share of UDA iterations) | '
             + ' | '.join(classes) + ' | s/run |',
             '|' + '---|' * (len(classes) + 5)]
    for method, s in stats.items():
        gap = gap_closed(s['mean'], so, orc) if so is not None and orc is not None else None
        per_class = []
        for c in classes:
            values = [r['class_iou'].get(c) for r in s['runs']]
            values = [v for v in values if v is not None and v >= 0]
            per_class.append(f'{statistics.mean(values):.1f}' if values else '–')
        lines.append(f"| {method} | {s['mean']:.1f} ± {s['std']:.1f} (n={s['seeds']}) | "
                     f"{'–' if gap is None or method in ('source-only', 'oracle') else f'{100 * gap:.0f} %'} | "
                     f"{'–' if s['r_active'] is None else format(s['r_active'], '.2f')} | " + ' | '.join(per_class) +
                     f" | {s['seconds']:.0f} |")
    if so is not None and orc is not None:
        lines += ['', f"Criteria: oracle ≥ 2 × majority: {'yes' if orc >= 2 * report['majority_class_miou'] else 'NO'}"
                      f"; oracle − source-only = {orc - so:.1f} (≥ 10: {'yes' if orc - so >= 10 else 'NO'})."]
    return '\n'.join(lines) + '\n'


def machine() -> str:
    """The machine, in words."""
    return (f'{platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}, '
            f'Python {platform.python_version()}')


def commit() -> str:
    """The repository's HEAD (``+dirty`` with uncommitted changes)."""
    def git(*a: str) -> str:
        return subprocess.run(['git', *a], cwd=REPO, capture_output=True, text=True).stdout.strip()
    return git('rev-parse', 'HEAD') + ('+dirty' if git('status', '--porcelain', '--untracked-files=no') else '')


def write_report(setting: Setting, runs: List[dict], args: argparse.Namespace, majority: float,
                 command: str) -> dict:
    """Write ``adaptation_<setting>[_<init>].json`` and ``.md`` (complete or not at all)."""
    pretraining = backbone_start(args.init, setting, args) if args.init == 'densecl' else None
    report = dict(setting=setting.name, shift=setting.shift, target_manifest=str(setting.target),
                  pretraining=pretraining and dict(method='DenseCL', iterations=pretraining['iterations'],
                                                   seconds=pretraining['seconds']),
                  majority_class_miou=round(majority, 2),
                  command=command, machine=machine(), commit=commit(), init=args.init, iterations=args.iters,
                  warm_iterations=args.warm_iters, lr_scale=args.lr_scale, threads=args.threads,
                  classes=setting.classes, runs=runs)
    tag = recipe(args)
    stem = args.out / (f'adaptation_{setting.name}' + ('' if tag == 'random' else f'_{tag}'))
    write_json(stem.with_suffix('.json'), report)
    stem.with_suffix('.md').write_text(markdown(report, setting.classes))
    return report


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--settings', type=comma_list(list(SETTINGS)), default=list(SETTINGS),
                        help=f'comma-separated settings ({", ".join(SETTINGS)}; default all)')
    parser.add_argument('--seeds', type=seed_list, default=[0, 1, 2], help='comma-separated seeds (default 0,1,2)')
    parser.add_argument('--methods', type=comma_list(ALL_METHODS), default=list(METHODS),
                        help=f'comma-separated methods ({", ".join(ALL_METHODS)}; default: all but the ablations)')
    parser.add_argument('--init', choices=list(INITS), default='random', help='backbone start (default random)')
    parser.add_argument('--ssl-iters', type=int, default=SSL_ITERS,
                        help=f'DenseCL pretraining steps of --init densecl (default {SSL_ITERS})')
    parser.add_argument('--iters', type=int, default=ITERS, help=f'iterations per method (default {ITERS})')
    parser.add_argument('--warm-iters', type=int, default=WARM_ITERS,
                        help=f'source-only iterations UDA methods start from (default {WARM_ITERS})')
    parser.add_argument('--lr-scale', type=float, default=LR_SCALE,
                        help="factor on every method's segmentation-network learning rates over their tiny "
                             f"configs' (default {LR_SCALE:g})")
    parser.add_argument('--threads', type=int, default=THREADS,
                        help='CPU threads per run (default 1; results repeat only at the same count)')
    parser.add_argument('--out', type=Path, default=REPO / 'bench' / 'results', help='results folder')
    parser.add_argument('--work-dir', type=Path, default=REPO / 'work_dirs' / 'adaptation', help='runs folder')
    args = parser.parse_args(argv)
    if not 0 < args.warm_iters < args.iters:
        parser.error(f'--warm-iters must be between 0 and --iters ({args.iters}), got {args.warm_iters}')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if not SHARED.is_dir():
        raise FileNotFoundError(f'real data folder {SHARED} (../shared/data) is absent')
    if args.init == 'efficientnet-lite0':
        from rsseg.utils.packaged_weights import packaged_checkpoint
        packaged_checkpoint(INITS[args.init])  # an absent weights package stops here, with the install command
    methods = list(args.methods)
    if any(m in UDA for m in methods) and 'source-only' not in methods:
        methods.insert(0, 'source-only')  # the UDA methods' warm start
    methods.sort(key=ALL_METHODS.index)
    args.out.mkdir(parents=True, exist_ok=True)
    command = shlex.join(['.venv/bin/python', 'bench/adaptation_table.py', *argv])
    settings = {name: SETTINGS[name](args.work_dir / 'prepared') for name in args.settings}
    majority = {name: majority_class_miou(s.target, 'test', len(s.classes)) for name, s in settings.items()}
    from adaptation_figures import draw_figures
    started = time.time()
    for done, seed in enumerate(args.seeds, 1):  # seeds outermost: complete tables after every seed
        for name, setting in settings.items():
            for method in methods:
                print(f'[{time.time() - started:6.0f} s] {name}: {method}, seed {seed}', flush=True)
                run_one(method, setting, seed, args, args.work_dir)
        for name, setting in settings.items():
            runs = [run_one(m, setting, s, args, args.work_dir) for s in args.seeds[:done] for m in methods]
            report = write_report(setting, runs, args, majority[name], command)
            print(markdown(report, setting.classes), flush=True)
            if args.init == 'random':
                draw_figures(report, args.work_dir / name / recipe(args), args.out)
    return 0


if __name__ == '__main__':
    from rsseg.utils.cli import run_cli
    run_cli(main)
