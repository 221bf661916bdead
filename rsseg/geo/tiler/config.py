"""The settings of one tiling run (:class:`TileConfig`), checked when made, and the part of them the chips depend on."""
import math
from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Tuple

from rsseg.formats.label_coding import LabelCoding
from rsseg.formats.manifest import SPLITS

from ..stats import DEFAULT_PERCENTILES
from ..tiling import size_pair

TILER_VERSION = 1


@dataclass
class TileConfig:
    """Settings of one tiling run (one domain).

    Attributes:
        chip: Chip size ``(h, w)`` in pixels of the common grid.
        stride: Step ``(h, w)`` between chips (``<= chip``; smaller means overlap).
        gsd: Target pixel size in metres (None: each scene's own grid).
        crs: Target CRS (None: each scene's own; its UTM zone for scenes in degrees when ``gsd`` is set).
        bands: 1-based source bands in chip order (None: all).
        band_names: Optional names of the chip bands (recorded in the manifest).
        min_valid: Minimum fraction of valid (not nodata) pixels for a chip to be written.
        nodata: Image nodata override (the file's masks are then ignored).
        resampling: Image resampling (``auto``: average when coarsening, bilinear otherwise).
        label_resampling: Label resampling (``auto``: mode when coarsening, nearest otherwise).
        coding: Label coding and class names; required for labelled scenes.
        trust_label_grid: Accept labels whose CRS tag differs from the image's on the same grid, however far.
        alpha_is_data: Bands tagged alpha hold data (e.g. the near-infrared of an RGBIR tile written as RGBA), so no
            alpha mask is applied; by default an alpha band is the validity mask, as GDAL reads it.
        compress: Chip compression (``deflate``, ``lzw``, ``zstd``, ``none``).
        norm_scope: ``'domain'`` (one sidecar for all scenes) or ``'scene'`` (one per scene).
        percentiles: Low/high percentiles of the normalisation statistics.
        norm_stats: A precomputed sidecar to use instead of computing one (copied into the output folder).
        stats_pixels: About how many pixels to sample for the statistics (per domain, or per scene).
        splits: Train/val/test fractions (by scene).
        split_seed: Seed of the split.
        split_map: Explicit ``{scene: split}`` (published splits); listed scenes ignore ``splits``.
        domain: Domain name recorded in the manifest.
    """

    chip: Tuple[int, int]
    stride: Tuple[int, int]
    gsd: Optional[float] = None
    crs: Optional[str] = None
    bands: Optional[List[int]] = None
    band_names: Optional[List[str]] = None
    min_valid: float = 0.5
    nodata: Optional[float] = None
    resampling: str = 'auto'
    label_resampling: str = 'auto'
    coding: Optional[LabelCoding] = None
    trust_label_grid: bool = False
    alpha_is_data: bool = False
    compress: str = 'deflate'
    norm_scope: str = 'domain'
    percentiles: Tuple[float, float] = DEFAULT_PERCENTILES
    norm_stats: Optional[str] = None
    stats_pixels: int = 1 << 17
    splits: Tuple[float, float, float] = (0.8, 0.1, 0.1)
    split_seed: int = 0
    split_map: Optional[Dict[str, str]] = None
    domain: str = ''

    def __post_init__(self) -> None:
        self.chip = size_pair(self.chip, 'chip')
        self.stride = size_pair(self.stride, 'stride')
        if self.stride[0] > self.chip[0] or self.stride[1] > self.chip[1]:
            raise ValueError(f'stride {self.stride} larger than chip {self.chip} would skip pixels')
        if not 0.0 <= self.min_valid <= 1.0:
            raise ValueError(f'min_valid must be within [0, 1], got {self.min_valid}')
        if self.norm_scope not in ('domain', 'scene'):
            raise ValueError(f"norm_scope must be 'domain' or 'scene', got {self.norm_scope!r}")
        if len(self.splits) != 3 or min(self.splits) < 0 or not math.isclose(sum(self.splits), 1.0, abs_tol=1e-6):
            raise ValueError(f'splits must be three non-negative train,val,test fractions summing to 1, '
                             f'got {self.splits}')
        if self.band_names and self.bands and len(self.band_names) != len(self.bands):
            raise ValueError(f'{len(self.band_names)} band names for {len(self.bands)} bands')
        bad = {s for s in (self.split_map or {}).values() if s not in SPLITS}
        if bad:
            raise ValueError(f'unknown split name(s) {sorted(bad)} in the split map (use {", ".join(SPLITS)})')

    def chip_settings(self) -> dict:
        """Settings that determine the chips (their change invalidates finished scenes)."""
        coding = asdict(self.coding) if self.coding else None
        if coding and coding.get('value_map'):
            coding['value_map'] = sorted(coding['value_map'].items())
        return dict(version=TILER_VERSION, chip=list(self.chip), stride=list(self.stride), gsd=self.gsd,
                    crs=self.crs, bands=self.bands, min_valid=self.min_valid, nodata=json_value(self.nodata),
                    resampling=self.resampling, label_resampling=self.label_resampling, coding=coding,
                    trust_label_grid=self.trust_label_grid, alpha_is_data=self.alpha_is_data,
                    compress=self.compress)


def json_value(value: Optional[float]) -> Any:
    """A nodata value for JSON: NaN becomes the string ``'nan'`` (JSON has no NaN)."""
    if value is None:
        return None
    return 'nan' if math.isnan(float(value)) else float(value)
