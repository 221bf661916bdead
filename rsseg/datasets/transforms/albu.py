"""albumentations for multi-band, high-bit-depth rasters.

mmseg's ``Albu`` converts BGR↔RGB (dropping a 4th band) and fails beyond 4 bands; this wrapper hands the float32
[0, 1] image from :class:`LoadRasterImage` and its label mask to an ``albumentations.Compose`` unchanged in band order,
and keeps ``img_shape`` in step with geometric transforms. Its random draws follow numpy's global RNG, so runs with
``randomness=dict(seed=...)`` are reproducible.
"""
import copy
from typing import List

import albumentations
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def build_albu(cfg: dict) -> albumentations.BasicTransform:
    """Build an albumentations transform from a ``dict(type='Name', **kwargs)`` config, recursively."""
    cfg = copy.deepcopy(cfg)
    name = cfg.pop('type')
    cls = getattr(albumentations, name, None)
    if cls is None:
        raise KeyError(f'albumentations has no transform named {name!r}')
    if 'transforms' in cfg:
        cfg['transforms'] = [build_albu(t) for t in cfg['transforms']]
    return cls(**cfg)


@TRANSFORMS.register_module()
class RSAlbu(BaseTransform):
    """Apply albumentations transforms to any band count; label maps follow geometric transforms.

    Required Keys: ``img`` (float32 H×W×C in [0, 1] or uint8); optional ``gt_seg_map``.

    Modified Keys: ``img``, ``img_shape``, ``gt_seg_map``.

    Args:
        transforms: albumentations transform configs, e.g. ``[dict(type='RandomBrightnessContrast', p=0.5)]``.
    """

    def __init__(self, transforms: List[dict]) -> None:
        self.transforms = transforms
        self.aug = albumentations.Compose([build_albu(t) for t in transforms])

    def transform(self, results: dict) -> dict:
        # albumentations 2 draws from its own generators, seeded from OS entropy: reseed them from numpy's global
        # RNG (seeded by mmengine per run and per data worker) so a seeded run augments the same way every time.
        self.aug.set_random_seed(int(np.random.randint(2**31)))
        kwargs = dict(image=results['img'])
        if 'gt_seg_map' in results:
            kwargs['mask'] = results['gt_seg_map']
        out = self.aug(**kwargs)
        img = out['image']
        if img.dtype == np.float32:
            img = np.clip(img, 0.0, 1.0)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        if 'mask' in out:
            results['gt_seg_map'] = out['mask']
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms})'
