"""Unsupervised domain adaptation dataset: every source sample paired with a random unlabelled target sample."""
import copy
from typing import Any, Optional, Union

import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from mmseg.registry import DATASETS
from torch.utils.data import Dataset

from rsseg.formats.sample_fields import TARGET_LOG_FIELD

LABEL_LOADERS = ('LoadAnnotations', 'LoadRasterAnnotation', 'LoadSingleRSImageFromFile')


def _build(cfg: Union[dict, Dataset]) -> Dataset:
    return DATASETS.build(cfg) if isinstance(cfg, dict) else cfg


def _describe(dataset: Dataset) -> str:
    """How to name a dataset in an error message: its manifest / annotation file when it has one."""
    for attr in ('manifest_path', 'ann_file', 'data_root'):
        value = getattr(dataset, attr, None)
        if value:
            return f'{type(dataset).__name__}({value})'
    return type(dataset).__name__


@DATASETS.register_module()
class PairedDomainDataset(Dataset):
    """Pair each labelled source sample with a random target sample; each goes through its own pipeline.

    An item is ``{'inputs': {'src': Tensor, 'tgt': Tensor}, 'data_samples': {'src': SegDataSample,
    'tgt': SegDataSample}}``; mmengine's ``pseudo_collate`` turns a list of them into the paired batch
    :class:`~rsseg.models.PairedSegDataPreProcessor` expects. The target sample never carries ``gt_sem_seg``: target
    labels, when the target dataset has them, are for evaluation only and are dropped here, or, with
    ``log_target_labels``, moved to the field ``gt_log_seg``
    (:data:`~rsseg.formats.sample_fields.TARGET_LOG_FIELD`), which no loss reads: the segmentors log their
    pseudo-labels' accuracy against it (benchmarks on labelled targets).

    The length is the source's (one epoch = every source sample once); the target index is drawn with torch's RNG,
    which the DataLoader seeds differently in every worker.

    Args:
        source: Labelled source dataset (config or instance), e.g. a ``GeoChipDataset`` with the source pipeline.
        target: Target dataset (config or instance) with the target pipeline, normally ``with_label=False``.
        check_bands: Load one sample of each domain at build time and require equal band counts.
        lazy_init: Defer the checks (and the inner datasets' ``full_init``) to :meth:`full_init`.
        log_target_labels: Keep the target's labels as ``gt_log_seg`` for the training log (see above).

    Raises:
        ValueError: At build time, when the class lists or band counts differ or the target set is empty.
    """

    def __init__(self, source: Union[dict, Dataset], target: Union[dict, Dataset], check_bands: bool = True,
                 lazy_init: bool = False, log_target_labels: bool = False) -> None:
        self.source = _build(source)
        self.target = _build(target)
        self.check_bands = check_bands
        self.log_target_labels = log_target_labels
        self._fully_initialized = False
        if not log_target_labels:
            self._warn_target_labels(target)
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The source dataset's meta information (classes, palette), equal to the target's."""
        return copy.deepcopy(self.source.metainfo)

    def full_init(self) -> None:
        """Initialise both datasets and check that they can be paired."""
        if self._fully_initialized:
            return
        for dataset in (self.source, self.target):
            if isinstance(dataset, BaseDataset) or hasattr(dataset, 'full_init'):
                dataset.full_init()
        self._check_pairable()
        self._fully_initialized = True

    def _check_pairable(self) -> None:
        src, tgt = _describe(self.source), _describe(self.target)
        if len(self.target) == 0:
            raise ValueError(f'PairedDomainDataset: the target dataset {tgt} is empty')
        if len(self.source) == 0:
            raise ValueError(f'PairedDomainDataset: the source dataset {src} is empty')
        src_classes = tuple(self.source.metainfo.get('classes') or ())
        tgt_classes = tuple(self.target.metainfo.get('classes') or ())
        if src_classes != tgt_classes:
            raise ValueError(f'PairedDomainDataset: the source {src} has classes {list(src_classes)} but the target '
                             f'{tgt} has {list(tgt_classes)}; map both to one class list first')
        if self.check_bands:
            n_src, n_tgt = self._bands(self.source), self._bands(self.target)
            if n_src != n_tgt:
                raise ValueError(f'PairedDomainDataset: the source {src} gives {n_src}-band images but the target '
                                 f'{tgt} {n_tgt}-band images; select the same bands for both (LoadRasterImage bands=)')

    @staticmethod
    def _bands(dataset: Dataset) -> int:
        inputs = dataset[0]['inputs']
        return int(inputs.shape[0])

    @staticmethod
    def _warn_target_labels(cfg: Any) -> None:
        pipeline = cfg.get('pipeline', []) if isinstance(cfg, dict) else []
        if any(isinstance(t, dict) and t.get('type') in LABEL_LOADERS for t in pipeline):
            print_log('PairedDomainDataset: the target pipeline loads labels; they are dropped before training '
                      '(drop the annotation loader to save the read)', logger='current')

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        src = self.source[idx]
        tgt = self.target[self.get_target_index()]
        tgt_sample = tgt['data_samples']
        if 'gt_sem_seg' in tgt_sample:
            labels = tgt_sample.gt_sem_seg
            del tgt_sample.gt_sem_seg
            if self.log_target_labels:
                tgt_sample.set_field(labels, TARGET_LOG_FIELD)
        return dict(inputs=dict(src=src['inputs'], tgt=tgt['inputs']),
                    data_samples=dict(src=src['data_samples'], tgt=tgt_sample))

    def get_target_index(self, generator: Optional[torch.Generator] = None) -> int:
        """A random target index (exposed for tests and samplers)."""
        return int(torch.randint(len(self.target), (1, ), generator=generator).item())
