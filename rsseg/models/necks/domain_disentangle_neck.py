"""Domain disentangled module (DDM) of ST-DASegNet: between the two student backbones and their decoders.

For every backbone stage the pair ``(F_s, F_t)`` that the source-style and the target-style backbone produce for the
*same* image goes through a selective-kernel "distinct" block; on the last stage a "universal" block adds a shared,
channel-attention feature of ``d`` channels to each branch, so that stage has ``C + d`` channels.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor

Features = Sequence[Tensor]


def reduced_channels(channels: int, reduction: int = 8, min_channels: int = 8) -> int:
    """``d = max(C // reduction, min_channels)``: 2048 → 256, 512 → 64, 64 → 8 with the defaults."""
    return max(int(channels / reduction), min_channels)


class DistinctBlock(nn.Module):
    """Selective-kernel attention over the two branches of one stage.

    ``U = F_s + F_t`` → global average pool → FC ``C→d`` → two FC ``d→C`` → softmax across the two branches
    → ``(F_s · v_s, F_t · v_t)``.

    Args:
        channels: ``C`` of the stage.
        reduced: ``d``.
    """

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.fc = nn.Linear(channels, reduced)
        self.fcs = nn.ModuleList([nn.Linear(reduced, channels) for _ in range(2)])

    def forward(self, x_s: Tensor, x_t: Tensor) -> Tuple[Tensor, Tensor]:
        """Re-weight the channels of both branches; shapes are unchanged."""
        z = self.fc((x_s + x_t).mean(dim=(2, 3)))
        attention = torch.stack([fc(z) for fc in self.fcs], dim=1).softmax(dim=1)  # (N, 2, C)
        v_s, v_t = attention[:, 0, :, None, None], attention[:, 1, :, None, None]
        return x_s * v_s, x_t * v_t


class UniversalBlock(nn.Module):
    """Channel-affinity block shared by both branches (the reference's "DUM").

    ``F_st = (F_s + F_t) / 2`` → 3×3 conv → ``Z``; per branch the affinity ``E = F · Zᵀ`` (C×C) becomes
    ``softmax(max(E) − E)``; the two attentions are averaged, applied to each branch (``A · F``) and each result goes
    through its own 3×3 conv ``C→d``.

    Args:
        channels: ``C``.
        reduced: ``d`` (output channels per branch).
        conv_cfg: mmcv conv config of the three convs.
        norm_cfg: mmcv norm config (None, as the reference).
        act_cfg: mmcv activation config (ReLU, as the reference).
    """

    def __init__(self, channels: int, reduced: int, conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = dict(type='ReLU')) -> None:
        super().__init__()
        kw = dict(kernel_size=3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv = ConvModule(channels, channels, **kw)
        self.conv_s = ConvModule(channels, reduced, **kw)
        self.conv_t = ConvModule(channels, reduced, **kw)

    @staticmethod
    def _attention(x: Tensor, key: Tensor) -> Tensor:
        energy = torch.bmm(x.flatten(2), key)  # (N, C, C)
        return (energy.amax(dim=-1, keepdim=True) - energy).softmax(dim=-1)

    def forward(self, x_s: Tensor, x_t: Tensor) -> Tuple[Tensor, Tensor]:
        """Return the universal features ``(N, d, H, W)`` of both branches."""
        key = self.conv((x_s + x_t) / 2.0).flatten(2).transpose(1, 2)  # (N, HW, C)
        # The affinities sum H·W products per entry: in float16 (AMP) they overflow, so this part runs in float32.
        with torch.autocast(device_type=x_s.device.type, enabled=False):
            f_s, f_t, key = x_s.float(), x_t.float(), key.float()
            attention = (self._attention(f_s, key) + self._attention(f_t, key)) / 2.0
            out_s = torch.bmm(attention, f_s.flatten(2)).view_as(f_s)
            out_t = torch.bmm(attention, f_t.flatten(2)).view_as(f_t)
        return self.conv_s(out_s.to(x_s.dtype)), self.conv_t(out_t.to(x_t.dtype))


@MODELS.register_module()
class DomainDisentangleNeck(BaseModule):
    """The DDM over all backbone stages.

    Args:
        in_channels: Channels of every backbone stage, e.g. ``[256, 512, 1024, 2048]`` for ResNet-50 or
            ``[64, 128, 320, 512]`` for MiT-b5.
        reduction: ``r`` in ``d = max(C / r, min_channels)``.
        min_channels: Lower bound of ``d`` (the reference's ``L``; 8 in its configs).
        universal_stages: Stages (indices, negatives allowed) that also get a universal block; the last by default.
        distinct_stages: Stages that get a distinct block (all by default); the others pass through unchanged. Set
            it to the stages the decoders read (``(0, 3)`` for DeepLabV3+, which uses stage 1 and the last stage):
            blocks on unread stages would never train, and DDP refuses parameters without gradients.
        conv_cfg: Conv config of the universal block.
        norm_cfg: Norm config of the universal block.
        act_cfg: Activation config of the universal block.
        init_cfg: mmengine init config.

    Shapes:
        ``forward(x_s, x_t)`` takes the two backbones' stage lists and returns two tuples of the same length; stage
        ``i`` has ``out_channels[i]`` channels (``C_i + d_i`` on universal stages, ``C_i`` elsewhere).
    """

    def __init__(self, in_channels: Sequence[int], reduction: int = 8, min_channels: int = 8,
                 universal_stages: Sequence[int] = (-1, ), distinct_stages: Optional[Sequence[int]] = None,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None, act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if isinstance(in_channels, int) or not in_channels:
            raise ValueError(f'DomainDisentangleNeck in_channels must be a list of stage channels, got {in_channels}')
        self.in_channels = [int(c) for c in in_channels]
        self.universal_stages = self._stage_list(universal_stages, 'universal_stages')
        self.distinct_stages = self._stage_list(
            range(len(self.in_channels)) if distinct_stages is None else distinct_stages, 'distinct_stages')
        self.reduced = [reduced_channels(c, reduction, min_channels) for c in self.in_channels]
        self.distinct = nn.ModuleDict({
            str(i): DistinctBlock(self.in_channels[i], self.reduced[i])
            for i in self.distinct_stages
        })
        self.universal = nn.ModuleDict({
            str(i): UniversalBlock(self.in_channels[i], self.reduced[i], conv_cfg, norm_cfg, act_cfg)
            for i in self.universal_stages
        })

    def _stage_list(self, stages: Sequence[int], name: str) -> List[int]:
        n = len(self.in_channels)
        bad = [i for i in stages if not -n <= i < n]
        if bad:
            raise ValueError(f'DomainDisentangleNeck {name} {bad} out of range for {n} stages')
        return sorted({i % n for i in stages})

    @property
    def stages_with_params(self) -> List[int]:
        """Stages that hold trainable blocks (distinct or universal)."""
        return sorted(set(self.distinct_stages) | set(self.universal_stages))

    @property
    def out_channels(self) -> List[int]:
        """Output channels per stage."""
        return [c + (d if i in self.universal_stages else 0)
                for i, (c, d) in enumerate(zip(self.in_channels, self.reduced))]

    def check_inputs(self, x_s: Features, x_t: Features) -> None:
        """Raise ValueError naming the stage when the inputs do not match ``in_channels``."""
        if len(x_s) != len(self.in_channels) or len(x_t) != len(self.in_channels):
            raise ValueError(f'DomainDisentangleNeck expects {len(self.in_channels)} stages (in_channels='
                             f'{self.in_channels}) but the backbones give {len(x_s)} and {len(x_t)}')
        for i, (f_s, f_t, c) in enumerate(zip(x_s, x_t, self.in_channels)):
            if f_s.shape != f_t.shape:
                raise ValueError(f'DomainDisentangleNeck stage {i}: backbone_s gives {tuple(f_s.shape)} but '
                                 f'backbone_t gives {tuple(f_t.shape)}')
            if f_s.shape[1] != c:
                raise ValueError(f'DomainDisentangleNeck in_channels {self.in_channels} do not match the backbone '
                                 f'output channels {[f.shape[1] for f in x_s]} (stage {i})')

    def forward(self, x_s: Features, x_t: Features) -> Tuple[Tuple[Tensor, ...], Tuple[Tensor, ...]]:
        """Disentangle every stage; see the class docstring for shapes."""
        self.check_inputs(x_s, x_t)
        out_s, out_t = [], []
        for i, (f_s, f_t) in enumerate(zip(x_s, x_t)):
            d_s, d_t = self.distinct[str(i)](f_s, f_t) if str(i) in self.distinct else (f_s, f_t)
            if str(i) in self.universal:
                u_s, u_t = self.universal[str(i)](f_s, f_t)
                d_s, d_t = torch.cat([d_s, u_s], dim=1), torch.cat([d_t, u_t], dim=1)
            out_s.append(d_s)
            out_t.append(d_t)
        return tuple(out_s), tuple(out_t)
