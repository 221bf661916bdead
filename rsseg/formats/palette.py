"""Colour-coded label masks → class indices, with a palette read from a file.

A palette file maps class names to colours plus optional ignore colours. JSON::

    {"classes": {"building": "#3C1098", "road": [110, 193, 228]}, "ignore": ["#9B9B9B"]}

or a list ``{"classes": [{"name": "building", "color": "#3C1098"}, ...]}``, or the Supervisely-style
``{"classes": [{"title": ..., "color": ...}]}`` that datasets such as the Dubai aerial set ship. CSV: ``name,color``
rows (``#RRGGBB`` or ``r g b``); a row whose name is ``ignore`` marks an ignore colour.
"""
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Sequence, Tuple, Union

import numpy as np

from .label_coding import LabelCoding

Color = Tuple[int, int, int]


class PaletteError(ValueError):
    """A palette file is malformed, or a mask holds colours outside the palette."""


def parse_color(value: Union[str, Sequence[int]], where: str) -> Color:
    """``'#RRGGBB'``, ``'r g b'``, ``'r,g,b'`` or ``[r, g, b]`` → an RGB tuple."""
    try:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith('#') and len(text) == 7:
                return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
            value = [int(v) for v in text.replace(',', ' ').split()]
        rgb = tuple(_channel(v) for v in value)
    except (TypeError, ValueError):
        rgb = ()
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise PaletteError(f'{where}: {value!r} is not a colour (use #RRGGBB or r,g,b)')
    return rgb


def _channel(value: object) -> int:
    """One colour channel as an int; a float such as ``1.5`` or a bool is refused rather than truncated."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f'{value!r} is not an integer')
    return int(value)


def color_hex(rgb: Sequence[int]) -> str:
    """An RGB tuple as ``#RRGGBB``."""
    return '#{:02X}{:02X}{:02X}'.format(*rgb)


@dataclass
class Palette:
    """Class names with one colour each, plus colours that mean "ignore".

    Attributes:
        classes: Class names, index order.
        colors: One RGB colour per class.
        ignore_colors: Colours mapped to ``ignore_index``.
        ignore_index: Label value for ignored pixels.
        source: Where the palette came from (for messages).
    """

    classes: List[str]
    colors: List[Color]
    ignore_colors: List[Color] = field(default_factory=list)
    ignore_index: int = 255
    source: str = '<palette>'

    def __post_init__(self) -> None:
        self._check_unique()

    def _check_unique(self) -> None:
        dup_names = sorted({n for n in self.classes if self.classes.count(n) > 1})
        if dup_names:
            raise PaletteError(f'{self.source}: duplicate class names {dup_names}')
        all_colors = list(self.colors) + list(self.ignore_colors)
        dup_colors = sorted({color_hex(c) for c in all_colors if all_colors.count(c) > 1})
        if dup_colors:
            raise PaletteError(f'{self.source}: duplicate colours {dup_colors} (each colour must mean one thing)')
        if len(self.classes) != len(self.colors) or not self.classes:
            raise PaletteError(f'{self.source}: needs one colour per class and at least one class')
        if len(self.classes) >= self.ignore_index:
            raise PaletteError(f'{self.source}: {len(self.classes)} classes do not fit below ignore index '
                               f'{self.ignore_index}')

    @classmethod
    def from_file(cls, path: Union[str, Path], ignore_index: int = 255) -> 'Palette':
        """Read a JSON or CSV palette file (see the module docstring)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f'palette file {path} does not exist')
        text = _read_text(path)
        entries = _read_csv(path, text) if path.suffix.lower() == '.csv' else _read_json(path, text)
        classes = [n for n, _ in entries if n.lower() not in ('ignore', 'unlabeled', 'unlabelled')]
        colors = [parse_color(c, f'{path} ({n})') for n, c in entries if n in classes]
        ignore = [parse_color(c, f'{path} ({n})') for n, c in entries if n not in classes]
        if path.suffix.lower() != '.csv':
            ignore += [parse_color(c, f'{path} (ignore)') for c in json.loads(text).get('ignore', [])]
        return cls(classes, colors, ignore, ignore_index, source=str(path))

    def encode(self, rgb: np.ndarray, where: str = '<mask>') -> np.ndarray:
        """Map an (H, W, 3) uint8 colour mask to (H, W) uint8 class indices.

        Raises:
            PaletteError: naming ``where``, every colour outside the palette and its pixel count.
        """
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise PaletteError(f'{where}: expected an RGB colour mask, got an array of shape {rgb.shape}')
        coding = LabelCoding(list(self.classes), list(self.colors), list(self.ignore_colors), mode='color',
                             ignore_index=self.ignore_index)
        keys = coding.keys_of(np.moveaxis(rgb, -1, 0))
        labels, unknown = coding.encode(keys)
        if unknown.any():
            values, counts = np.unique(keys[unknown], return_counts=True)
            hint = ('; black pixels are usually unannotated: list "#000000" under "ignore" in the palette to '
                    'leave them out of training' if 0 in values.tolist() and (0, 0, 0) not in map(tuple, self.colors)
                    else '')
            raise PaletteError(f'{where}: {len(values)} colour(s) not in palette {self.source}: '
                               f'{coding.describe_unknown(values, counts)}{hint}')
        return labels

    def digest(self) -> str:
        """A short hash of what the palette means (classes, colours, ignore colours and index), stored in the label
        rasters made with it so that a rerun with another palette redoes them instead of keeping stale labels."""
        meaning = [list(self.classes), [list(map(int, c)) for c in self.colors],
                   sorted(list(map(int, c)) for c in self.ignore_colors), int(self.ignore_index)]
        return hashlib.sha256(json.dumps(meaning).encode()).hexdigest()[:16]

    def as_manifest_palette(self) -> List[List[int]]:
        """Colours as lists, the manifest's format."""
        return [list(c) for c in self.colors]


def _read_text(path: Path) -> str:
    """The palette file's text; an encoding other than UTF-8 is an error naming the file, not a bare traceback."""
    try:
        return path.read_text(encoding='utf-8-sig')
    except UnicodeDecodeError as exc:
        raise PaletteError(f'{path}: not UTF-8 text (byte {exc.start}); save the palette as UTF-8') from None


def _read_json(path: Path, text: str) -> List[Tuple[str, Any]]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PaletteError(f'{path}: not valid JSON ({exc})') from None
    classes = raw.get('classes') if isinstance(raw, dict) else None
    if isinstance(classes, dict):
        return [(str(k), v) for k, v in classes.items()]
    if isinstance(classes, list):
        out = []
        for i, entry in enumerate(classes):
            name = entry.get('name', entry.get('title')) if isinstance(entry, dict) else None
            if name is None or 'color' not in entry:
                raise PaletteError(f'{path}: class entry {i} needs a name (or title) and a color')
            out.append((str(name), entry['color']))
        return out
    raise PaletteError(f'{path}: expected a "classes" mapping or list')


def _read_csv(path: Path, text: str) -> List[Tuple[str, Any]]:
    rows = [r for r in csv.reader(io.StringIO(text, newline='')) if r and not r[0].startswith('#')]
    if rows and rows[0][0].strip().lower() in ('name', 'class'):
        rows = rows[1:]
    out = []
    for i, row in enumerate(rows):
        if len(row) < 2:
            raise PaletteError(f'{path}: row {i + 1} needs name,color')
        out.append((row[0].strip(), ' '.join(row[1:])))
    return out
