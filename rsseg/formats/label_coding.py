"""Raw label rasters → uint8 class indices (class rasters with a value map, or colour-coded masks via a palette).

Unknown values / colours are collected over the whole scene and reported with their pixel counts, so a user sees
every problem of a label file at once.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .errors import GeoError

Color = Tuple[int, int, int]


@dataclass
class LabelCoding:
    """How raw label pixels map to class indices.

    Attributes:
        classes: Class names (index order).
        colors: Class colours for colour-coded labels (``mode='color'``) and for display.
        ignore_colors: Colours meaning "unlabelled" in colour-coded labels.
        value_map: Raw value → class index (``ignore_index`` allowed) for class rasters; identity when None.
        nodata: Raw value meaning "no label" (overrides the file's nodata tag).
        mode: ``'index'`` (class raster) or ``'color'`` (RGB mask, or a paletted raster read through its colour
            table).
        ignore_index: Output value for unlabelled pixels.
    """

    classes: List[str]
    colors: List[Color] = field(default_factory=list)
    ignore_colors: List[Color] = field(default_factory=list)
    value_map: Optional[Dict[float, int]] = None
    nodata: Optional[float] = None
    mode: str = 'index'
    ignore_index: int = 255

    def __post_init__(self) -> None:
        if self.mode not in ('index', 'color'):
            raise ValueError(f"label mode must be 'index' or 'color', got {self.mode!r}")
        if self.mode == 'color' and len(self.colors) != len(self.classes):
            raise ValueError(f'colour-coded labels need one colour per class ({len(self.classes)} classes, '
                             f'{len(self.colors)} colours)')
        for raw, idx in (self.value_map or {}).items():
            if not (0 <= idx < len(self.classes) or idx == self.ignore_index):
                raise ValueError(f'label map {raw}:{idx}: class index out of range (0..{len(self.classes) - 1} or '
                                 f'{self.ignore_index})')

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    def lookup(self) -> Tuple[np.ndarray, np.ndarray]:
        """Sorted raw keys and their class indices (colours packed as ``r << 16 | g << 8 | b``)."""
        if self.mode == 'color':
            pairs = [(_pack_one(c), i) for i, c in enumerate(self.colors)]
            pairs += [(_pack_one(c), self.ignore_index) for c in self.ignore_colors]
        elif self.value_map is not None:
            pairs = [(float(k), int(v)) for k, v in self.value_map.items()]
        else:
            pairs = [(float(i), i) for i in range(self.num_classes)] + [(float(self.ignore_index),
                                                                         self.ignore_index)]
        pairs.sort()
        keys = np.array([p[0] for p in pairs], np.float64)
        return keys, np.array([p[1] for p in pairs], np.uint8)

    def keys_of(self, raw: np.ndarray, colormap: Optional[Mapping[int, Sequence[int]]] = None) -> np.ndarray:
        """(H, W) float64 keys of raw label pixels ((C, H, W): 1 band, or 3+ bands RGB for colour labels)."""
        if self.mode == 'color':
            if raw.shape[0] >= 3:
                rgb = raw[:3].astype(np.uint32)
            elif colormap is not None:
                table = np.zeros((max(256, int(max(colormap)) + 1), 3), np.uint32)
                for k, c in colormap.items():
                    table[int(k)] = c[:3]
                rgb = table[raw[0].astype(np.int64)].transpose(2, 0, 1)
            else:
                raise ValueError('a colour-coded label needs 3 bands (RGB) or a colour table')
            return ((rgb[0] << 16) | (rgb[1] << 8) | rgb[2]).astype(np.float64)
        return raw[0].astype(np.float64)

    def encode(self, keys: np.ndarray, nodata: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """Class indices (uint8) and an unknown-pixel mask for (H, W) keys; ``nodata`` pixels → ignore index."""
        table_keys, table_vals = self.lookup()
        pos = np.clip(np.searchsorted(table_keys, keys), 0, len(table_keys) - 1)
        known = table_keys[pos] == keys
        out = np.where(known, table_vals[pos], self.ignore_index).astype(np.uint8)
        if nodata is not None:
            out[nodata] = self.ignore_index
            known |= nodata
        return out, ~known

    def describe_unknown(self, keys: np.ndarray, counts: np.ndarray) -> str:
        """A sorted list of unknown raw values or colours with pixel counts (most frequent first, 10 shown)."""
        order = np.argsort(-counts, kind='stable')
        shown = []
        for i in order[:10]:
            shown.append(f'{self._key_text(keys[i])} ({int(counts[i])} px)')
        more = f' and {len(keys) - 10} more' if len(keys) > 10 else ''
        return ', '.join(shown) + more

    def unknown_error(self, path: object, keys: np.ndarray, counts: np.ndarray) -> GeoError:
        """The error for unknown label values / colours in ``path``."""
        what = 'colour(s) not in the palette' if self.mode == 'color' else 'value(s) that are not classes'
        hint = '' if self.mode == 'color' else (
            f' (classes are 0..{self.num_classes - 1}, {self.ignore_index} = ignore; map raw values with '
            '--label-map RAW:INDEX or declare --label-nodata)')
        return GeoError(path, f'label has {len(keys)} {what}: {self.describe_unknown(keys, counts)}{hint}')

    def _key_text(self, key: float) -> str:
        if self.mode == 'color':
            k = int(key)
            return f'#{(k >> 16) & 255:02X}{(k >> 8) & 255:02X}{k & 255:02X}'
        return f'{int(key)}' if float(key).is_integer() else f'{key:g}'


def _pack_one(color: Sequence[int]) -> float:
    return float((int(color[0]) << 16) | (int(color[1]) << 8) | int(color[2]))


def parse_label_map(text: str) -> Dict[float, int]:
    """``'1:0,2:1,-1:255'`` → ``{1.0: 0, 2.0: 1, -1.0: 255}``."""
    out: Dict[float, int] = {}
    for item in filter(None, (t.strip() for t in text.split(','))):
        raw, sep, idx = item.rpartition(':')
        try:
            out[float(raw)] = int(idx)
        except ValueError:
            raise ValueError(f'label map entry {item!r} is not RAW:INDEX') from None
        if not sep:
            raise ValueError(f'label map entry {item!r} is not RAW:INDEX')
    if not out:
        raise ValueError(f'empty label map {text!r}')
    return out


def default_colors(num: int) -> List[Color]:
    """Deterministic distinct-ish display colours for ``num`` classes (when no palette is given)."""
    base = [(255, 255, 255), (0, 0, 255), (0, 255, 255), (0, 255, 0), (255, 255, 0), (255, 0, 0), (128, 0, 128),
            (255, 128, 0), (128, 128, 128), (0, 128, 128)]
    rng = np.random.RandomState(42)
    extra = [tuple(int(v) for v in rng.randint(0, 256, 3)) for _ in range(max(0, num - len(base)))]
    return (base + extra)[:num]  # type: ignore[return-value]
