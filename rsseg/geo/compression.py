"""The compressions rsseg's GeoTIFF writers accept (chips, label rasters, COG class maps): one list for all of them."""
from typing import Tuple

COMPRESSIONS: Tuple[str, ...] = ('deflate', 'lzw', 'zstd', 'none')


def check_compression(name: str) -> str:
    """``name`` in lower case; one not in :data:`COMPRESSIONS` is refused naming the choices."""
    if name.lower() not in COMPRESSIONS:
        raise ValueError(f'unknown compression {name!r}; use one of {", ".join(COMPRESSIONS)}')
    return name.lower()
