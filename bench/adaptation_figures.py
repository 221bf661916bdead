"""Pictures of an adaptation-benchmark setting: target test chips with ground truth and three methods' maps, and the
UDA training curves (confident share r, pseudo-label loss, pseudo-label accuracy against the target's labels)."""
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

PICTURE_METHODS = ('source-only', 'stdaseg', 'oracle')
CURVE_METHODS = ('dacs', 'stdaseg')
PSEUDO_LOSS_KEYS = {'dacs': ('seg.mix.decode.loss_pseudo', ),
                    'stdaseg': ('seg.tgt.decode_s.loss_pseudo', 'seg.tgt.decode_t.loss_pseudo')}


def stretch(image: np.ndarray) -> np.ndarray:
    """(C, H, W) bands → (H, W, 3) uint8, 2–98 % percentile stretch over the valid (non-zero) pixels."""
    rgb = image[:3].transpose(1, 2, 0).astype(np.float32)
    valid = rgb.any(axis=-1)
    low, high = np.percentile(rgb[valid], (2, 98)) if valid.any() else (0.0, 1.0)
    return (np.clip((rgb - low) / max(high - low, 1e-6), 0, 1) * 255).astype(np.uint8)


def colourise(labels: np.ndarray, palette: List[List[int]]) -> np.ndarray:
    """Class indices → RGB; ignored / unknown values black."""
    lut = np.zeros((256, 3), np.uint8)
    lut[:len(palette)] = np.asarray(palette, np.uint8)
    return lut[labels]


def test_chips(manifest: Path, limit: int) -> List[Tuple[str, np.ndarray, np.ndarray]]:
    """``(stem, image, labels)`` of the ``limit`` test chips showing the most classes (then by name)."""
    import warnings

    import rasterio

    from rsseg.formats.manifest import Manifest, manifest_path
    chips = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', rasterio.errors.NotGeoreferencedWarning)
        for chip in Manifest.load(manifest).select('test'):
            with rasterio.open(manifest_path(manifest, chip.img)) as img, \
                    rasterio.open(manifest_path(manifest, chip.ann)) as ann:
                chips.append((Path(chip.img).stem, img.read(), ann.read(1)))
    return sorted(chips, key=lambda c: (-len(np.unique(c[2][c[2] != 255])), c[0]))[:limit]


def draw_predictions(report: dict, runs: Path, out: Path, limit: int = 4) -> None:
    """``adaptation_<setting>.png``: rows = test chips; columns = image, ground truth, source-only, ST-DASegNet,
    oracle (seed 0 of each; methods that did not run are left out)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from PIL import Image

    from rsseg.formats.files import atomic_output
    from rsseg.formats.manifest import Manifest
    methods = [m for m in PICTURE_METHODS if (runs / m / 'seed0' / 'pred').is_dir()]
    chips = test_chips(Path(report['target_manifest']), limit)
    palette = Manifest.load(report['target_manifest']).palette
    columns = ['image', 'ground truth', *methods]
    fig, axes = plt.subplots(len(chips), len(columns), figsize=(2.4 * len(columns), 2.4 * len(chips)), squeeze=False)
    for row, (stem, image, labels) in enumerate(chips):
        panels = [stretch(image), colourise(labels, palette)]
        panels += [colourise(np.asarray(Image.open(runs / m / 'seed0' / 'pred' / f'{stem}.png')), palette)
                   for m in methods]
        for col, panel in enumerate(panels):
            ax = axes[row][col]
            ax.imshow(panel, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(columns[col], fontsize=9)
    handles = [matplotlib.patches.Patch(color=np.asarray(c) / 255, label=n) for n, c in zip(report['classes'], palette)]
    fig.legend(handles=handles, loc='lower center', ncol=len(handles), fontsize=8)
    fig.suptitle(f"{report['setting']}: target test chips (seed 0, final checkpoints)", fontsize=10)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    with atomic_output(out / f"adaptation_{report['setting']}.png") as tmp:
        fig.savefig(tmp, format='png', dpi=90)
    plt.close(fig)


def curves(runs: Path, method: str, offset: int) -> Dict[str, Tuple[List[int], List[float]]]:
    """r, pseudo-label loss and pseudo-label accuracy per iteration of a UDA run (seed 0), on the budget's axis."""
    from rsseg.utils.scalars import PSEUDO_RATIO, training_records
    records = [r for r in training_records(runs / method / 'seed0') if PSEUDO_RATIO in r]
    it = [r['iter'] + offset for r in records]
    loss = [sum(r.get(k, 0.0) for k in PSEUDO_LOSS_KEYS[method]) for r in records]
    return {'confident share r': (it, [r[PSEUDO_RATIO] for r in records]),
            'pseudo-label loss': (it, loss),
            'pseudo-label accuracy vs target labels (%)': (it, [r.get('seg.tgt.pseudo_acc_gt', np.nan)
                                                               for r in records])}


def draw_curves(report: dict, runs: Path, out: Path) -> None:
    """``adaptation_<setting>_curves.png``: three panels, one line per self-training method (seed 0)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from rsseg.formats.files import atomic_output
    methods = [m for m in CURVE_METHODS if (runs / m / 'seed0' / 'result.json').is_file()]
    if not methods:
        return
    series = {m: curves(runs, m, report['warm_iterations']) for m in methods}
    names = list(next(iter(series.values())))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.2))
    for ax, name in zip(axes, names):
        for method in methods:
            ax.plot(*series[method][name], label=method, linewidth=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel('iteration (of the whole budget)')
    axes[0].axhline(0.05, color='grey', linestyle=':', linewidth=1)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{report['setting']}: self-training during UDA (seed 0; warm start at "
                 f"{report['warm_iterations']})", fontsize=10)
    fig.tight_layout()
    with atomic_output(out / f"adaptation_{report['setting']}_curves.png") as tmp:
        fig.savefig(tmp, format='png', dpi=90)
    plt.close(fig)


def draw_figures(report: dict, runs: Path, out: Path) -> None:
    """Both pictures of one setting."""
    draw_predictions(report, runs, out)
    draw_curves(report, runs, out)
