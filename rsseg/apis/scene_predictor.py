"""Map whole scenes with a trained rsseg / mmseg model: seamless, memory-bounded, georeferenced COG output.

A scene is read window by window on the working grid (the scene's own grid, or a ``WarpedVRT`` at the model's
training GSD), windows are batched through the model, and their softmax probabilities are blended with Hann (or
pyramid) weights in a :class:`~rsseg.geo.blend.BlendAccumulator` that holds only the cells a pending window can still
touch (about the overlap band of one window row), so memory does not grow with the scene's height. Finished rows go
straight into a :class:`~rsseg.geo.cog.CogWriter`. Reading (a background thread), the model (the calling
thread) and writing (another background thread) overlap.

Example::

    from rsseg.apis import ScenePredictor
    predictor = ScenePredictor('configs/....py', 'work_dirs/.../iter_4000.pth', device='cuda:0')
    predictor.predict_scene('scenes/area_12.tif', 'maps/')   # maps/area_12.tif (+ .tif.aux.xml, .qml, ...)
"""
import hashlib
import json
import os
import queue
import re
import threading
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger, print_log

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.apis.runner import load_config
from rsseg.formats.errors import GeoError
from rsseg.formats.files import OutputLock, PathLike, atomic_output, file_sha256, remove_stale_temps, temp_path
from rsseg.geo.blend import BLEND_MODES, BlendAccumulator, border_flags, window_weights
from rsseg.geo.class_styles import (
    class_colormap,
    class_sidecars,
    discard_class_sidecars,
    read_category_names,
    write_class_sidecars,
)
from rsseg.geo.cog import CogWriter, is_complete, read_tags
from rsseg.geo.normalization import NormStats, default_stats
from rsseg.geo.scenes import SCENE_SUFFIXES, check_unique_names, expand_inputs
from rsseg.geo.tiling import spread_starts
from rsseg.geo.working_grid import (
    SceneHeader,
    gdal_cache,
    grid_factor,
    grid_transform,
    inspect_scene,
    open_window_reader,
    read_decimated,
    warp_to_scene,
    working_shape,
)
from rsseg.utils.checkpoint import check_state_dict
from rsseg.version import __version__

from .infer_settings import resolve_settings

LOGGER_NAME = 'rsseg'
ReadFn = Callable[[int, int, int, int], Tuple[np.ndarray, np.ndarray]]
RowSink = Callable[[int, np.ndarray, np.ndarray], None]


def get_logger() -> MMLogger:
    """The ``rsseg`` logger (tools/infer.py configures it first, e.g. to show every rank's lines)."""
    if MMLogger.check_instance_created(LOGGER_NAME):
        return MMLogger.get_instance(LOGGER_NAME)
    return MMLogger.get_instance(LOGGER_NAME, log_level='INFO')


@dataclass
class SceneResult:
    """Outcome of one scene.

    Attributes:
        scene: Input path.
        output: Class-map path.
        status: ``'done'``, ``'skipped'`` (complete output found) or ``'failed'``.
        seconds: Wall time.
        megapixels: Scene size in megapixels.
        stats: Timings and counters (``forward_s``, ``windows``, ``skipped_windows``...).
        error: The error message of a failed scene.
    """

    scene: Path
    output: Path
    status: str
    seconds: float = 0.0
    megapixels: float = 0.0
    stats: Dict[str, float] = field(default_factory=dict)
    error: str = ''


# ---------------------------------------------------------------------------------------------------- model loading
def load_model(config: Union[PathLike, Config], checkpoint: PathLike,
               device: str = 'cpu') -> Tuple[torch.nn.Module, Config, dict]:
    """Build the segmentor with mmseg's ``init_model`` and load ``checkpoint`` after checking it matches.

    The checkpoint goes through mmengine's loader, which rsseg routes through torch's ``weights_only`` unpickler.

    Returns:
        ``(model in eval mode on device, config, checkpoint meta)``.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    from mmseg.apis import init_model
    if not isinstance(config, Config):
        config = load_config(str(config))
    if not Path(checkpoint).is_file():
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    model = init_model(config, None, device='cpu')
    ckpt = _load_checkpoint(str(checkpoint), map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    check_state_dict(model, state, str(checkpoint), str(getattr(config, 'filename', None) or 'given'))
    model.load_state_dict(state, strict=True)
    meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
    model.dataset_meta = meta.get('dataset_meta')
    return model.to(device).eval(), config, meta


def model_in_channels(model: torch.nn.Module) -> Optional[int]:
    """Input channels of the model's first convolution (its stem), or None when it has none."""
    root = getattr(model, 'backbone', None) or getattr(model, 'backbone_s', None) or model
    conv = next((m for m in root.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)), None)
    if conv is not None:
        return int(conv.in_channels)
    mean = getattr(model.data_preprocessor, 'mean', None)
    return int(mean.numel()) if mean is not None else None


def model_num_classes(model: torch.nn.Module) -> int:
    """Number of classes the segmentor predicts."""
    head = getattr(model, 'decode_head', None) or getattr(model, 'decode_head_t', None)
    num = getattr(model, 'num_classes', None) or getattr(head, 'num_classes', None)
    if num is None:
        raise ValueError('cannot tell how many classes the model predicts (no num_classes on it or its decode head)')
    return int(num)


def default_window(cfg: Config) -> Tuple[int, Optional[float]]:
    """Window size and overlap from the config's slide ``test_cfg`` (else 512 px and None)."""
    test_cfg = cfg.model.get('test_cfg') or {}
    if test_cfg.get('mode') == 'slide' and test_cfg.get('crop_size'):
        crop = test_cfg['crop_size']
        crop = int(crop[0] if isinstance(crop, (list, tuple)) else crop)
        stride = test_cfg.get('stride')
        stride = int(stride[0] if isinstance(stride, (list, tuple)) else stride) if stride else None
        return crop, (1.0 - stride / crop) if stride else None
    return 512, None


# ---------------------------------------------------------------------------------------------------- scene lists
def collect_scenes(inputs: Sequence[PathLike]) -> List[Path]:
    """Scenes to predict: :func:`~rsseg.geo.scenes.expand_inputs` (a folder gives its scene rasters), named uniquely.

    Raises:
        FileNotFoundError: An input that matches nothing.
        ValueError: No scenes at all, a folder without scenes, or two scenes with the same name (their outputs would
            collide).
    """
    scenes = expand_inputs(inputs, 'scene', SCENE_SUFFIXES)
    if not scenes:
        raise ValueError('no scenes to predict')
    check_unique_names(scenes, 'scene')
    return [Path(p) for p in scenes]


def scene_error(scene: PathLike, exc: BaseException) -> str:
    """``exc``'s message naming ``scene`` once: most errors already start with the path, so it is not prefixed twice."""
    text = str(exc) or type(exc).__name__
    return text if str(scene) in text or Path(scene).name in text else f'{scene}: {text}'


def _libc_trim() -> Callable[[], None]:
    """``malloc_trim(0)`` of glibc (a no-op elsewhere): hand freed heap pages back to the system.

    Each batch allocates and frees tens of MB of tensors and arrays; glibc raises its mmap threshold after such frees
    and then serves them from the heap, whose free pages it keeps. Over thousands of windows that fragmentation, not
    live data, grows the resident size with the scene; trimming once per finished row band keeps it flat.
    """
    try:
        import ctypes
        trim = ctypes.CDLL('libc.so.6').malloc_trim
        return lambda: trim(0) and None
    except (OSError, AttributeError):
        return lambda: None


release_free_memory = _libc_trim()


# ---------------------------------------------------------------------------------------------------- threads
class _Producer:
    """Runs a generator in a background thread and hands its items over through a bounded queue."""

    _DONE = object()

    def __init__(self, gen_fn: Callable[[], Iterator[Any]], maxsize: int = 2) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, args=(gen_fn,), daemon=True, name='rsseg-reader')
        self._thread.start()

    def _run(self, gen_fn: Callable[[], Iterator[Any]]) -> None:
        try:
            for item in gen_fn():
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001  (handed to the consumer)
            self._error = exc
        self._put(self._DONE)

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Any]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                if self._error is not None:
                    raise self._error
                return
            yield item

    def close(self) -> None:
        """Stop the producer (if still running) and wait for its thread, which closes its file handles."""
        self._stop.set()
        self._thread.join()


class _Consumer:
    """Runs submitted calls in order in one background thread (the writer); the first error is re-raised."""

    def __init__(self, maxsize: int = 2) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True, name='rsseg-writer')
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._error is None:
                try:
                    job[0](*job[1])
                except BaseException as exc:  # noqa: BLE001  (re-raised in the caller's thread)
                    self._error = exc

    def submit(self, fn: Callable, *args: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((fn, args))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


# ---------------------------------------------------------------------------------------------------- predictor
class ScenePredictor:
    """Sliding-window, blended, memory-bounded prediction of whole scenes.

    Args:
        config: Config file (or loaded Config) of the model.
        checkpoint: Checkpoint file (mmengine format).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
        window: Window size in pixels (default: the config's slide ``crop_size``, else 512).
        overlap: Share of a window overlapping its neighbour, in ``[0, 0.9]`` (default: from the config's slide
            stride, else 0.25).
        batch_size: Windows per model call.
        blend: ``'hann'`` (default), ``'pyramid'`` or ``'uniform'`` (mmseg's plain average; shows seams).
        amp: Mixed precision (float16 autocast) on CUDA; ignored on CPU.
        native_gsd: Predict on each scene's own grid even if the model records a training GSD.
        allow_no_crs: Accept scenes without CRS (their outputs carry none either).
        bands: 1-based scene bands to feed the model, overriding the recorded ones.
        max_resample: Largest accepted resampling factor between scene pixels and the training GSD.
        compress: Output compression, ``'deflate'`` or ``'zstd'``.
        prefetch: Batches read ahead by the reader thread.
        cache_mb: GDAL block cache while a scene is processed (default: about two window rows of the scene, 32 MiB to
            512 MiB). Memory knobs: blending holds about ``4 x classes x overlap px x width`` bytes, the model's
            activations grow with ``batch_size x window^2``, reading holds ``prefetch`` batches and this cache.
        progress: Show a tqdm bar over each scene's windows.
    """

    def __init__(self, config: Union[PathLike, Config], checkpoint: PathLike, device: str = 'cpu', *,
                 window: Optional[int] = None, overlap: Optional[float] = None, batch_size: int = 4,
                 blend: str = 'hann', amp: bool = False, native_gsd: bool = False,
                 allow_no_crs: bool = False, bands: Optional[Sequence[int]] = None, max_resample: float = 8.0,
                 compress: str = 'deflate', prefetch: int = 2, cache_mb: Optional[int] = None,
                 progress: bool = True) -> None:
        self.model, self.cfg, meta = load_model(config, checkpoint, device)
        self.device = torch.device(device)
        self.config_name, self.checkpoint_name = Path(str(self.cfg.filename or 'config')).name, Path(checkpoint).name
        self.checkpoint_digest = file_sha256(checkpoint)[:16]
        cfg_path = Path(self.cfg.filename) if self.cfg.filename else None
        self.num_classes = model_num_classes(self.model)
        self.settings = resolve_settings(self.cfg, cfg_path, meta).complete(
            self.num_classes, getattr(self.model, 'dataset_meta', None))
        self.in_channels = model_in_channels(self.model)
        default_win, default_overlap = default_window(self.cfg)
        self.window = int(default_win if window is None else window)  # 0 is refused below, not the default
        self.overlap = float(default_overlap if overlap is None and default_overlap is not None else
                             (0.25 if overlap is None else overlap))
        self._check_options(batch_size, prefetch, blend)
        self.batch_size, self.blend = int(batch_size), blend
        self.stride = max(1, int(round(self.window * (1 - self.overlap))))
        self.amp = bool(amp) and self.device.type == 'cuda'
        if amp and not self.amp:
            print_log('--amp has no effect on CPU; running in float32', logger=get_logger())
        self.native_gsd, self.allow_no_crs, self.max_resample = native_gsd, allow_no_crs, float(max_resample)
        self.bands_override = [int(b) for b in bands] if bands else None
        self.compress, self.prefetch, self.progress = compress, int(prefetch), progress
        self.cache_mb = cache_mb

    def _check_options(self, batch_size: int, prefetch: int, blend: str) -> None:
        """Refuse nonsensical settings early, naming the option."""
        if self.window < 8:
            raise ValueError(f'window {self.window} is too small (at least 8 px)')
        if not 0.0 <= self.overlap <= 0.9:
            raise ValueError(f'overlap {self.overlap} must be in [0, 0.9] (a share of the window)')
        if batch_size < 1 or prefetch < 1:
            raise ValueError(f'batch size ({batch_size}) and prefetch ({prefetch}) must be at least 1')
        if blend not in BLEND_MODES:
            raise ValueError(f'unknown blend mode {blend!r}; choose one of {BLEND_MODES}')

    # ------------------------------------------------------------------------------------------- public API
    def outputs(self, scene: PathLike, out_dir: PathLike) -> Dict[str, Path]:
        """Output paths of ``scene``: ``classes``, ``confidence``, ``preview`` and the class map's GIS sidecars
        ``categories`` (``NAME.tif.aux.xml``) and ``style`` (``NAME.qml``)."""
        name, out_dir = Path(scene).stem, Path(out_dir)
        return dict(classes=out_dir / f'{name}.tif', confidence=out_dir / f'{name}.confidence.tif',
                    preview=out_dir / f'{name}.preview.png', **class_sidecars(out_dir / f'{name}.tif'))

    def is_done(self, scene: PathLike, out_dir: PathLike, confidence: bool = False, preview: bool = False) -> bool:
        """Whether every requested output of ``scene`` is complete (resume skips it)."""
        out = self.outputs(scene, out_dir)
        return (is_complete(out['classes']) and (not confidence or is_complete(out['confidence']))
                and (not preview or out['preview'].is_file()))

    def provenance(self) -> Dict[str, str]:
        """What determines a class map: the checkpoint's content, the config and the window settings (its tags)."""
        config = hashlib.sha256(json.dumps(self.cfg.to_dict(), sort_keys=True, default=str).encode()).hexdigest()
        return dict(RSSEG_CHECKPOINT_SHA256=self.checkpoint_digest, RSSEG_CONFIG_SHA256=config[:16],
                    RSSEG_WINDOW=str(self.window), RSSEG_OVERLAP=str(self.overlap), RSSEG_BLEND=self.blend)

    def stale_settings(self, class_map: PathLike) -> List[str]:
        """The provenance tags on which an existing class map differs from this predictor (empty: reusable)."""
        tags = read_tags(class_map)
        names = dict(RSSEG_CHECKPOINT_SHA256='checkpoint', RSSEG_CONFIG_SHA256='config', RSSEG_WINDOW='window',
                     RSSEG_OVERLAP='overlap', RSSEG_BLEND='blend')
        return [names[k] for k, v in self.provenance().items() if tags.get(k) != v]

    def predict_scenes(self, scenes: Sequence[PathLike], out_dir: PathLike, **kwargs: Any) -> List[SceneResult]:
        """Predict several scenes; a failing scene (bad input, full disk) is logged and reported, the others go on.

        Holds the output folder's :class:`~rsseg.formats.files.OutputLock` (one writer at a time, except the ranks of a
        distributed job) and first removes the temporaries of dead runs. Keyword arguments go to
        :meth:`predict_scene`.
        """
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm
        results = []
        shared = torch.distributed.is_initialized() and torch.distributed.get_world_size() > 1
        with ExitStack() as stack, logging_redirect_tqdm(loggers=[get_logger()]):
            if not shared:  # the ranks of one distributed job share the folder (each writes its own scenes)
                stack.enter_context(OutputLock(ensure_writable(out_dir), 'prediction output folder'))
                remove_stale_temps(out_dir)
            for scene in tqdm(list(scenes), desc='scenes', unit='scene', disable=not self.progress):
                try:
                    results.append(self.predict_scene(scene, out_dir, **kwargs))
                except (GeoError, ValueError, OSError, RuntimeError) as exc:
                    error = scene_error(scene, exc)
                    print_log(f'failed: {error}', logger=get_logger(), level=40)
                    results.append(SceneResult(Path(scene), self.outputs(scene, out_dir)['classes'], 'failed',
                                               error=error))
        return results

    def predict_scene(self, scene: PathLike, out_dir: PathLike, *, confidence: bool = False, preview: bool = False,
                      overwrite: bool = False) -> SceneResult:
        """Predict one scene into ``out_dir/NAME.tif`` (+ ``NAME.confidence.tif``, ``NAME.preview.png``).

        Args:
            scene: Scene raster.
            out_dir: Output folder (created if missing; must be writable).
            confidence: Also write the maximum class probability (uint8 percent, scale 0.01, nodata 255).
            preview: Also write a PNG quick look (image, class overlay, legend).
            overwrite: Predict even if complete outputs exist (otherwise they are skipped: resume).
        """
        start = time.perf_counter()
        out = self.outputs(scene, out_dir)
        if out['classes'].resolve() == Path(scene).resolve():
            raise ValueError(f'{scene}: the class map would overwrite the scene itself; choose another output folder')
        ensure_writable(out_dir)
        if not overwrite and self.is_done(scene, out_dir, confidence, preview):
            stale = self.stale_settings(out['classes'])
            if not stale:
                self._write_sidecars(out['classes'], only_missing=True)
                print_log(f'{Path(scene).name}: complete output found, skipped ({out["classes"]})', logger=get_logger())
                return SceneResult(Path(scene), out['classes'], 'skipped')
            print_log(f'{out["classes"]} was made with another {", ".join(stale)}: predicting {Path(scene).name} '
                      'again', logger=get_logger(), level=30)
        info = inspect_scene(scene, self.allow_no_crs)
        bands = self.scene_bands(info)
        stats = self.norm_stats(info, bands)
        factor = None if self.native_gsd else grid_factor(info, self.settings.gsd, self.max_resample)
        discard_class_sidecars(out['classes'])  # the old ones would describe the new map until rewritten
        with gdal_cache(self._cache_bytes(info)):
            stats_out = self._predict_to_files(info, bands, stats, factor, out, confidence)
            self._write_sidecars(out['classes'])
            if preview:
                self.write_preview(info, bands, stats, out['classes'], out['preview'])
        seconds = time.perf_counter() - start
        result = SceneResult(Path(scene), out['classes'], 'done', seconds, info.width * info.height / 1e6, stats_out)
        self._log_scene(result, info, factor)
        return result

    # ------------------------------------------------------------------------------------------- scene checks
    def scene_bands(self, info: SceneHeader) -> List[int]:
        """Scene bands to read; refuses a scene whose band count does not fit the model."""
        bands = self.bands_override or self.settings.bands or list(range(1, info.count + 1))
        bad = [b for b in bands if not 1 <= b <= info.count]
        if bad:
            raise GeoError(info.path, f'the model reads band(s) {bands} ({self.settings.source}) but the scene has '
                                      f'{info.count} band(s)')
        if self.in_channels is not None and len(bands) != self.in_channels:
            raise GeoError(info.path, f'the scene gives {len(bands)} band(s) ({bands}) but the model was trained on '
                                      f'{self.in_channels}; select bands with --bands')
        return bands

    def norm_stats(self, info: SceneHeader, bands: Sequence[int]) -> NormStats:
        """The recorded normalisation (checked against the band count), else 8-bit scaling."""
        stats = self.settings.norm_stats
        if stats is None:
            return default_stats(np.dtype(info.dtype), len(bands), str(info.path))
        if len(stats.low) != len(bands):
            raise GeoError(info.path, f'the normalisation statistics cover {len(stats.low)} band(s), the model reads '
                                      f'{len(bands)}')
        if stats.dtype and stats.dtype != info.dtype:
            print_log(f'{info.path}: scene is {info.dtype} but the statistics were computed on {stats.dtype} '
                      'imagery', logger=get_logger(), level=30)
        return stats

    # ------------------------------------------------------------------------------------------- files
    def _cache_bytes(self, info: SceneHeader) -> int:
        """GDAL block cache for a scene: about two window rows of source blocks (32 MiB to 512 MiB), not the scene."""
        if self.cache_mb:
            return int(self.cache_mb) << 20
        rows = (self.window + self.stride) * info.width * info.count * np.dtype(info.dtype).itemsize
        return int(min(512 << 20, max(32 << 20, rows)))

    def _write_sidecars(self, class_map: Path, only_missing: bool = False) -> None:
        """The class map's category names and QGIS style (:mod:`rsseg.geo.class_styles`); on resume only if missing
        (a map from an older rsseg, or a run killed between the map and its sidecars)."""
        s = self.settings
        if only_missing and (read_category_names(class_map) == s.classes
                             and class_sidecars(class_map)['style'].is_file()):
            return
        write_class_sidecars(class_map, s.classes, class_colormap(s.palette, s.ignore_index))

    def _writer(self, stack: ExitStack, path: Path, height: int, width: int, crs: Any, transform: Any,
                kind: str, final: bool) -> CogWriter:
        """A class-map or confidence writer entered into ``stack`` (aborted on error)."""
        s = self.settings
        tags = dict(RSSEG_VERSION=__version__, RSSEG_CONFIG=self.config_name, RSSEG_CHECKPOINT=self.checkpoint_name,
                    **self.provenance())
        if kind == 'classes':
            kwargs = dict(colormap=class_colormap(s.palette, s.ignore_index), class_names=s.classes,
                          overview_resampling='mode', description='class')
        else:
            kwargs = dict(scale=0.01, overview_resampling='average', description='confidence (percent)')
        writer = CogWriter(path, width, height, crs=crs, transform=transform, nodata=s.ignore_index,
                           compress=self.compress, tags=tags, overviews=final, **kwargs)
        stack.enter_context(writer)
        return writer

    def _predict_to_files(self, info: SceneHeader, bands: List[int], stats: NormStats,
                          factor: Optional[Tuple[float, float]], out: Dict[str, Path],
                          confidence: bool) -> Dict[str, float]:
        """Run the scene and write its class map (and confidence), resampling back if the grid differs."""
        height, width = working_shape(info, factor)
        grid_t = grid_transform(info, factor)
        paths = {k: (out[k] if factor is None else temp_path(out[k], 'grid')) for k in ('classes', 'confidence')}
        kinds = ['classes'] + (['confidence'] if confidence else [])
        with ExitStack() as stack:
            writers = {k: self._writer(stack, paths[k], height, width, info.crs, grid_t, k, factor is None)
                       for k in kinds}
            sink = self._file_sink(stack, writers)
            # The stack closes the writer thread first, then the confidence writer, the class map last.
            stats_out = self._run(lambda: open_window_reader(info.path, bands, factor), height, width, stats, sink)
        if factor is not None:
            try:
                self._warp_back(info, bands, paths, out, kinds)
            finally:
                for path in paths.values():
                    if path.exists():
                        path.unlink()
        return stats_out

    def _file_sink(self, stack: ExitStack, writers: Dict[str, CogWriter]) -> RowSink:
        """A row sink writing through a background thread; joined before the writers close."""
        consumer = _Consumer()
        stack.callback(consumer.close)
        nodata = self.settings.ignore_index

        def sink(row: int, classes: np.ndarray, conf: np.ndarray) -> None:
            consumer.submit(writers['classes'].write_rows, row, classes)
            if 'confidence' in writers:
                percent = np.round(conf * np.float16(100)).astype(np.uint8)
                percent[classes == nodata] = nodata
                consumer.submit(writers['confidence'].write_rows, row, percent)
        return sink

    def _warp_back(self, info: SceneHeader, bands: List[int], grid_paths: Dict[str, Path], out: Dict[str, Path],
                   kinds: List[str]) -> None:
        """Resample the working-grid outputs onto the scene grid (nearest for classes, bilinear for confidence)."""
        for kind in reversed(kinds):
            with ExitStack() as stack:
                writer = self._writer(stack, out[kind], info.height, info.width, info.crs, info.transform, kind, True)
                resampling = 'nearest' if kind == 'classes' else 'bilinear'
                for row, data in warp_to_scene(grid_paths[kind], info, bands, resampling):
                    writer.write_rows(row, data)

    def _log_scene(self, result: SceneResult, info: SceneHeader, factor: Optional[Tuple[float, float]]) -> None:
        """One log line per scene: size, time, throughput, model share, windows."""
        s = result.stats
        grid = 'scene grid' if factor is None else f'resampled x{1 / factor[0]:.2f} to {self.settings.gsd:g} m GSD'
        print_log(f'{info.path.name}: {info.width}x{info.height} px ({grid}) in {result.seconds:.1f} s, '
                  f'{result.megapixels / max(result.seconds, 1e-9):.2f} MP/s, model {s["forward_s"]:.1f} s '
                  f'({s["forward_s"] / max(result.seconds, 1e-9):.0%}), {int(s["windows"])} windows '
                  f'({int(s["skipped_windows"])} nodata-only skipped) -> {result.output}', logger=get_logger())

    # ------------------------------------------------------------------------------------------- core loop
    def _grid(self, height: int, width: int) -> Tuple[List[int], List[int], int, int]:
        """Window row and column offsets (evenly spread, all inside the raster) and the window size."""
        rows, cols = spread_starts(height, self.window, self.stride), spread_starts(width, self.window, self.stride)
        return rows, cols, min(self.window, height), min(self.window, width)

    def _read_batches(self, open_reader: Callable[[], ContextManager[ReadFn]], height: int, width: int,
                      stats: NormStats) -> Iterator[tuple]:
        """Reader thread: ``(positions, data, valids, upto, skipped)`` batches of windows with valid pixels.

        ``upto`` is the row-major index of the last window read (every window up to it is in this or an earlier
        batch, or was skipped); ``skipped`` counts windows without any valid pixel since the previous batch. The last
        item may hold no windows.
        """
        rows, cols, win_h, win_w = self._grid(height, width)
        pending: List[tuple] = []
        skipped = 0
        with open_reader() as read:
            for index, (row, col) in enumerate((r, c) for r in rows for c in cols):
                data, valid = read(row, col, win_h, win_w)
                if not valid.any():
                    skipped += 1
                    continue
                img = stats.apply(data)
                img[:, ~valid] = 0.0                  # as the training loader does
                pending.append(((row, col), img, valid))
                if len(pending) == self.batch_size:
                    yield self._batch(pending, index, skipped)
                    pending, skipped = [], 0
        yield self._batch(pending, len(rows) * len(cols) - 1, skipped)

    @staticmethod
    def _batch(pending: List[tuple], upto: int, skipped: int) -> tuple:
        data = np.stack([p[1] for p in pending]) if pending else None
        return [p[0] for p in pending], data, [p[2] for p in pending], upto, skipped

    def _run(self, open_reader: Callable[[], ContextManager[ReadFn]], height: int, width: int, stats: NormStats,
             sink: RowSink) -> Dict[str, float]:
        """Predict a ``height`` x ``width`` working grid; finished rows go to ``sink``. Returns timings.

        Args:
            open_reader: Called in the reader thread; a context manager giving ``read(row, col, h, w) -> (data,
                valid)`` on the working grid (each thread its own file handle).
            height: Working grid height.
            width: Working grid width.
            stats: Normalisation to float32 [0, 1].
            sink: Called with ``(row, classes, confidence)`` for finished rows, in row order.
        """
        from tqdm import tqdm
        rows, cols, win_h, win_w = self._grid(height, width)
        acc = BlendAccumulator(height, width, rows, cols, (win_h, win_w), max(self.num_classes, 2),
                               self.settings.ignore_index)
        counters = dict(forward_s=0.0, windows=float(len(rows) * len(cols)), skipped_windows=0.0, batches=0.0)
        bar = tqdm(total=len(rows) * len(cols), desc='windows', unit='win', leave=False, disable=not self.progress)
        reader = _Producer(lambda: self._read_batches(open_reader, height, width, stats), self.prefetch)
        try:
            for positions, data, valids, upto, skipped in reader:
                if positions:
                    self._predict_batch(positions, data, valids, acc, height, width, counters)
                emitted = 0
                for row, classes, conf in acc.advance(upto):
                    sink(row, classes, conf)
                    emitted += 1
                if emitted:
                    release_free_memory()
                counters['skipped_windows'] += skipped
                bar.update(len(positions) + skipped)
        finally:
            reader.close()
            bar.close()
        counters['blend_peak_mb'] = acc.peak_bytes / 2 ** 20
        return counters

    def _predict_batch(self, positions: List[Tuple[int, int]], data: np.ndarray, valids: List[np.ndarray],
                       acc: BlendAccumulator, height: int, width: int, counters: Dict[str, float]) -> None:
        """Model forward for one batch and blending of its windows into ``acc``."""
        h, w = data.shape[2:]
        weights = [window_weights(h, w, self.blend, border_flags(r, c, h, w, height, width)) for r, c in positions]
        tic = time.perf_counter()
        probs = self.forward(data, np.stack(weights))
        counters['forward_s'] += time.perf_counter() - tic
        counters['batches'] += 1
        for (row, col), prob, weight, valid in zip(positions, probs, weights, valids):
            acc.add(prob, weight, valid, row, col)

    @torch.no_grad()
    def forward(self, batch: np.ndarray, weights: Optional[np.ndarray] = None) -> np.ndarray:
        """Class probabilities of a batch of normalised windows, optionally multiplied by per-window weights.

        Args:
            batch: (N, C, h, w) float32 in [0, 1] (the training loader's convention).
            weights: (N, h, w) blending weights, applied on the device.

        Returns:
            (N, num_classes, h, w) float32 probabilities (times ``weights``).
        """
        from mmseg.structures import SegDataSample
        n, _, h, w = batch.shape
        samples = [SegDataSample(metainfo=dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w)))
                   for _ in range(n)]
        inputs = torch.from_numpy(batch).to(self.device, non_blocking=True)
        data = self.model.data_preprocessor(dict(inputs=list(inputs), data_samples=samples), False)
        x = data['inputs']
        metas = [dict(s.metainfo, img_shape=(h, w), pad_shape=tuple(x.shape[2:])) for s in data['data_samples']]
        amp = torch.autocast(device_type='cuda', dtype=torch.float16) if self.amp else nullcontext()
        with amp:
            logits = self.model.encode_decode(x, metas)
        logits = logits[:, :, :h, :w].float()
        if logits.shape[1] == 1:
            fg = logits.sigmoid()
            probs = torch.cat([1 - fg, fg], dim=1)
        else:
            probs = logits.softmax(dim=1)
        if weights is not None:
            probs *= torch.from_numpy(weights).to(probs.device)[:, None]
        return probs.cpu().numpy()

    # ------------------------------------------------------------------------------------------- preview
    def write_preview(self, info: SceneHeader, bands: Sequence[int], stats: NormStats, class_map: Path,
                      out: Path, max_size: int = 1024) -> Path:
        """PNG quick look: the image (first three model bands, or one grey band), class overlay and a legend."""
        scale = min(1.0, max_size / max(info.width, info.height))
        shape = (max(1, round(info.height * scale)), max(1, round(info.width * scale)))
        data, valid = read_decimated(info.path, bands, shape, 'average')
        classes, _ = read_decimated(class_map, [1], shape, 'nearest')
        rgb = _display_rgb(stats.apply(data), valid)
        render_preview(rgb, classes[0], self.settings.classes, self.settings.palette, self.settings.ignore_index,
                       out, title=f'{info.path.name} - {self.config_name}')
        return out


def ensure_writable(out_dir: PathLike) -> Path:
    """Create ``out_dir`` if needed and check a file can be created in it."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f'.rsseg-write-test{os.getpid()}'
        probe.write_bytes(b'')
        probe.unlink()
    except OSError as exc:
        raise PermissionError(f'output folder {out_dir} is not writable ({exc.strerror or exc})') from None
    return out_dir


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
