"""A scene's PNG quick look: the image (first three model bands, or one grey band), the class overlay and a legend."""
from pathlib import Path
from typing import Sequence

import numpy as np

from rsseg.formats.files import atomic_output
from rsseg.geo.normalization import NormStats
from rsseg.geo.working_grid import SceneHeader, read_decimated

from ..infer_settings import InferSettings


def write_preview(info: SceneHeader, bands: Sequence[int], stats: NormStats, class_map: Path, out: Path,
                  settings: InferSettings, config_name: str, max_size: int = 1024) -> Path:
    """PNG quick look of a scene and its class map, at most ``max_size`` px on its longer side."""
    scale = min(1.0, max_size / max(info.width, info.height))
    shape = (max(1, round(info.height * scale)), max(1, round(info.width * scale)))
    data, valid = read_decimated(info.path, bands, shape, 'average')
    classes, _ = read_decimated(class_map, [1], shape, 'nearest')
    rgb = _display_rgb(stats.apply(data), valid)
    render_preview(rgb, classes[0], settings.classes, settings.palette, settings.ignore_index,
                   out, title=f'{info.path.name} - {config_name}')
    return out


def _display_rgb(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(C, h, w) in [0, 1] → (h, w, 3) with a 2-98 % stretch over valid pixels."""
    rgb = img[:3] if img.shape[0] >= 3 else np.repeat(img[:1], 3, axis=0)
    rgb = np.moveaxis(rgb, 0, -1).astype(np.float32)
    if valid.any():
        low, high = np.percentile(rgb[valid], [2, 98])
        rgb = np.clip((rgb - low) / max(high - low, 1e-6), 0, 1)
    rgb[~valid] = 1.0
    return rgb


def render_preview(rgb: np.ndarray, classes: np.ndarray, names: Sequence[str], palette: Sequence[Sequence[int]],
                   nodata: int, out: Path, title: str = '', alpha: float = 0.45) -> None:
    """Draw image | image with class overlay, plus a legend, and save a PNG atomically."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch
    lut = np.zeros((256, 3), np.float32)
    lut[:len(palette)] = np.asarray(palette, np.float32) / 255
    overlay = rgb.copy()
    labelled = classes != nodata
    overlay[labelled] = (1 - alpha) * rgb[labelled] + alpha * lut[classes[labelled]]
    aspect = rgb.shape[1] / rgb.shape[0]
    fig, axes = plt.subplots(1, 2, figsize=(min(16, 2 * 5 * aspect + 2), 5.6), dpi=100)
    for ax, img, sub in zip(axes, (rgb, overlay), ('image', 'classes')):
        ax.imshow(img, interpolation='nearest')
        ax.set_title(sub)
        ax.axis('off')
    present = set(np.unique(classes[labelled]).tolist())
    handles = [Patch(color=lut[i], label=n + ('' if i in present else ' (absent)')) for i, n in enumerate(names)]
    fig.legend(handles=handles, loc='lower center', ncol=min(len(names), 6), frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    try:
        with atomic_output(out) as tmp:
            fig.savefig(tmp)
    finally:
        plt.close(fig)
