"""Loading transforms that read rasters through rasterio, keeping every band, the bit depth and georeferencing.

mmcv's OpenCV reader turns a 4-band uint16 GeoTIFF into 3 grey uint8 channels; these transforms read exactly the
bands asked for and map them to float32 in [0, 1] with the same :class:`~rsseg.geo.NormStats` the scene predictor uses.
"""
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from rsseg.geo.io import open_raster, read_raster
from rsseg.geo.normalization import NormStats, default_stats


@lru_cache(maxsize=64)
def _load_stats(path: str) -> NormStats:
    return NormStats.load(path)


@TRANSFORMS.register_module()
class LoadRasterImage(BaseTransform):
    """Read an image raster as float32 (H, W, C) in [0, 1].

    Required Keys: ``img_path``; optional ``norm_stats`` (sidecar path, set by :class:`GeoChipDataset`).

    Added Keys: ``img``, ``img_shape``, ``ori_shape``, ``valid_mask`` (H, W bool), ``crs`` (WKT or None),
    ``geo_transform`` (6 affine coefficients).

    Args:
        bands: 1-based bands to read in output order; all bands when None.
        norm_stats: Sidecar path used when the sample carries none; 8-bit imagery needs none.
    """

    def __init__(self, bands: Optional[Sequence[int]] = None, norm_stats: Optional[str] = None) -> None:
        self.bands = list(bands) if bands else None
        self.norm_stats = norm_stats

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        data, valid = read_raster(path, self.bands)
        stats_path = results.get('norm_stats') or self.norm_stats
        stats = _load_stats(str(stats_path)) if stats_path else default_stats(data.dtype, data.shape[0], path)
        img = stats.apply(data)
        img[:, ~valid] = 0.0
        results['img'] = np.ascontiguousarray(img.transpose(1, 2, 0))
        results['img_shape'] = results['ori_shape'] = img.shape[1:]
        results['valid_mask'] = valid
        results.update(_georef(path))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(bands={self.bands}, norm_stats={self.norm_stats!r})'


@TRANSFORMS.register_module()
class LoadRasterAnnotation(BaseTransform):
    """Read a class-index label raster as uint8; nodata (file mask or image ``valid_mask``) → ``ignore_index``.

    Required Keys: ``seg_map_path``; optional ``valid_mask``, ``label_map``, ``reduce_zero_label``, ``num_classes``
    (values outside the classes that are not ``ignore_index`` are refused, naming the file and ``manifest``).

    Added Keys: ``gt_seg_map``, ``seg_fields``.

    Args:
        ignore_index: Value for unlabelled pixels.
    """

    def __init__(self, ignore_index: int = 255) -> None:
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        path = results['seg_map_path']
        data, valid = read_raster(path, [1])
        label = data[0]
        if np.issubdtype(label.dtype, np.floating):
            valid &= np.isfinite(label)
        out_of_range = (label < 0) | (label > 255)
        seg = np.where(out_of_range, self.ignore_index, label).astype(np.uint8)
        if results.get('reduce_zero_label'):
            seg = np.where(seg == 0, 255, seg - 1).astype(np.uint8)
            seg[seg == 254] = 255
        if results.get('label_map'):
            source = seg.copy()
            for old, new in results['label_map'].items():
                seg[source == old] = new
        seg[~valid] = self.ignore_index
        if 'valid_mask' in results and results['valid_mask'].shape == seg.shape:
            seg[~results['valid_mask']] = self.ignore_index
        self._check_range(seg, path, results.get('num_classes'), results.get('manifest'))
        results['gt_seg_map'] = seg
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def _check_range(self, seg: np.ndarray, path: str, num_classes: Optional[int], manifest: Optional[str]) -> None:
        """Refuse labels outside ``0..num_classes-1`` that are not the ignore index (a wrong coding or palette)."""
        if num_classes is None:
            return
        bad = np.unique(seg[(seg >= num_classes) & (seg != self.ignore_index)])
        if bad.size:
            raise ValueError(f'{path}: label values {bad[:8].tolist()} are outside the {num_classes} classes '
                             f'0..{num_classes - 1} of {manifest or "the dataset"} and not the ignore index '
                             f'{self.ignore_index}; convert the labels with the dataset\'s coding (data_prep/) or map '
                             'those values to the ignore index')

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(ignore_index={self.ignore_index})'


def _georef(path: str) -> dict:
    with open_raster(path) as src:
        crs = src.crs.to_wkt() if src.crs else None
        return dict(crs=crs, geo_transform=tuple(src.transform)[:6])
