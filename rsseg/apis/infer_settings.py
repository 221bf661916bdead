"""The data settings a model was trained with, as the scene predictor needs them.

Looked up, first match wins, in:

1. ``infer_settings = dict(bands=[...], gsd=..., norm_stats=... , classes=[...], palette=[...])`` in the config;
2. ``meta['infer_settings']`` of the checkpoint (same keys);
3. the manifest of the validation (target-domain) dataset in ``cfg.val_dataloader.dataset`` (or the test one): a
   :class:`~rsseg.datasets.GeoChipDataset` with ``manifest=`` (created first through its ``prepare`` step if missing);
4. nothing: the scene's own grid, all bands, 8-bit scaling; class names from the checkpoint's ``dataset_meta``.
"""
import colorsys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from mmengine.config import Config

from rsseg.datasets.prepare import ensure_prepared
from rsseg.formats.manifest import Manifest, manifest_path
from rsseg.geo.normalization import NormStats


@dataclass
class InferSettings:
    """Band selection, GSD, normalisation and classes recorded for a model.

    Attributes:
        classes: Class names in index order.
        palette: One RGB colour per class.
        bands: 1-based scene bands in the model's input order; None reads every band.
        gsd: Training ground sampling distance in metres; None predicts on the scene's own grid.
        norm_stats: Normalisation statistics; None scales 8-bit imagery by 1/255 (other dtypes are refused).
        ignore_index: Output nodata value of the class map.
        source: Where the settings came from (for the log).
    """

    classes: List[str] = field(default_factory=list)
    palette: List[List[int]] = field(default_factory=list)
    bands: Optional[List[int]] = None
    gsd: Optional[float] = None
    norm_stats: Optional[NormStats] = None
    ignore_index: int = 255
    source: str = 'defaults'

    @classmethod
    def from_dict(cls, raw: Dict[str, Any], base_dir: Path, source: str) -> 'InferSettings':
        """Settings from an ``infer_settings`` dict; a ``norm_stats`` path is relative to ``base_dir``."""
        known = {'classes', 'palette', 'bands', 'gsd', 'norm_stats', 'ignore_index'}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f'{source}: unknown infer_settings key(s) {sorted(unknown)}; known: {sorted(known)}')
        stats = raw.get('norm_stats')
        if isinstance(stats, (str, Path)):
            path = Path(stats) if Path(stats).is_absolute() else base_dir / stats
            stats = NormStats.load(path)
        elif isinstance(stats, dict):
            stats = NormStats(**stats)
        return cls(classes=list(raw.get('classes') or []), palette=[list(c) for c in raw.get('palette') or []],
                   bands=_int_list(raw.get('bands')), gsd=_float(raw.get('gsd')), norm_stats=stats,
                   ignore_index=int(raw.get('ignore_index', 255)), source=source)

    @classmethod
    def from_manifest(cls, path: Path) -> 'InferSettings':
        """Settings from a tiler manifest (its norm_stats sidecar is relative to the manifest's folder)."""
        manifest = Manifest.load(path)
        stats = NormStats.load(manifest_path(path, manifest.norm_stats)) if manifest.norm_stats else None
        return cls(classes=list(manifest.classes), palette=[list(c) for c in manifest.palette],
                   bands=_int_list(manifest.bands), gsd=_float(manifest.gsd), norm_stats=stats,
                   ignore_index=manifest.ignore_index, source=f'manifest {path}')

    def complete(self, num_classes: int, dataset_meta: Optional[dict]) -> 'InferSettings':
        """Fill missing classes/palette (checkpoint ``dataset_meta``, else generated) and check the class count."""
        if not self.classes and dataset_meta and dataset_meta.get('classes'):
            self.classes = [str(c) for c in dataset_meta['classes']]
            self.palette = [list(c) for c in dataset_meta.get('palette') or []]
        if not self.classes:
            self.classes = [f'class_{i}' for i in range(num_classes)]
        if len(self.classes) != num_classes:
            raise ValueError(f'the model predicts {num_classes} classes but its data settings ({self.source}) name '
                             f'{len(self.classes)}: {self.classes}')
        if len(self.palette) != num_classes:
            self.palette = default_palette(num_classes)
        if num_classes > 255 or self.ignore_index < num_classes:
            raise ValueError(f'{num_classes} classes with nodata {self.ignore_index} do not fit a uint8 class map')
        return self


def _int_list(value: Optional[Sequence[Any]]) -> Optional[List[int]]:
    return [int(v) for v in value] if value else None


def _float(value: Any) -> Optional[float]:
    return None if value is None else float(value)


def default_palette(num_classes: int) -> List[List[int]]:
    """Distinct colours for classes without a recorded palette (evenly spaced hues)."""
    hues = (i / max(num_classes, 1) for i in range(num_classes))
    return [[int(255 * c) for c in colorsys.hsv_to_rgb(h, 0.75, 0.95)] for h in hues]


def _dataset_dicts(node: Any) -> Iterator[dict]:
    """Every dict inside a (possibly wrapped) dataset config, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dataset_dicts(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _dataset_dicts(value)


def find_manifest(cfg: Config) -> Optional[Tuple[Path, Optional[dict]]]:
    """The validation (else test) dataset's manifest path and its ``prepare`` step, if the config names one."""
    for key in ('val_dataloader', 'test_dataloader'):
        loader = cfg.get(key)
        if not loader:
            continue
        for node in _dataset_dicts(loader.get('dataset')):
            if isinstance(node.get('manifest'), str):
                path = Path(node['manifest'])
                if not path.is_absolute() and node.get('data_root'):
                    path = Path(node['data_root']) / path
                return path, node.get('prepare')
    return None


def resolve_settings(cfg: Config, config_path: Optional[Path], checkpoint_meta: Optional[dict]) -> InferSettings:
    """Look the settings up in the order given in the module docstring."""
    base = config_path.parent if config_path else Path.cwd()
    if cfg.get('infer_settings'):
        return InferSettings.from_dict(dict(cfg.infer_settings), base, f'config {config_path} infer_settings')
    if checkpoint_meta and checkpoint_meta.get('infer_settings'):
        return InferSettings.from_dict(dict(checkpoint_meta['infer_settings']), base, 'checkpoint infer_settings')
    found = find_manifest(cfg)
    if found is None:
        return InferSettings()
    path, prepare = found
    if not path.is_file() and prepare:
        ensure_prepared(str(path), dict(prepare))
    if not path.is_file():
        raise FileNotFoundError(f'the config\'s validation dataset names manifest {path} (the model\'s bands, GSD and '
                                'normalisation), which does not exist; add infer_settings=dict(...) to the config')
    return InferSettings.from_manifest(path)
