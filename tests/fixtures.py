"""Helpers the tests share: small GeoTIFFs, a tiny segmentation model, and the in-memory versions of what the
library does on files (a whole-array COG, a whole-image prediction).

The model of :func:`write_tiny_model` is an mmseg ``EncoderDecoder``: a one-stage ``UNet`` (one 3x3 conv, no
downsampling) and an ``FCNHead`` reduced to its 1x1 classifier, so its receptive field is 3x3 px and any window
containing a pixel with a 1 px margin sees exactly what the whole image shows there. Weights are random (seeded) but
scaled up so that class probabilities are far from uniform.
"""
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.transform import from_origin

from tests.conftest import REPO

REPO_MODEL = REPO / 'configs' / '_base_' / 'models' / 'deeplabv3plus_r18-tiny.py'
PALETTE = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180]]
UTM = 'EPSG:32632'
ORIGIN = (500000.0, 5000000.0)


# ----------------------------------------------------------------------------------------------- rasters
def write_raster(path: Path, data: np.ndarray, crs: Optional[str] = UTM, transform: Optional[Affine] = None,
                 nodata=None, colormap: Optional[Dict[int, Tuple[int, ...]]] = None,
                 mask: Optional[np.ndarray] = None, driver: str = 'GTiff', **profile) -> Path:
    """Write a (C, H, W) array; default transform: 0.5 m pixels at a UTM 32N origin."""
    count, height, width = data.shape
    if transform is None and crs is not None:
        transform = from_origin(*ORIGIN, 0.5, 0.5)
    kwargs = dict(driver=driver, width=width, height=height, count=count, dtype=data.dtype.name, **profile)
    if crs is not None:
        kwargs.update(crs=crs, transform=transform)
    if nodata is not None:
        kwargs['nodata'] = nodata
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(path, 'w', **kwargs) as dst:
            dst.write(data)
            if colormap is not None:
                dst.write_colormap(1, colormap)
            if mask is not None:
                dst.write_mask(mask.astype(np.uint8) * 255)
    return Path(path)


def smooth_image(count: int, height: int, width: int, seed: int = 0, dtype: str = 'uint8',
                 high: float = 255) -> np.ndarray:
    """Spatially smooth random bands (sums of random sinusoids plus a little noise) so classes form regions."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    bands = []
    for _ in range(count):
        band = np.zeros((height, width), np.float32)
        for _ in range(4):
            fy, fx, phase = rng.uniform(0.01, 0.08), rng.uniform(0.01, 0.08), rng.uniform(0, 6.3)
            band += np.sin(fy * yy + fx * xx + phase)
        band += rng.normal(0, 0.3, (height, width))
        band = (band - band.min()) / (band.max() - band.min())
        bands.append(band)
    img = np.stack(bands) * (high - 2) + 1
    return img.astype(dtype)


def write_scene(path: Path, width: int = 160, height: int = 120, count: int = 3, dtype: str = 'uint8',
                crs: Optional[str] = 'EPSG:32632', pixel: float = 1.0, nodata: Optional[float] = 0,
                nodata_box: Optional[Tuple[int, int, int, int]] = (0, 0, 20, 30), seed: int = 0,
                origin: Tuple[float, float] = ORIGIN, high: float = 255, **profile: object) -> Path:
    """A georeferenced scene of :func:`smooth_image` bands; ``nodata_box`` = ``(row, col, h, w)`` filled with
    ``nodata`` in every band."""
    data = smooth_image(count, height, width, seed, dtype, high)
    if nodata is not None and nodata_box is not None:
        r, c, h, w = nodata_box
        data[:, r:r + h, c:c + w] = nodata
    kwargs: Dict[str, object] = dict(driver='GTiff', width=width, height=height, count=count, dtype=dtype,
                                     nodata=nodata, **profile)
    if crs is not None:
        kwargs.update(crs=crs, transform=from_origin(origin[0], origin[1], pixel, pixel))
    with rasterio.open(path, 'w', **kwargs) as dst:
        dst.write(data)
    return path


def write_cog(path: Path, data: np.ndarray, *, crs: object = None, transform: object = None,
              nodata: Optional[float] = 255, **kwargs: Any) -> Path:
    """Write a whole (H, W) or (C, H, W) array as a COG through :class:`~rsseg.geo.cog.CogWriter` (keyword arguments
    as it takes them), the way the scene predictor streams its rows."""
    from rsseg.geo.cog import CogWriter
    data = data[None] if data.ndim == 2 else data
    with CogWriter(path, data.shape[2], data.shape[1], count=data.shape[0], dtype=data.dtype.name, crs=crs,
                   transform=transform, nodata=nodata, **kwargs) as writer:
        writer.write_rows(0, data)
    return Path(path)


# ----------------------------------------------------------------------------------------------- tiny model
def tiny_model_cfg(num_classes: int = 4, in_channels: int = 3, base_channels: int = 8) -> dict:
    """EncoderDecoder config with a 3x3 receptive field."""
    norm_cfg = dict(type='BN')
    return dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0.5] * in_channels, std=[0.25] * in_channels,
                               bgr_to_rgb=False, pad_val=0, seg_pad_val=255),
        backbone=dict(type='UNet', in_channels=in_channels, base_channels=base_channels, num_stages=1, strides=(1,),
                      enc_num_convs=(1,), dec_num_convs=(), downsamples=(), enc_dilations=(1,), dec_dilations=(),
                      norm_cfg=norm_cfg),
        decode_head=dict(type='FCNHead', in_channels=base_channels, channels=base_channels, num_convs=0,
                         concat_input=False, in_index=-1, num_classes=num_classes, norm_cfg=norm_cfg,
                         loss_decode=dict(type='CrossEntropyLoss')),
        train_cfg=dict(), test_cfg=dict(mode='whole'))


def write_config(path: Path, model: dict, **extra: object) -> Path:
    """Write an rsseg-style config file holding ``model`` and ``extra`` top-level keys."""
    lines = ["custom_imports = dict(imports=['rsseg.plugin'], allow_failed_imports=False)", "default_scope = 'mmseg'",
             f'model = {model!r}']
    lines += [f'{key} = {value!r}' for key, value in extra.items()]
    path.write_text('\n'.join(lines) + '\n')
    return path


def write_tiny_model(folder: Path, name: str = 'tiny', num_classes: int = 4, in_channels: int = 3,
                     base_channels: int = 8, seed: int = 0, model: Optional[dict] = None,
                     classes: Optional[Sequence[str]] = None, **extra: object) -> Tuple[Path, Path]:
    """Config file + runner-format checkpoint (random weights) of the tiny model; returns ``(config, checkpoint)``."""
    import torch
    from mmengine.runner.checkpoint import save_checkpoint
    from mmseg.apis import init_model

    import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
    folder.mkdir(parents=True, exist_ok=True)
    model = model or tiny_model_cfg(num_classes, in_channels, base_channels)
    config = write_config(folder / f'{name}.py', model, **extra)
    torch.manual_seed(seed)
    net = init_model(str(config), None, device='cpu')
    with torch.no_grad():
        for key, param in net.named_parameters():
            param.normal_(0.0, 1.0 if 'conv_seg' in key else 0.6)
    classes = list(classes or [f'c{i}' for i in range(num_classes)])
    meta = dict(dataset_meta=dict(classes=classes, palette=PALETTE[:num_classes]), iter=1)
    checkpoint = folder / f'{name}.pth'
    save_checkpoint(dict(meta=meta, state_dict=net.state_dict()), str(checkpoint))
    return config, checkpoint


def predict_array(predictor: Any, image: np.ndarray, valid: Optional[np.ndarray] = None,
                  stats: Any = None) -> Tuple[np.ndarray, np.ndarray]:
    """What a :class:`~rsseg.apis.ScenePredictor` predicts for an in-memory (C, H, W) image in the scene's raw dtype
    (bands in the model's order), with the windows, batches and blending it uses on files.

    Args:
        predictor: The scene predictor.
        image: Raw image.
        valid: (H, W) validity; all valid when None.
        stats: Normalisation (:class:`~rsseg.geo.normalization.NormStats`); the recorded statistics (or 8-bit
            scaling) when None.

    Returns:
        ``(classes (H, W) uint8 with nodata where invalid, confidence (H, W) float32)``.
    """
    from rsseg.geo.normalization import default_stats
    _, height, width = image.shape
    valid = np.ones((height, width), bool) if valid is None else valid
    stats = stats or predictor.settings.norm_stats or default_stats(image.dtype, image.shape[0])
    classes = np.full((height, width), predictor.settings.ignore_index, np.uint8)
    conf = np.zeros((height, width), np.float32)

    def read(row: int, col: int, h: int, w: int) -> Tuple[np.ndarray, np.ndarray]:
        return image[:, row:row + h, col:col + w], valid[row:row + h, col:col + w]

    def sink(row: int, cls: np.ndarray, cf: np.ndarray) -> None:
        classes[row:row + cls.shape[0]], conf[row:row + cls.shape[0]] = cls, cf

    predictor._run(lambda: nullcontext(read), height, width, stats, sink)  # the predictor's row engine
    return classes, conf


# ----------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def single_thread():
    """One intra-op thread per test: on the shared 2-core CI machine OpenMP busy-waiting makes 2 threads ~10× slower.
    Applies where it is imported (a conftest: its folder; a test module: that module)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
