"""High-level Python APIs: whole-scene prediction with a trained model."""
from .infer_settings import InferSettings, resolve_settings
from .scene_predictor import ScenePredictor, SceneResult, collect_scenes, load_model

__all__ = ['InferSettings', 'resolve_settings', 'SceneResult', 'ScenePredictor', 'collect_scenes', 'load_model']
