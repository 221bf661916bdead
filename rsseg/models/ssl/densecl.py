"""DenseCL: dense contrastive self-supervised pretraining of any mmseg backbone (Wang et al., CVPR 2021).

DenseCL ("Dense Contrastive Learning for Self-Supervised Visual Pre-Training") trains a MoCo-v2 style pair of encoders
with two InfoNCE terms: a global one (pooled embedding of one view against the momentum encoder's embedding of the
other view, negatives from a queue) and a dense one (every location of one view against its best-matching location of
the other view, matched by backbone-feature similarity, negatives from a second queue). The dense term trains the
per-pixel features a segmentation decoder reads, which image-level SSL (SimCLR, MoCo) leaves untrained; it needs no
labels, no extra decoder and one forward per view, so it fits a CPU budget. Departures: the momentum follows
:class:`~rsseg.engine.hooks.EMATeacherHook`'s schedule ``min(1 - 1/(t+1), max_decay)`` (0.99 in the CPU config; DenseCL
uses 0.999 over 200 epochs) and the queues are shorter (4096 by default; DenseCL 65536).
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel, BaseModule
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class DenseCLNeck(BaseModule):
    """DenseCL's projection heads on one backbone stage: a global MLP and a dense 1×1-conv MLP.

    Returns ``(global (N, D), dense (N, D, S), pooled dense (N, D))`` for ``S`` locations.
    """

    def __init__(self, in_channels: int, hidden_channels: int = 512, out_channels: int = 128,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.global_mlp = nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True),
                                        nn.Linear(hidden_channels, out_channels))
        self.dense_mlp = nn.Sequential(nn.Conv2d(in_channels, hidden_channels, 1), nn.ReLU(inplace=True),
                                       nn.Conv2d(hidden_channels, out_channels, 1))

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        dense = self.dense_mlp(x).flatten(2)
        return self.global_mlp(x.mean(dim=(2, 3))), dense, dense.mean(dim=2)


def _gather(x: Tensor) -> Tensor:
    """Concatenate ``x`` over distributed ranks (the queues hold every rank's keys)."""
    if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
        return x
    parts = [torch.zeros_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


@MODELS.register_module()
class DenseCL(BaseModel):
    """DenseCL on any mmseg backbone; the pretrained ``backbone`` is what a segmentation config starts from.

    Inputs: ``(N, 2, C, H, W)`` (two views, from :class:`~rsseg.datasets.transforms.TwoViews`) in [0, 1], normalised
    here with ``mean`` / ``std`` (record them: the segmentation config's data preprocessor must use the same).

    Args:
        backbone: mmseg backbone config (any band count: its ``in_channels``).
        neck: :class:`DenseCLNeck` options (``in_channels`` is read from the backbone).
        feature_index: Which backbone output the heads read (the last stage by default).
        queue_size: Negatives per queue.
        temperature: InfoNCE temperature (0.2, as DenseCL).
        dense_weight: λ, the dense term's share of the loss (0.5, as DenseCL).
        mean: Per-band mean (or one value for all bands) of the [0, 1] inputs.
        std: Per-band standard deviation (or one value).
        init_cfg: mmengine init config.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None, feature_index: int = -1,
                 queue_size: int = 4096, temperature: float = 0.2, dense_weight: float = 0.5,
                 mean: Union[float, Sequence[float]] = 0.5, std: Union[float, Sequence[float]] = 0.25,
                 data_preprocessor: Optional[dict] = None, init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0.0 <= dense_weight <= 1.0:
            raise ValueError(f'DenseCL dense_weight must be in [0, 1], got {dense_weight}')
        self.backbone = MODELS.build(backbone)
        self.bands = int(backbone.get('in_channels', 3))
        self.feature_index = feature_index
        channels = self._feature_channels()
        self.neck = DenseCLNeck(channels, **(neck or {}))
        self.momentum_backbone = copy.deepcopy(self.backbone)
        self.momentum_neck = copy.deepcopy(self.neck)
        for module in (self.momentum_backbone, self.momentum_neck):
            module.requires_grad_(False)
        self.temperature = temperature
        self.dense_weight = dense_weight
        out = self.neck.global_mlp[-1].out_features
        self.register_buffer('queue', F.normalize(torch.randn(out, queue_size), dim=0))
        self.register_buffer('dense_queue', F.normalize(torch.randn(out, queue_size), dim=0))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))
        self.register_buffer('mean', self._per_band(mean, 'mean'))
        self.register_buffer('std', self._per_band(std, 'std'))

    def _per_band(self, value: Union[float, Sequence[float]], name: str) -> Tensor:
        values = [float(value)] * self.bands if isinstance(value, (int, float)) else [float(v) for v in value]
        if len(values) != self.bands:
            raise ValueError(f'DenseCL {name} has {len(values)} values but the backbone takes {self.bands} bands')
        return torch.tensor(values).view(1, -1, 1, 1)

    @torch.no_grad()
    def _feature_channels(self) -> int:
        """Channels of the backbone output the heads read (a dry run on zeros, no statistics updated)."""
        training = self.backbone.training
        self.backbone.eval()
        channels = self.backbone(torch.zeros(1, self.bands, 64, 64))[self.feature_index].shape[1]
        self.backbone.train(training)
        return int(channels)

    def ema_pairs(self) -> List[Tuple[str, str]]:
        """(student, momentum copy) pairs for :class:`~rsseg.engine.hooks.EMATeacherHook`."""
        return [('backbone', 'momentum_backbone'), ('neck', 'momentum_neck')]

    def _views(self, inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        x = inputs if isinstance(inputs, Tensor) else torch.stack(list(inputs))
        if x.dim() != 5 or x.shape[1] != 2:
            raise ValueError(f'DenseCL expects (N, 2, C, H, W) view pairs, got {tuple(x.shape)}')
        if x.shape[2] != self.bands:
            raise ValueError(f'DenseCL: the chips have {x.shape[2]} bands but the backbone takes {self.bands} '
                             '(backbone in_channels)')
        return (x.float() - self.mean.unsqueeze(1)) / self.std.unsqueeze(1)

    def forward(self, inputs: Union[Tensor, Sequence[Tensor]], data_samples: Optional[list] = None,
                mode: str = 'tensor') -> Union[Dict[str, Tensor], Tuple[Tensor, ...]]:
        views = self._views(inputs)
        if mode == 'loss':
            return self.loss(views[:, 0], views[:, 1])
        if mode == 'tensor':
            return tuple(self.backbone(views[:, 0]))
        raise ValueError(f'DenseCL supports modes "loss" and "tensor", got {mode!r}')

    def loss(self, query_view: Tensor, key_view: Tensor) -> Dict[str, Tensor]:
        """DenseCL's global and dense InfoNCE terms, weighted ``1 - λ`` and ``λ``; enqueues the keys."""
        q_feat = self.backbone(query_view)[self.feature_index]
        q_global, q_dense, _ = self.neck(q_feat)
        with torch.no_grad():
            k_feat = self.momentum_backbone(key_view)[self.feature_index]
            k_global, k_dense, k_pooled = self.momentum_neck(k_feat)
        q_global, k_global = F.normalize(q_global, dim=1), F.normalize(k_global, dim=1)
        q_dense, k_dense = F.normalize(q_dense, dim=1), F.normalize(k_dense, dim=1)
        loss_global = self._info_nce((q_global * k_global).sum(1, keepdim=True), q_global @ self.queue.clone())
        # each query location's positive: the key location whose backbone feature is most similar
        similarity = torch.einsum('ncs,nct->nst', F.normalize(q_feat.detach().flatten(2), dim=1),
                                  F.normalize(k_feat.flatten(2), dim=1))
        match = similarity.argmax(dim=2).unsqueeze(1).expand(-1, k_dense.shape[1], -1)
        positive = (q_dense * torch.gather(k_dense, 2, match)).sum(1)  # (N, S)
        negative = torch.einsum('nds,dk->nsk', q_dense, self.dense_queue.clone())  # (N, S, K)
        loss_dense = self._info_nce(positive.reshape(-1, 1), negative.reshape(-1, negative.shape[-1]))
        self._enqueue(k_global, F.normalize(k_pooled, dim=1))
        return dict(loss_global=(1.0 - self.dense_weight) * loss_global, loss_dense=self.dense_weight * loss_dense)

    def _info_nce(self, positive: Tensor, negative: Tensor) -> Tensor:
        logits = torch.cat([positive, negative], dim=1) / self.temperature
        return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))

    @torch.no_grad()
    def _enqueue(self, keys: Tensor, dense_keys: Tensor) -> None:
        """Write this step's keys (all ranks') over the oldest queue entries."""
        keys, dense_keys = _gather(keys), _gather(dense_keys)
        size = self.queue.shape[1]
        index = (int(self.queue_ptr) + torch.arange(len(keys), device=keys.device)) % size
        self.queue[:, index] = keys.t()
        self.dense_queue[:, index] = dense_keys.t()
        self.queue_ptr[0] = (int(self.queue_ptr) + len(keys)) % size
