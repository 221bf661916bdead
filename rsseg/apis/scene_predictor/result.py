"""The outcome of one scene (:class:`SceneResult`) and a failed scene's message."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict

from rsseg.formats.files import PathLike


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


def scene_error(scene: PathLike, exc: BaseException) -> str:
    """``exc``'s message naming ``scene`` once: most errors already start with the path, so it is not prefixed twice."""
    text = str(exc) or type(exc).__name__
    return text if str(scene) in text or Path(scene).name in text else f'{scene}: {text}'
