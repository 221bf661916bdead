"""The scene predictor (:class:`ScenePredictor`): settings checked once, then each scene checked, predicted on its
working grid, written (warped back when resampled) with its sidecars and preview, and logged."""
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, ContextManager, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log

from rsseg.formats.errors import GeoError
from rsseg.formats.files import OutputLock, PathLike, file_sha256, remove_stale_temps, temp_path
from rsseg.geo.blend import BLEND_MODES
from rsseg.geo.class_styles import discard_class_sidecars
from rsseg.geo.cog import CogWriter
from rsseg.geo.normalization import NormStats
from rsseg.geo.working_grid import (
    SceneHeader,
    gdal_cache,
    grid_factor,
    grid_transform,
    inspect_scene,
    open_window_reader,
    working_shape,
)
from rsseg.version import __version__

from ..infer_settings import resolve_settings
from .log import get_logger, log_scene
from .memory import cache_bytes
from .model import (
    class_probabilities,
    default_window,
    fast_inference_model,
    load_model,
    model_in_channels,
    model_num_classes,
)
from .outputs import ensure_writable, output_paths, outputs_complete, provenance, stale_settings
from .preview import write_preview
from .reader import ReadFn
from .result import SceneResult, scene_error
from .scene_checks import scene_bands, scene_norm_stats
from .sliding import RowSink, SlidingWindows
from .warp_back import warp_back
from .writers import file_sink, open_writer, write_sidecars


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
        fast_model: Run a faster copy of the model: BatchNorm folded into convolutions, channels-last
            (:func:`.model.fast_inference_model`; used only where a probe gives the same logits, so outputs differ by
            float rounding); False runs the model exactly as trained.
    """

    def __init__(self, config: Union[PathLike, Config], checkpoint: PathLike, device: str = 'cpu', *,
                 window: Optional[int] = None, overlap: Optional[float] = None, batch_size: int = 4,
                 blend: str = 'hann', amp: bool = False, native_gsd: bool = False,
                 allow_no_crs: bool = False, bands: Optional[Sequence[int]] = None, max_resample: float = 8.0,
                 compress: str = 'deflate', prefetch: int = 2, cache_mb: Optional[int] = None,
                 progress: bool = True, fast_model: bool = True) -> None:
        self.model, self.cfg, meta = load_model(config, checkpoint, device)
        self.device = torch.device(device)
        self.config_name, self.checkpoint_name = Path(str(self.cfg.filename or 'config')).name, Path(checkpoint).name
        self.checkpoint_digest = file_sha256(checkpoint)[:16]
        cfg_path = Path(self.cfg.filename) if self.cfg.filename else None
        self.num_classes = model_num_classes(self.model)
        self.settings = resolve_settings(self.cfg, cfg_path, meta).complete(
            self.num_classes, getattr(self.model, 'dataset_meta', None))
        self.in_channels = model_in_channels(self.model)
        self.fast_model = False
        if fast_model:
            self.model, self.fast_model = fast_inference_model(self.model, self.in_channels)
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

    # ------------------------------------------------------------------------------------------- outputs, resume
    def outputs(self, scene: PathLike, out_dir: PathLike) -> Dict[str, Path]:
        """Output paths of ``scene`` (:func:`~.outputs.output_paths`)."""
        return output_paths(scene, out_dir)

    def is_done(self, scene: PathLike, out_dir: PathLike, confidence: bool = False, preview: bool = False) -> bool:
        """Whether every requested output of ``scene`` is complete (resume skips it)."""
        return outputs_complete(self.outputs(scene, out_dir), confidence, preview)

    def provenance(self) -> Dict[str, str]:
        """What determines a class map: the checkpoint's content, the config and the window settings (its tags)."""
        return provenance(self.cfg, self.checkpoint_digest, self.window, self.overlap, self.blend)

    def stale_settings(self, class_map: PathLike) -> List[str]:
        """The provenance tags on which an existing class map differs from this predictor (empty: reusable)."""
        return stale_settings(class_map, self.provenance())

    # ------------------------------------------------------------------------------------------- scenes
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
                write_sidecars(out['classes'], self.settings, only_missing=True)
                print_log(f'{Path(scene).name}: complete output found, skipped ({out["classes"]})', logger=get_logger())
                return SceneResult(Path(scene), out['classes'], 'skipped')
            print_log(f'{out["classes"]} was made with another {", ".join(stale)}: predicting {Path(scene).name} '
                      'again', logger=get_logger(), level=30)
        info = inspect_scene(scene, self.allow_no_crs)
        bands = self.scene_bands(info)
        stats = self.norm_stats(info, bands)
        factor = None if self.native_gsd else grid_factor(info, self.settings.gsd, self.max_resample)
        discard_class_sidecars(out['classes'])  # the old ones would describe the new map until rewritten
        with gdal_cache(cache_bytes(info, self.window, self.stride, self.cache_mb)):
            stats_out = self._predict_to_files(info, bands, stats, factor, out, confidence)
            write_sidecars(out['classes'], self.settings)
            if preview:
                self.write_preview(info, bands, stats, out['classes'], out['preview'])
        seconds = time.perf_counter() - start
        result = SceneResult(Path(scene), out['classes'], 'done', seconds, info.width * info.height / 1e6, stats_out)
        log_scene(result, info, factor, self.settings.gsd)
        return result

    # ------------------------------------------------------------------------------------------- scene checks
    def scene_bands(self, info: SceneHeader) -> List[int]:
        """Scene bands to read; refuses a scene whose band count does not fit the model."""
        return scene_bands(info, self.settings, self.bands_override, self.in_channels)

    def norm_stats(self, info: SceneHeader, bands: Sequence[int]) -> NormStats:
        """The recorded normalisation (checked against the band count), else 8-bit scaling."""
        return scene_norm_stats(info, bands, self.settings)

    # ------------------------------------------------------------------------------------------- files
    def _writer(self, stack: ExitStack, path: Path, height: int, width: int, crs: Any, transform: Any,
                kind: str, final: bool) -> CogWriter:
        """A class-map or confidence writer entered into ``stack`` (aborted on error), tagged with the provenance."""
        tags = dict(RSSEG_VERSION=__version__, RSSEG_CONFIG=self.config_name, RSSEG_CHECKPOINT=self.checkpoint_name,
                    **self.provenance())
        return open_writer(stack, path, height, width, crs, transform, kind, final, self.settings, self.compress,
                           tags)

    def _predict_to_files(self, info: SceneHeader, bands: List[int], stats: NormStats,
                          factor: Optional[Tuple[float, float]], out: Dict[str, Path],
                          confidence: bool) -> Dict[str, float]:
        """Run the scene and write its class map (and confidence), resampling back if the grid differs."""
        height, width = working_shape(info, factor)
        grid_t = grid_transform(info, factor)
        paths = {k: (out[k] if factor is None else temp_path(out[k], 'grid')) for k in ('classes', 'confidence')}
        kinds = ['classes'] + (['confidence'] if confidence else [])
        timings: Dict[str, float] = {}
        with ExitStack() as stack:
            writers = {k: self._writer(stack, paths[k], height, width, info.crs, grid_t, k, factor is None)
                       for k in kinds}
            sink = file_sink(stack, writers, self.settings.ignore_index, timings)
            # The stack closes the writer thread first, then the confidence writer, the class map last.
            stats_out = self._run(lambda: open_window_reader(info.path, bands, factor), height, width, stats, sink)
        for writer in writers.values():
            for key, seconds in writer.timings.items():
                timings[key] = timings.get(key, 0.0) + seconds
        stats_out.update(timings)
        if factor is not None:
            tic = time.perf_counter()
            try:
                warp_back(info, bands, paths, out, kinds, self._writer)
                stats_out['warp_back_s'] = time.perf_counter() - tic
            finally:
                for path in paths.values():
                    if path.exists():
                        path.unlink()
        return stats_out

    # ------------------------------------------------------------------------------------------- core loop
    def _run(self, open_reader: Callable[[], ContextManager[ReadFn]], height: int, width: int, stats: NormStats,
             sink: RowSink) -> Dict[str, float]:
        """Predict a ``height`` x ``width`` working grid; finished rows go to ``sink`` (:class:`.SlidingWindows`)."""
        sliding = SlidingWindows(self.forward, self.window, self.stride, self.batch_size, self.blend,
                                 self.num_classes, self.settings.ignore_index, self.prefetch, self.progress)
        return sliding.run(open_reader, height, width, stats, sink)

    def forward(self, batch: np.ndarray, weights: Optional[np.ndarray] = None) -> np.ndarray:
        """Class probabilities of a batch of normalised windows, optionally multiplied by per-window weights.

        Args:
            batch: (N, C, h, w) float32 in [0, 1] (the training loader's convention).
            weights: (N, h, w) blending weights, applied on the device.

        Returns:
            (N, num_classes, h, w) float32 probabilities (times ``weights``).
        """
        return class_probabilities(self.model, self.device, self.amp, batch, weights, self.fast_model)

    # ------------------------------------------------------------------------------------------- preview
    def write_preview(self, info: SceneHeader, bands: Sequence[int], stats: NormStats, class_map: Path,
                      out: Path, max_size: int = 1024) -> Path:
        """PNG quick look: the image (first three model bands, or one grey band), class overlay and a legend."""
        return write_preview(info, bands, stats, class_map, out, self.settings, self.config_name, max_size)
