"""Colour-coded masks: the shipped (wrong) Dubai palette is refused, the right one converts; bad palettes fail."""
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from rsseg.formats.errors import GeoError
from rsseg.formats.palette import Palette, PaletteError
from rsseg.geo.labels import convert_color_mask

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'demo' / 'dubai'


def test_shipped_palette_refused_with_colours_and_counts(tmp_path: Path) -> None:
    pal = Palette.from_file(DEMO / 'classes.json')
    mask = DEMO / 'tile_1' / 'masks' / 'image_part_001.png'
    with pytest.raises(PaletteError, match=r'image_part_001\.png: 5 colour\(s\) not in palette.*#8429F6 \(388530 px\)'):
        convert_color_mask(DEMO / 'tile_1' / 'images' / 'image_part_001.jpg', mask, pal, tmp_path / 'x.tif')
    assert not (tmp_path / 'x.tif').exists()


@pytest.mark.parametrize('tile', ['tile_1', 'tile_2'])  # tile_2 masks are palette ('P') PNGs
def test_right_palette_converts_rgb_and_p_masks(tile: str, tmp_path: Path) -> None:
    pal = Palette.from_file(DEMO / 'palette.json')
    img = DEMO / tile / 'images' / 'image_part_001.jpg'
    labels = convert_color_mask(img, DEMO / tile / 'masks' / 'image_part_001.png', pal, tmp_path / 'l.tif')
    with rasterio.open(tmp_path / 'l.tif') as src, rasterio.open(img) as im:
        assert (src.width, src.height) == (im.width, im.height) and src.dtypes[0] == 'uint8'
        np.testing.assert_array_equal(src.read(1), labels)
        assert src.colormap(1)[0][:3] == (0x3C, 0x10, 0x98)
    assert set(np.unique(labels)) <= {0, 1, 2, 3, 4, 255} and (labels < 5).mean() > 0.5


def test_label_raster_of_a_jpeg_written_without_rasterio_warnings(tmp_path: Path) -> None:
    """A JPEG has no georeferencing: its label raster has none either, on purpose, so nothing warns about it."""
    import warnings

    from rasterio.errors import NotGeoreferencedWarning
    img = DEMO / 'tile_1' / 'images' / 'image_part_001.jpg'
    with warnings.catch_warnings():
        warnings.simplefilter('error', NotGeoreferencedWarning)
        convert_color_mask(img, DEMO / 'tile_1' / 'masks' / 'image_part_001.png', Palette.from_file(
            DEMO / 'palette.json'), tmp_path / 'l.tif')
    with rasterio.open(tmp_path / 'l.tif') as src:
        assert src.crs is None and src.transform.is_identity


def test_mask_size_mismatch_needs_resize(tmp_path: Path) -> None:
    pal = Palette.from_file(DEMO / 'palette.json')
    img = DEMO / 'tile_1' / 'images' / 'image_part_001.jpg'
    small = tmp_path / 'small.tif'
    with rasterio.open(DEMO / 'tile_1' / 'masks' / 'image_part_001.png') as src:
        data = src.read([1, 2, 3])[:, ::2, ::2]
    with rasterio.open(small, 'w', driver='GTiff', width=data.shape[2], height=data.shape[1], count=3,
                       dtype='uint8') as dst:
        dst.write(data)
    with pytest.raises(GeoError, match='pass resize=True'):
        convert_color_mask(img, small, pal, tmp_path / 'o.tif')
    labels = convert_color_mask(img, small, pal, tmp_path / 'o.tif', resize=True)
    with rasterio.open(img) as im:
        assert labels.shape == (im.height, im.width)


@pytest.mark.parametrize('content, message', [
    ({'classes': {'a': '#000000', 'b': '#000000'}}, 'duplicate colours'),
    ({'classes': [{'name': 'a', 'color': '#000001'}, {'name': 'a', 'color': '#000002'}]}, 'duplicate class names'),
    ({'classes': {'a': '#00000G'}}, 'is not a colour'),
])
def test_bad_palette_files(tmp_path: Path, content: dict, message: str) -> None:
    path = tmp_path / 'pal.json'
    path.write_text(json.dumps(content))
    with pytest.raises(PaletteError, match=message):
        Palette.from_file(path)


def test_csv_palette(tmp_path: Path) -> None:
    path = tmp_path / 'pal.csv'
    path.write_text('name,color\nroad,#FF0000\nwater,0 0 255\nignore,#FFFFFF\n')
    pal = Palette.from_file(path)
    rgb = np.array([[[255, 0, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    np.testing.assert_array_equal(pal.encode(rgb), [[0, 1, 255]])


@pytest.mark.parametrize('color', [[1.5, 2, 3], [True, 0, 0], '1.5 2 3'])
def test_non_integer_colour_refused_not_truncated(tmp_path: Path, color: object) -> None:
    path = tmp_path / 'pal.json'
    path.write_text(json.dumps({'classes': {'a': color, 'b': '#000002'}}))
    with pytest.raises(PaletteError, match=r'pal\.json \(a\).*is not a colour'):
        Palette.from_file(path)


@pytest.mark.parametrize('name', ['pal.json', 'pal.csv'])
def test_non_utf8_palette_names_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    text = '{"classes": {"bâtiment": "#000001"}}' if name.endswith('json') else 'bâtiment,#000001\n'
    path.write_bytes(text.encode('latin-1'))
    with pytest.raises(PaletteError, match=rf'{name}: not UTF-8 text'):
        Palette.from_file(path)


def test_unknown_black_pixels_suggest_ignore(tmp_path: Path) -> None:
    path = tmp_path / 'pal.json'
    path.write_text(json.dumps({'classes': {'road': '#FF0000'}}))
    pal = Palette.from_file(path)
    black = np.array([[[255, 0, 0], [0, 0, 0]]], np.uint8)
    with pytest.raises(PaletteError, match=r'#000000.*list "#000000" under "ignore"'):
        pal.encode(black, 'm.png')
    with pytest.raises(PaletteError) as info:  # other unknown colours get no such hint
        pal.encode(np.array([[[255, 0, 0], [1, 2, 3]]], np.uint8), 'm.png')
    assert 'ignore' not in str(info.value)
    path.write_text(json.dumps({'classes': {'road': '#FF0000'}, 'ignore': ['#000000']}))
    np.testing.assert_array_equal(Palette.from_file(path).encode(black), [[0, 255]])
