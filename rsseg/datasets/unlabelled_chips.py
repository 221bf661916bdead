"""Unlabelled chips of one or more manifests, for self-supervised pretraining (labels are never listed)."""
from typing import Callable, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

from rsseg.geo.io import open_raster

from .geo_chip_dataset import GeoChipDataset


@DATASETS.register_module()
class UnlabelledChipDataset(BaseDataset):
    """The image chips of several tiler manifests (e.g. source and target together), without their labels.

    Every sample carries its manifest's normalisation sidecar, so :class:`~rsseg.datasets.transforms.LoadRasterImage`
    scales it exactly as segmentation training does. No label path is ever listed, so no pipeline can open one.

    Args:
        manifests: Manifest paths (or ``dict(manifest=..., prepare=...)`` for self-preparing example data).
        split: Chips of this split (or splits) of every manifest; all chips when None.
        pipeline: Transforms (e.g. ``LoadRasterImage`` then ``TwoViews``).

    Raises:
        ValueError: A manifest has no chips (in ``split``), or the chips' band counts differ (named per manifest).
    """

    def __init__(self, manifests: Sequence[Union[str, dict]], split: Union[None, str, Sequence[str]] = None,
                 pipeline: Optional[List[Union[dict, Callable]]] = None, **kwargs) -> None:
        if not manifests:
            raise ValueError('UnlabelledChipDataset needs at least one manifest')
        self.sources = [m if isinstance(m, dict) else dict(manifest=m) for m in manifests]
        self.split = split
        self.bands: Optional[int] = None
        super().__init__(pipeline=pipeline or [], serialize_data=False, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list, counts = [], {}
        for source in self.sources:
            chips = GeoChipDataset(**source, split=self.split, with_label=False, pipeline=[])
            if not len(chips):
                raise ValueError(f'{source["manifest"]}: no chips in split {self.split!r}')
            infos = [chips.get_data_info(i) for i in range(len(chips))]
            with open_raster(infos[0]['img_path']) as src:
                counts[source['manifest']] = src.count
            data_list += [dict(img_path=i['img_path'], norm_stats=i['norm_stats'], scene=i['scene']) for i in infos]
        if len(set(counts.values())) > 1:
            raise ValueError('UnlabelledChipDataset: the manifests\' chips have different band counts (' +
                             ', '.join(f'{m}: {c}' for m, c in counts.items()) + '); pretrain on one band set')
        self.bands = next(iter(counts.values()))
        self.manifests = list(counts)
        return data_list
