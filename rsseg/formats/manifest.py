"""The chip manifest: what the tiler writes and rsseg's datasets read.

One JSON file per tiled domain (``DIR/manifest.json``) describes the common grid, the classes, the normalisation
sidecar and one record per chip. Paths inside are relative to the manifest's folder so a chip folder can be moved;
readers resolve them with :func:`manifest_path`, which refuses any that leaves the folder.
"""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from .errors import GeoError
from .files import resolve_inside, write_json

MANIFEST_VERSION = 1
# Split names a chip can carry: train (labels trained on by supervised / oracle runs), val (checkpoint selection),
# test (held out, scored once), benchmark (a public benchmark's images whose labels are hidden: never scored).
SPLITS = ('train', 'val', 'test', 'benchmark')


def manifest_path(manifest: Union[str, Path], entry: str, data_roots: Sequence[Union[str, Path]] = ()) -> Path:
    """The file a manifest entry names, confined to the manifest's folder.

    Args:
        manifest: The manifest file (its folder is the root; named in errors).
        entry: A chip, label or sidecar path as stored.
        data_roots: Folders a trusted config names as holding the data too (a ``prepare`` step's image folder,
            whose whole images a manifest lists in place).

    Raises:
        GeoError: The entry is absolute, climbs out with ``..`` or leaves through a symlink (and is in no
            ``data_roots`` folder).
    """
    root = Path(manifest).resolve().parent
    try:
        return resolve_inside(root, entry, manifest)
    except GeoError:
        target = (root / str(entry)).resolve()
        if any(Path(r).resolve() in target.parents for r in data_roots) and not Path(str(entry)).is_absolute():
            return target
        raise


@dataclass
class ChipRecord:
    """One chip: image (and label) GeoTIFF, where it came from, and what it holds.

    Attributes:
        img: Image chip path, relative to the manifest folder.
        ann: Label chip path (uint8 class indices, ignore index where unlabelled), or None for unlabelled chips.
        scene: Name of the scene the chip was cut from (splits are made per scene, never per chip).
        split: One of :data:`SPLITS`.
        window: ``[col_off, row_off, width, height]`` on the common grid of the scene.
        bounds: ``[left, bottom, right, top]`` in ``crs`` units, or None without georeferencing.
        valid_fraction: Share of valid (not nodata) pixels in the chip.
        class_hist: Pixel count per class index (len == number of classes), or None for unlabelled chips.
    """

    img: str
    scene: str
    split: str = 'train'
    ann: Optional[str] = None
    window: List[int] = field(default_factory=list)
    bounds: Optional[List[float]] = None
    valid_fraction: float = 1.0
    class_hist: Optional[List[int]] = None


@dataclass
class Manifest:
    """A tiled domain: grid, band and class settings plus the chip records.

    Attributes:
        classes: Class names, index order.
        palette: One RGB colour per class.
        ignore_index: Label value for unlabelled / nodata pixels.
        bands: 1-based source bands in the chips' band order (e.g. ``[4, 1, 2]`` for IRRG from RGBI).
        gsd: Ground sampling distance of the chips in CRS units (metres), or None on a pixel grid.
        crs: CRS of the chips as WKT or ``EPSG:n``, or None without georeferencing.
        norm_stats: Normalisation sidecar path relative to the manifest folder, or None for 8-bit imagery.
        domain: Free-form domain name (``'potsdam-irrg'``, ``'dubai'``...).
        chips: Chip records.
        meta: Anything else worth recording (tiler settings, source dataset, seed).
    """

    classes: List[str]
    palette: List[List[int]]
    chips: List[ChipRecord] = field(default_factory=list)
    ignore_index: int = 255
    bands: List[int] = field(default_factory=list)
    gsd: Optional[float] = None
    crs: Optional[str] = None
    norm_stats: Optional[str] = None
    domain: str = ''
    meta: Dict[str, Any] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    def save(self, path: Union[str, Path]) -> None:
        """Write completely or not at all (:func:`~rsseg.formats.files.write_json`)."""
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Union[str, Path]) -> 'Manifest':
        """Read and check a manifest; problems raise ValueError naming the file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f'manifest {path} does not exist')
        try:
            raw = json.loads(path.read_text())
            chips = [ChipRecord(**c) for c in raw.pop('chips', [])]
            manifest = cls(chips=chips, **raw)
        except (json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f'{path}: not a valid rsseg manifest ({exc})') from None
        if len(manifest.palette) != len(manifest.classes):
            raise ValueError(f'{path}: {len(manifest.classes)} classes but {len(manifest.palette)} palette colours')
        return manifest

    def select(self, split: Union[None, str, Sequence[str]]) -> List[ChipRecord]:
        """Chips of one split or of several (all chips when ``split`` is None)."""
        if split is None:
            return list(self.chips)
        wanted = {split} if isinstance(split, str) else set(split)
        return [c for c in self.chips if c.split in wanted]

    def split_counts(self) -> Dict[str, int]:
        """Number of chips per split."""
        counts: Dict[str, int] = {}
        for chip in self.chips:
            counts[chip.split] = counts.get(chip.split, 0) + 1
        return counts
