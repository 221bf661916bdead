"""Class styles where GIS clients read them: colour tables, GDAL category names and a QGIS style beside each map.

A COG holds the colour table, but GeoTIFF has no place for GDAL's band category names (``gdalinfo``'s
``Categories:``, read by QGIS and ArcGIS); GDAL keeps them in a PAM sidecar ``MAP.tif.aux.xml``, which it reads
whenever it opens ``MAP.tif``. The class map itself stays one unchanged, valid COG. QGIS also loads ``MAP.qml``
beside ``MAP.tif`` as the layer's default style: a paletted renderer with each class's colour and name. Both files
are written through :func:`~rsseg.formats.files.write_text` (temporary name, then rename).
"""
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from rsseg.formats.files import PathLike, discard, write_text

Colormap = Dict[int, Tuple[int, int, int, int]]


def class_colormap(palette: Sequence[Sequence[int]], nodata: Optional[int] = 255) -> Colormap:
    """GDAL colour table of a class raster (label chips, class maps): one opaque colour per class, ``nodata``
    transparent."""
    cmap: Colormap = {i: (int(c[0]), int(c[1]), int(c[2]), 255) for i, c in enumerate(palette)}
    if nodata is not None:
        cmap[int(nodata)] = (0, 0, 0, 0)
    return cmap


def class_sidecars(class_map: PathLike) -> Dict[str, Path]:
    """The sidecar paths of a class map: ``categories`` (``MAP.tif.aux.xml``) and ``style`` (``MAP.qml``)."""
    path = Path(class_map)
    return dict(categories=path.with_name(f'{path.name}.aux.xml'), style=path.with_suffix('.qml'))


def category_names_xml(names: Sequence[str]) -> str:
    """A GDAL PAM document giving band 1 one category name per class value (0, 1, ...)."""
    root = ET.Element('PAMDataset')
    band = ET.SubElement(root, 'PAMRasterBand', band='1')
    categories = ET.SubElement(band, 'CategoryNames')
    for name in names:
        ET.SubElement(categories, 'Category').text = str(name)
    ET.indent(root)
    return ET.tostring(root, encoding='unicode') + '\n'


def qgis_style_xml(names: Sequence[str], colormap: Colormap) -> str:
    """A QGIS layer style: paletted renderer on band 1, one entry per class with its colour and name."""
    root = ET.Element('qgis', styleCategories='Symbology')
    pipe = ET.SubElement(root, 'pipe')
    renderer = ET.SubElement(pipe, 'rasterrenderer', type='paletted', band='1', opacity='1', alphaBand='-1')
    palette = ET.SubElement(renderer, 'colorPalette')
    for value, name in enumerate(names):
        r, g, b, a = colormap[value]
        ET.SubElement(palette, 'paletteEntry', value=str(value), color=f'#{r:02x}{g:02x}{b:02x}', alpha=str(a),
                      label=str(name))
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding='unicode') + '\n'


def write_class_sidecars(class_map: PathLike, names: Sequence[str], colormap: Colormap) -> List[Path]:
    """Write the category names and the QGIS style of ``class_map``; returns their paths.

    Raises:
        WriteError: A sidecar could not be written (none is left half-written).
    """
    paths = class_sidecars(class_map)
    write_text(paths['categories'], category_names_xml(names))
    write_text(paths['style'], qgis_style_xml(names, colormap))
    return list(paths.values())


def discard_class_sidecars(class_map: PathLike) -> None:
    """Remove the sidecars of a class map about to be replaced, so that none describes the wrong file."""
    for path in class_sidecars(class_map).values():
        discard(path)


def read_category_names(class_map: PathLike) -> List[str]:
    """Band 1's category names from the PAM sidecar of ``class_map`` (empty when it is missing or unreadable)."""
    try:
        root = ET.parse(class_sidecars(class_map)['categories']).getroot()
    except (OSError, ET.ParseError):
        return []
    return [c.text or '' for c in root.findall("./PAMRasterBand[@band='1']/CategoryNames/Category")]
