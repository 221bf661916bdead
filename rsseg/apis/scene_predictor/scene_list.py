"""The scenes a prediction run maps (:func:`collect_scenes`): files, folders, globs and list files, named uniquely."""
from pathlib import Path
from typing import List, Sequence

from rsseg.formats.files import PathLike
from rsseg.geo.scenes import SCENE_SUFFIXES, check_unique_names, expand_inputs


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
