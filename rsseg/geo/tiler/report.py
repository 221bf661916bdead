"""The outcome of a tiling run (:class:`TileReport`): what was tiled, resumed, empty or failed, and how fast."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional


@dataclass
class TileReport:
    """Outcome of :func:`~rsseg.geo.tiler.tile_scenes`.

    Attributes:
        manifest: Path of the manifest written (None when nothing could be written).
        tiled: Scenes tiled in this run.
        resumed: Scenes skipped because a previous run finished them with the same settings.
        empty: ``{scene: reason}`` for scenes that gave no chip (entirely nodata, or below ``min_valid``).
        failed: ``{scene: message}`` (only with ``keep_going``).
        chips: Chips in the manifest.
        megapixels: Megapixels of chip windows processed in this run (image pixels on the common grid).
        seconds: Wall time.
        timings: Seconds summed over the workers' jobs: ``read_s`` (the scenes' pixels, labels and validity on the
            common grid), ``encode_s`` (chips encoded in memory), ``write_s`` (chip files written and renamed).
    """

    manifest: Optional[Path]
    tiled: List[str] = field(default_factory=list)
    resumed: List[str] = field(default_factory=list)
    empty: Dict[str, str] = field(default_factory=dict)
    failed: Dict[str, str] = field(default_factory=dict)
    chips: int = 0
    megapixels: float = 0.0
    seconds: float = 0.0
    timings: Dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line per outcome, for the CLI."""
        lines = [f'{self.chips} chips from {len(self.tiled)} tiled + {len(self.resumed)} resumed scene(s) '
                 f'in {self.seconds:.1f} s ({self.megapixels / max(self.seconds, 1e-9):.1f} MP/s)'
                 + (f' -> {self.manifest}' if self.manifest else '')]
        lines += [f'  empty: {name}: {reason}' for name, reason in self.empty.items()]
        if self.failed:
            lines.append(f'{len(self.failed)} scene(s) failed:')
            lines += [f'  {name}: {msg}' for name, msg in self.failed.items()]
        return '\n'.join(lines)
