"""Data preprocessor for paired source/target batches (UDA training) that also handles plain eval batches."""
from typing import Any, Dict, Optional, Union

import torch.nn as nn
from mmengine.model import BaseDataPreprocessor
from mmseg.registry import MODELS

BRANCHES = ('src', 'tgt')


def _build_inner(cfg: dict) -> BaseDataPreprocessor:
    cfg = dict(cfg)
    cfg.setdefault('type', 'SegDataPreProcessor')
    return MODELS.build(cfg)


def _num_bands(cfg: dict) -> Optional[int]:
    mean = cfg.get('mean')
    return len(mean) if mean is not None else None


@MODELS.register_module()
class PairedSegDataPreProcessor(BaseDataPreprocessor):
    """Normalise, pad and stack source and target images, each with its own ``SegDataPreProcessor``.

    Training batches come from :class:`~rsseg.datasets.PairedDomainDataset` as
    ``{'inputs': {'src': [...], 'tgt': [...]}, 'data_samples': {'src': [...], 'tgt': [...]}}`` and become
    ``{'src': {'inputs': Tensor, 'data_samples': [...]}, 'tgt': {...}}``. Target samples carry no ``gt_sem_seg``.
    Evaluation batches (plain ``{'inputs': [...], 'data_samples': [...]}``) are target-domain images and go through
    the target preprocessor alone, as mmdet's ``MultiBranchDataPreprocessor`` does.

    Args:
        source: ``SegDataPreProcessor`` config for source images (``type`` optional). Per-domain mean/std let an
            IRRG source and an RGB target each be normalised with their own statistics.
        target: Config for target images; the source config when None.

    Raises:
        ValueError: When source and target normalise a different number of bands.
    """

    def __init__(self, source: dict, target: Optional[dict] = None) -> None:
        super().__init__()
        target = dict(source) if target is None else target
        n_src, n_tgt = _num_bands(source), _num_bands(target)
        if n_src is not None and n_tgt is not None and n_src != n_tgt:
            raise ValueError(f'PairedSegDataPreProcessor: the source has {n_src} bands (mean/std) but the target '
                             f'{n_tgt}; both domains must feed the same bands to the shared backbones')
        self.source = _build_inner(source)
        self.target = _build_inner(target)

    @property
    def num_bands(self) -> Optional[int]:
        """Number of bands the preprocessors normalise (None without mean/std)."""
        return int(self.target.mean.numel()) if getattr(self.target, '_enable_normalize', False) else None

    @property
    def mean(self):
        """Target-domain mean (what evaluation and scene prediction use)."""
        return self.target.mean

    @property
    def std(self):
        """Target-domain std (what evaluation and scene prediction use)."""
        return self.target.std

    # BaseDataPreprocessor remembers its device in ``_device`` and only updates it in its own ``to``/``cuda``/...;
    # nn.Module.to on this wrapper would move the inner preprocessors' buffers but not their ``_device``.
    def to(self, *args, **kwargs) -> 'PairedSegDataPreProcessor':
        """Move this wrapper and both inner preprocessors."""
        for inner in (self.source, self.target):
            inner.to(*args, **kwargs)
        return super().to(*args, **kwargs)

    def cuda(self, *args, **kwargs) -> 'PairedSegDataPreProcessor':
        """Move this wrapper and both inner preprocessors to the current CUDA device."""
        for inner in (self.source, self.target):
            inner.cuda(*args, **kwargs)
        return super().cuda(*args, **kwargs)

    def cpu(self, *args, **kwargs) -> 'PairedSegDataPreProcessor':
        """Move this wrapper and both inner preprocessors to the CPU."""
        for inner in (self.source, self.target):
            inner.cpu(*args, **kwargs)
        return super().cpu(*args, **kwargs)

    def forward(self, data: dict, training: bool = False) -> Dict[str, Any]:
        """Preprocess a paired training batch per branch, or an evaluation batch with the target preprocessor."""
        if not training or not isinstance(data.get('inputs'), dict):
            if training:
                raise ValueError('PairedSegDataPreProcessor got an unpaired training batch; wrap the training '
                                 'dataset in PairedDomainDataset (keys inputs.src / inputs.tgt)')
            return self.target(data, False)
        missing = [b for b in BRANCHES if b not in data['inputs'] or b not in data.get('data_samples', {})]
        if missing:
            raise ValueError(f'PairedSegDataPreProcessor: the training batch lacks branch(es) {missing}')
        out = {}
        for branch, inner in zip(BRANCHES, (self.source, self.target)):
            out[branch] = inner(dict(inputs=data['inputs'][branch], data_samples=data['data_samples'][branch]),
                                True)
        return out


def build_paired_preprocessor(cfg: Union[dict, nn.Module, None]) -> Optional[nn.Module]:
    """The data preprocessor of a UDA segmentor: a plain ``SegDataPreProcessor`` config (``type`` optional) becomes
    the source (= target) config of a :class:`PairedSegDataPreProcessor`, so one config serves both domains; other
    configs are built as they are, modules and None pass through."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    cfg = dict(cfg)
    if cfg.get('type', 'SegDataPreProcessor') == 'SegDataPreProcessor':
        cfg.pop('type', None)
        cfg = dict(type='PairedSegDataPreProcessor', source=cfg)
    return MODELS.build(cfg)
