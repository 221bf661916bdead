"""Datasets over raster chips described by an rsseg manifest."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Union

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from rsseg.formats.manifest import Manifest, manifest_path

from .prepare import ensure_prepared


@DATASETS.register_module()
class GeoChipDataset(BaseSegDataset):
    """Chips listed in a manifest (written by ``data_prep/tile_scenes.py`` or a converter).

    Classes and palette come from the manifest; each sample carries its normalisation sidecar, scene and window so
    :class:`~rsseg.datasets.transforms.LoadRasterImage` reads it exactly as the scene predictor will.

    Args:
        manifest: Path to ``manifest.json``.
        split: Chips of this split only (``'train'``, ``'val'``, ``'test'``), or of several (a list: the reference
            protocol scores ``['val', 'test']``); all chips when None.
        with_label: Attach label paths; False for the unlabelled target domain of UDA training.
        prepare: Optional ``dict(type=NAME, **kwargs)`` naming a registered preparer that creates the manifest
            when it does not exist yet (used by self-contained example configs).
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``pipeline``, ``test_mode``...).
    """

    def __init__(self, manifest: str, split: Union[None, str, Sequence[str]] = None, with_label: bool = True,
                 prepare: Optional[dict] = None, pipeline: Optional[List[Callable]] = None, **kwargs) -> None:
        if prepare:
            ensure_prepared(manifest, prepare)
        self.manifest_path = manifest
        self.manifest = Manifest.load(manifest)
        # folders the (trusted) config's prepare step names: whole images a manifest lists in place
        self.data_roots = [v for v in (prepare or {}).values() if isinstance(v, str) and osp.isdir(v)]
        self.split = split if split is None or isinstance(split, str) else list(split)
        self.with_label = with_label
        metainfo = dict(classes=tuple(self.manifest.classes), palette=[list(c) for c in self.manifest.palette])
        metainfo.update(kwargs.pop('metainfo', None) or {})
        super().__init__(ann_file=manifest, metainfo=metainfo, pipeline=pipeline or [],
                         ignore_index=self.manifest.ignore_index, **kwargs)

    def load_data_list(self) -> List[dict]:
        def path(entry: str) -> str:
            return str(manifest_path(self.manifest_path, entry, self.data_roots))

        stats = path(self.manifest.norm_stats) if self.manifest.norm_stats else None
        # per-scene statistics (tiler --norm-scope scene) override the domain sidecar for their scene's chips
        by_scene = {k: path(v) for k, v in (self.manifest.meta.get('norm_stats_by_scene') or {}).items()}
        chips = self.manifest.select(self.split)
        if not chips:
            counts = ', '.join(f'{k} {v}' for k, v in sorted(self.manifest.split_counts().items())) or 'none'
            raise ValueError(f'{self.manifest_path}: no chips in split {self.split!r} (chips per split: {counts}); '
                             'convert the dataset with an evaluation protocol that fills it (data_prep converters: '
                             "--protocol holdout carves a labelled test split) or evaluate on split ['val', 'test']")
        data_list = []
        for chip in chips:
            labelled = self.with_label and chip.ann is not None
            data_list.append(dict(
                img_path=path(chip.img),
                seg_map_path=path(chip.ann) if labelled else None,
                label_map=self.label_map, reduce_zero_label=self.reduce_zero_label, seg_fields=[],
                num_classes=len(self.manifest.classes), manifest=self.manifest_path,
                norm_stats=by_scene.get(chip.scene, stats), scene=chip.scene, window=chip.window))
        return data_list
