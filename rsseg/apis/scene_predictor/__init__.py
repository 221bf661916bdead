"""Map whole scenes with a trained rsseg / mmseg model: seamless, memory-bounded, georeferenced COG output.

A scene is read window by window on the working grid (the scene's own grid, or a ``WarpedVRT`` at the model's
training GSD), windows are batched through the model, and their softmax probabilities are blended with Hann (or
pyramid) weights in a :class:`~rsseg.geo.blend.BlendAccumulator` that holds only the cells a pending window can still
touch (about the overlap band of one window row), so memory does not grow with the scene's height. Finished rows go
straight into a :class:`~rsseg.geo.cog.CogWriter`. Reading (a background thread), the model (the calling
thread) and writing (another background thread) overlap.

The modules: :mod:`.predictor` (:class:`ScenePredictor`, the orchestration), :mod:`.model` (loading, class
probabilities), :mod:`.scene_list` (:func:`collect_scenes`), :mod:`.scene_checks` (bands, normalisation),
:mod:`.sliding` (the window loop and blending), :mod:`.reader` and :mod:`.threads` (the reader and writer threads),
:mod:`.writers` (COG writers, GIS sidecars), :mod:`.warp_back` (back onto the scene grid), :mod:`.outputs` (output
names, resume, provenance tags), :mod:`.preview` (the PNG quick look), :mod:`.memory`, :mod:`.log`, :mod:`.result`.

Example::

    from rsseg.apis import ScenePredictor
    predictor = ScenePredictor('configs/....py', 'work_dirs/.../iter_4000.pth', device='cuda:0')
    predictor.predict_scene('scenes/area_12.tif', 'maps/')   # maps/area_12.tif (+ .tif.aux.xml, .qml, ...)
"""
from .log import get_logger
from .model import load_model
from .outputs import ensure_writable
from .predictor import ScenePredictor
from .result import SceneResult
from .scene_list import collect_scenes

__all__ = ['ScenePredictor', 'SceneResult', 'collect_scenes', 'load_model', 'get_logger', 'ensure_writable']
