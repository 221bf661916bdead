"""ST-DASegNet (arXiv 2301.05526) as an mmseg 1.x segmentor: dual students, DDM, discriminators, EMA teachers.

Training is one ``train_step`` split into two phases, each its own method, in mmengine's multi-optimizer way
(``OptimWrapperDict`` indexed by name, as ``mmagic``'s GAN models and mmengine's "train a GAN" example do):

1. segmentor phase (:meth:`STDASegmentor._train_segmentors`): the discriminators are frozen; CE on source images for
   both students, pseudo-label CE on target images for both, and the adversarial "fool" terms; one backward, then the
   ``backbone`` (both backbones + DDM) and ``decode_head`` (both decoders) optimizers step;
2. discriminator phase (:meth:`STDASegmentor._train_discriminators`): each discriminator learns real vs fake from the
   *detached* features of phase 1 and its own optimizer steps.

The EMA teachers are frozen submodules (:class:`EMATeacherMixin`) updated by
:class:`~rsseg.engine.hooks.EMATeacherHook`; inference averages the two students' logits, so mmseg's ``whole``/``slide``
modes, ``tools/test.py`` and the scene predictor (which calls :meth:`encode_decode`) work unchanged. The parts are
checked against each other in :mod:`.stdaseg_checks`: numbers at build, shapes (a dry forward) by :meth:`check_shapes`,
which training runs through :meth:`init_weights`.
"""
import copy
from contextlib import ExitStack
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.optim import OptimWrapperDict
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList, add_prefix
from torch import Tensor

from ..data_preprocessor import build_paired_preprocessor
from ..utils import (
    fuse_teacher_probs,
    ground_truth_agreement,
    make_pseudo_labels,
    prepare_accumulation,
    set_requires_grad,
    unpadded_mask,
    unwrap,
    update_params_jointly,
)
from . import stdaseg_checks
from .ema_teacher_mixin import EMATeacherMixin
from .stdaseg_checks import BRANCHES, Features

DEFAULT_PSEUDO_LABEL = dict(threshold=0.975, rare_threshold=0.8, class_weight=None, fuse='prob')


def spatial_softmax(x: Tensor) -> Tensor:
    """Softmax over the spatial positions of every channel of an (N, C, H, W) map (the discriminators' input)."""
    return x.flatten(2).softmax(dim=2).view_as(x)


@MODELS.register_module()
class STDASegmentor(EMATeacherMixin, EncoderDecoder):
    """Self-training, adversarial, domain-disentangled segmentor with two student branches.

    Submodules (the contract with the optimizer constructor, the EMA hook and checkpoints): ``backbone_s``,
    ``backbone_t``, ``neck`` (the DDM), ``decode_head_s``, ``decode_head_t``, ``discriminator_s``,
    ``discriminator_t``; frozen teachers ``ema_decode_head_s``, ``ema_decode_head_t`` (plus ``ema_backbone_s``,
    ``ema_backbone_t``, ``ema_neck`` with ``ema_scope='branch'``).

    Optimizer wrappers (keys of the ``OptimWrapperDict``): ``backbone`` (both backbones + DDM), ``decode_head``
    (both decoders), ``discriminator_s``, ``discriminator_t``.

    Logged values: ``seg.src.decode_{s,t}.loss_ce`` / ``.acc_seg`` (source CE), ``seg.tgt.decode_{s,t}.loss_pseudo``
    / ``.acc_pseudo`` (pseudo-label CE, agreement with the teachers), ``seg.tgt.pseudo_ratio`` (the confident share
    ``r``), ``seg.tgt.pseudo_acc_gt`` (pseudo-labels against target ground truth, only when a benchmark loads it),
    ``seg.adv.disc_{s,t}.loss_gen`` (fool terms), ``seg.loss`` (phase total), ``disc.disc_{s,t}.loss_real``,
    ``.loss_fake``, ``.acc`` (share of discriminator outputs on the right side of 0.5), ``disc.loss`` and ``loss``.

    Args:
        backbone_s: Source-style backbone config.
        neck: DDM config (:class:`~rsseg.models.necks.DomainDisentangleNeck`).
        decode_head_s: Source-style decoder config (its input is the DDM output).
        discriminator_s: Discriminator on the source branch's last backbone stage (real: source images).
        backbone_t: Target-style backbone; a copy of ``backbone_s``'s config when None (same architecture).
        decode_head_t: Target-style decoder; a copy of ``decode_head_s``'s config when None.
        discriminator_t: Discriminator on the target branch (real: target images); copy of ``discriminator_s``'s
            config when None.
        gan_loss: Adversarial loss, used for the fool terms and the discriminators (weight 0.005 in the reference).
        pseudo_label: ``threshold`` (0.975, for ``r``), ``rare_threshold`` (0.8), ``class_weight`` (per class, or
            None), ``fuse`` (``'prob'``: mean of the teachers' softmax; ``'logit'``: softmax of mean logits).
        pseudo_loss: Pseudo-label loss config; when its ``class_weight`` is None each branch uses its decode head's
            CE class weights (as the reference reuses the head loss). Weight 0.25 per student.
        ema_scope: ``'decoder'`` (teachers are EMA copies of the decoders, fed the students' DDM features) or
            ``'branch'`` (EMA copies of both backbones, the DDM and the decoders).
        train_cfg: Unused; kept for mmseg compatibility.
        test_cfg: mmseg test config (``mode='whole'|'slide'``...) plus ``predict_on='student'|'teacher'``.
        data_preprocessor: :class:`~rsseg.models.PairedSegDataPreProcessor` config (a ``SegDataPreProcessor`` config
            is accepted and used for both domains).
        pretrained: Checkpoint path for both backbones.
        init_cfg: mmengine init config.
    """

    SEGMENTOR_OPTIM_KEYS = ('backbone', 'decode_head')
    DISCRIMINATOR_OPTIM_KEYS = {'s': 'discriminator_s', 't': 'discriminator_t'}

    def __init__(self,
                 backbone_s: dict,
                 neck: dict,
                 decode_head_s: dict,
                 discriminator_s: dict,
                 backbone_t: Optional[dict] = None,
                 decode_head_t: Optional[dict] = None,
                 discriminator_t: Optional[dict] = None,
                 gan_loss: dict = dict(type='GANLoss', gan_type='vanilla', loss_weight=0.005),
                 pseudo_label: Optional[dict] = None,
                 pseudo_loss: dict = dict(type='PseudoLabelCELoss', loss_weight=0.25),
                 ema_scope: str = 'decoder',
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        BaseSegmentor.__init__(self, data_preprocessor=build_paired_preprocessor(data_preprocessor),
                               init_cfg=init_cfg)
        if ema_scope not in ('decoder', 'branch'):
            raise ValueError(f"STDASegmentor ema_scope must be 'decoder' or 'branch', got {ema_scope!r}")
        backbones = self._backbone_cfgs(backbone_s, backbone_t, pretrained)
        heads = [decode_head_s, copy.deepcopy(decode_head_s) if decode_head_t is None else decode_head_t]
        discs = [discriminator_s, copy.deepcopy(discriminator_s) if discriminator_t is None else discriminator_t]
        for b, bb_cfg, head_cfg, disc_cfg in zip(BRANCHES, backbones, heads, discs):
            setattr(self, f'backbone_{b}', MODELS.build(bb_cfg))
            setattr(self, f'decode_head_{b}', MODELS.build(head_cfg))
            setattr(self, f'discriminator_{b}', MODELS.build(disc_cfg))
        self.neck = MODELS.build(neck)
        self.ema_scope = ema_scope
        self.build_teachers(self._teacher_cfgs(backbones, neck, heads))
        self.gan_loss = MODELS.build(gan_loss)
        self.pseudo_cfg = {**DEFAULT_PSEUDO_LABEL, **(pseudo_label or {})}
        self.pseudo_loss = nn.ModuleDict(
            {b: self.build_pseudo_loss(pseudo_loss, getattr(self, f'decode_head_{b}')) for b in BRANCHES})
        head = self.decode_head_s
        self.align_corners = head.align_corners
        self.num_classes = head.num_classes
        self.out_channels = head.out_channels
        self.train_cfg = train_cfg or {}
        self.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))
        stdaseg_checks.check_parts(self)

    # ------------------------------------------------------------------ building
    @staticmethod
    def _backbone_cfgs(backbone_s: dict, backbone_t: Optional[dict], pretrained: Optional[str]) -> List[dict]:
        cfgs = [copy.deepcopy(backbone_s), copy.deepcopy(backbone_s if backbone_t is None else backbone_t)]
        if pretrained is not None:
            for cfg in cfgs:
                if cfg.get('pretrained') is not None:
                    raise ValueError('both a backbone and the segmentor set pretrained weights')
                cfg['pretrained'] = pretrained
        return cfgs

    def _teacher_cfgs(self, backbones: List[dict], neck: dict, heads: List[dict]) -> Dict[str, dict]:
        """Student configs the teachers copy, in ``ema_pairs`` order: the decoders, and with ``ema_scope='branch'``
        both backbones and the DDM."""
        cfgs = {f'decode_head_{b}': head_cfg for b, head_cfg in zip(BRANCHES, heads)}
        if self.ema_scope == 'branch':
            cfgs.update({f'backbone_{b}': bb_cfg for b, bb_cfg in zip(BRANCHES, backbones)})
            cfgs['neck'] = neck
        return cfgs

    def init_weights(self) -> None:
        """Initialise the students, copy them into the teachers, then :meth:`check_shapes`: mmengine's
        ``Runner.train`` calls this before the first iteration, so a run fails there, not mid-training."""
        super().init_weights()
        self.check_shapes()

    def check_shapes(self, size: int = 64) -> None:
        """Check the DDM, decoders and discriminators against the backbones' features of a ``size``² dummy image
        (:func:`~rsseg.models.segmentors.stdaseg_checks.check_shapes`); ValueError naming the mismatch."""
        stdaseg_checks.check_shapes(self, size)

    @property
    def decode_head(self) -> nn.Module:
        """The source-style decoder: mmseg's ``postprocess_result`` reads ``threshold`` etc. from ``decode_head``."""
        return unwrap(self.decode_head_s)

    # ------------------------------------------------------------------ features and inference
    def _student_features(self, inputs: Tensor) -> Tuple[Tuple[Features, Features], Tuple[Features, Features]]:
        """``((backbone_s, backbone_t) raw stage lists, (DDM source branch, DDM target branch))`` of ``inputs``."""
        raw = (tuple(self.backbone_s(inputs)), tuple(self.backbone_t(inputs)))
        return raw, self.neck(*raw)

    def extract_feat(self, inputs: Tensor) -> Tuple[Features, Features]:
        """DDM features of both branches."""
        return self._student_features(inputs)[1]

    def _inference_logits(self, inputs: Tensor) -> List[Tensor]:
        """Raw logits of the two students (or, with ``test_cfg.predict_on='teacher'``, of the two teachers)."""
        if self.predict_on == 'teacher':
            return self._teacher_logits(inputs, self.extract_feat(inputs) if self.ema_scope == 'decoder' else None)
        feats = self.extract_feat(inputs)
        return [getattr(self, f'decode_head_{b}')(f) for b, f in zip(BRANCHES, feats)]

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        """Mean of both branches' logits, resized to the input (mmseg's ``predict_by_feat``)."""
        logits = self._inference_logits(inputs)
        return torch.stack([self.decode_head.predict_by_feat(x, batch_img_metas) for x in logits]).mean(dim=0)

    def _forward(self, inputs: Tensor, data_samples: OptSampleList = None) -> Tensor:
        """Mean raw logits of both branches (``mode='tensor'``)."""
        return torch.stack(self._inference_logits(inputs)).mean(dim=0)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Supervised CE of both students on labelled images (``mode='loss'``; UDA training uses train_step)."""
        return self._source_losses(self.extract_feat(inputs), data_samples)

    # ------------------------------------------------------------------ training
    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One ST-DASegNet iteration: segmentor phase, then discriminator phase.

        Every phase honours ``accumulative_counts`` (loss scaled by 1/N, steps every N-th iteration); all four
        wrappers must use the same value.

        Args:
            data: A paired batch from :class:`~rsseg.datasets.PairedDomainDataset`.
            optim_wrapper: ``OptimWrapperDict`` with keys ``backbone``, ``decode_head``, ``discriminator_s``,
                ``discriminator_t``.

        Returns:
            Log variables (see the class docstring).
        """
        self._check_optim_wrapper(optim_wrapper)
        batch = self.data_preprocessor(data, True)
        log_vars, adv_inputs = self._train_segmentors(batch['src'], batch['tgt'], optim_wrapper)
        log_vars.update(self._train_discriminators(adv_inputs, optim_wrapper))
        log_vars['loss'] = log_vars['seg.loss'] + log_vars['disc.loss']
        return {k: v.detach() for k, v in log_vars.items()}

    def _check_optim_wrapper(self, optim_wrapper: OptimWrapperDict) -> None:
        needed = list(self.SEGMENTOR_OPTIM_KEYS) + list(self.DISCRIMINATOR_OPTIM_KEYS.values())
        keys = list(optim_wrapper.keys()) if isinstance(optim_wrapper, OptimWrapperDict) else None
        if keys is None or any(k not in keys for k in needed):
            raise ValueError(f'STDASegmentor.train_step needs an OptimWrapperDict with keys {needed}, got '
                             f'{keys if keys is not None else type(optim_wrapper).__name__}; build it with '
                             "constructor='MultiOptimWrapperConstructor' (configs/_base_/schedules/*adv*.py)")
        prepare_accumulation({k: optim_wrapper[k] for k in needed}, self, type(self).__name__)

    def _train_segmentors(self, src: dict, tgt: dict,
                          optim_wrapper: OptimWrapperDict) -> Tuple[Dict[str, Tensor], dict]:
        """Segmentor phase: discriminators frozen; one backward; ``backbone`` and ``decode_head`` step."""
        wrappers = [optim_wrapper[k] for k in self.SEGMENTOR_OPTIM_KEYS]
        discriminators = [self.discriminator_s, self.discriminator_t]
        set_requires_grad(discriminators, False)
        try:
            with ExitStack() as stack:
                for wrapper in wrappers:
                    stack.enter_context(wrapper.optim_context(self))
                losses, adv_inputs = self._segmentor_losses(src, tgt)
            loss, log_vars = self.parse_losses(losses)
            update_params_jointly(loss, wrappers)
        finally:
            set_requires_grad(discriminators, True)
        log_vars['seg.loss'] = log_vars.pop('loss').detach()
        return log_vars, adv_inputs

    def _segmentor_losses(self, src: dict, tgt: dict) -> Tuple[Dict[str, Tensor], dict]:
        """All segmentor-phase terms plus the detached discriminator inputs for phase 2."""
        raw_src = (tuple(self.backbone_s(src['inputs'])), tuple(self.backbone_t(src['inputs'])))
        raw_tgt = (tuple(self.backbone_s(tgt['inputs'])), tuple(self.backbone_t(tgt['inputs'])))
        ddm_src, ddm_tgt = self._ddm_both_domains(raw_src, raw_tgt)
        losses = self._source_losses(ddm_src, src['data_samples'])
        losses.update(self._pseudo_label_losses(ddm_tgt, tgt))
        adv_losses, adv_inputs = self._adversarial_losses(raw_src, raw_tgt, src['inputs'], tgt['inputs'])
        losses.update(adv_losses)
        return losses, adv_inputs

    def _ddm_both_domains(self, raw_src: Tuple[Features, Features],
                          raw_tgt: Tuple[Features, Features]) -> Tuple[Tuple[Features, Features], ...]:
        """DDM features of the source and the target batch.

        The DDM works per image (pooling, channel affinity, convolutions), so both domains go through it as one
        batch, which is cheaper than two calls and gives the same result; a DDM with batch normalisation, or domains
        of different sizes, are processed one domain at a time.
        """
        same_size = all(a.shape[1:] == b.shape[1:] for a, b in zip(raw_src[0], raw_tgt[0]))
        if not same_size or self._has_batch_norm(self.neck):
            return self.neck(*raw_src), self.neck(*raw_tgt)
        n = raw_src[0][0].shape[0]
        joint = [tuple(torch.cat([a, b]) for a, b in zip(raw_src[i], raw_tgt[i])) for i in range(2)]
        out = self.neck(*joint)
        return (tuple(tuple(f[:n] for f in branch) for branch in out),
                tuple(tuple(f[n:] for f in branch) for branch in out))


    def _source_losses(self, ddm: Tuple[Features, Features], data_samples: SampleList) -> Dict[str, Tensor]:
        """CE of both students on labelled (source) images: ``seg.src.decode_{s,t}.*``."""
        losses = {}
        for b, feats in zip(BRANCHES, ddm):
            head = getattr(self, f'decode_head_{b}')
            head_losses = unwrap(head).loss_by_feat(head(feats), data_samples)
            losses.update(add_prefix(head_losses, f'seg.src.decode_{b}'))
        return losses

    def _pseudo_label_losses(self, ddm: Tuple[Features, Features], tgt: dict) -> Dict[str, Tensor]:
        """Pseudo-label CE of both students on target images: ``seg.tgt.*``."""
        labels, weights, ratio = self._pseudo_labels(ddm, tgt)
        ignore_index = self.ignore_index
        losses = {'seg.tgt.pseudo_ratio': ratio}
        agreement = ground_truth_agreement(labels, tgt['data_samples'], ignore_index)
        if agreement is not None:
            losses['seg.tgt.pseudo_acc_gt'] = agreement
        for b, feats in zip(BRANCHES, ddm):
            logits = resize(getattr(self, f'decode_head_{b}')(feats), size=labels.shape[-2:], mode='bilinear',
                            align_corners=self.align_corners)
            loss_fn = self.pseudo_loss[b]
            losses[f'seg.tgt.decode_{b}.{loss_fn.loss_name}'] = loss_fn(logits, labels, weights, ignore_index)
            losses[f'seg.tgt.decode_{b}.acc_pseudo'] = self._agreement(logits.detach(), labels, ignore_index)
        return losses

    @torch.no_grad()
    def _teacher_logits(self, inputs: Tensor, ddm: Optional[Tuple[Features, Features]]) -> List[Tensor]:
        """Raw teacher logits; decoder-scope teachers read the students' DDM features ``ddm``."""
        if self.ema_scope == 'branch':
            raw = (tuple(self.ema_backbone_s(inputs)), tuple(self.ema_backbone_t(inputs)))
            ddm = self.ema_neck(*raw)
        return [getattr(self, f'ema_decode_head_{b}')(tuple(f.detach() for f in feats))
                for b, feats in zip(BRANCHES, ddm)]

    @torch.no_grad()
    def _pseudo_labels(self, ddm: Tuple[Features, Features], tgt: dict) -> Tuple[Tensor, Tensor, Tensor]:
        """Teachers' pseudo-labels, per-pixel weights and confident share ``r`` for the target batch."""
        inputs = tgt['inputs']
        size = inputs.shape[-2:]
        logits = [resize(x, size=size, mode='bilinear', align_corners=self.align_corners)
                  for x in self._teacher_logits(inputs, ddm)]
        cfg = self.pseudo_cfg
        probs = fuse_teacher_probs([x.float() for x in logits], cfg['fuse'])
        return make_pseudo_labels(probs, cfg['threshold'], cfg['rare_threshold'], cfg['class_weight'],
                                  valid=unpadded_mask(tgt['data_samples'], inputs), ignore_index=self.ignore_index)

    @staticmethod
    def _agreement(logits: Tensor, labels: Tensor, ignore_index: int) -> Tensor:
        """Percentage of valid pixels where the student's argmax equals the pseudo-label (argmax, not mmseg's
        top-k ``accuracy``, which costs several milliseconds per call on CPU)."""
        valid = labels != ignore_index
        hits = (logits.argmax(dim=1) == labels) & valid
        return hits.sum().float() * 100.0 / valid.sum().clamp(min=1)

    def _discriminate(self, discriminator: nn.Module, feature: Tensor, size: Sequence[int]) -> Tensor:
        """Discriminator logits of a spatial-softmaxed feature, upsampled to the image size."""
        return resize(discriminator(feature), size=tuple(size), mode='bilinear', align_corners=self.align_corners)

    def _discriminate_pair(self, discriminator: nn.Module, real: Tensor, fake: Tensor, real_size: Sequence[int],
                           fake_size: Sequence[int]) -> Tuple[Tensor, Tensor]:
        """Discriminator logits of real and fake inputs; one forward over both when their shapes allow (the
        discriminator works per image: instance norm, no batch statistics)."""
        if real.shape[1:] != fake.shape[1:] or self._has_batch_norm(discriminator):
            return (self._discriminate(discriminator, real, real_size),
                    self._discriminate(discriminator, fake, fake_size))
        out = discriminator(torch.cat([real, fake]))
        n = real.shape[0]
        resize_kw = dict(mode='bilinear', align_corners=self.align_corners)
        return resize(out[:n], size=tuple(real_size), **resize_kw), resize(out[n:], size=tuple(fake_size), **resize_kw)

    @staticmethod
    def _has_batch_norm(module: nn.Module) -> bool:
        return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())

    def _adversarial_losses(self, raw_src: Tuple[Features, Features], raw_tgt: Tuple[Features, Features],
                            x_src: Tensor, x_tgt: Tensor) -> Tuple[Dict[str, Tensor], dict]:
        """Fool terms: target features through the source branch vs D_s, source features through the target
        branch vs D_t, both labelled real. Returns the losses and the detached inputs of both discriminators."""
        probs = {'src_s': spatial_softmax(raw_src[0][-1]), 'tgt_s': spatial_softmax(raw_tgt[0][-1]),
                 'src_t': spatial_softmax(raw_src[1][-1]), 'tgt_t': spatial_softmax(raw_tgt[1][-1])}
        sizes = {'src': x_src.shape[-2:], 'tgt': x_tgt.shape[-2:]}
        losses = {
            'seg.adv.disc_s.loss_gen': self.gan_loss(
                self._discriminate(self.discriminator_s, probs['tgt_s'], sizes['tgt']), True),
            'seg.adv.disc_t.loss_gen': self.gan_loss(
                self._discriminate(self.discriminator_t, probs['src_t'], sizes['src']), True),
        }
        return losses, dict(probs={k: v.detach() for k, v in probs.items()}, sizes=sizes)

    def _train_discriminators(self, adv_inputs: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """Discriminator phase: D_s learns source (real) vs target (fake) features of the source branch, D_t
        target (real) vs source (fake) of the target branch; students untouched."""
        probs, sizes = adv_inputs['probs'], adv_inputs['sizes']
        pairs = {'s': (('src_s', 'src'), ('tgt_s', 'tgt')), 't': (('tgt_t', 'tgt'), ('src_t', 'src'))}
        log_vars, total = {}, 0.0
        for b, ((real, real_size), (fake, fake_size)) in pairs.items():
            wrapper = optim_wrapper[self.DISCRIMINATOR_OPTIM_KEYS[b]]
            disc = getattr(self, f'discriminator_{b}')
            with wrapper.optim_context(self):
                out_real, out_fake = self._discriminate_pair(disc, probs[real], probs[fake], sizes[real_size],
                                                             sizes[fake_size])
                losses = {f'disc.disc_{b}.loss_real': self.gan_loss(out_real, True),
                          f'disc.disc_{b}.loss_fake': self.gan_loss(out_fake, False)}
            losses[f'disc.disc_{b}.acc'] = self._disc_accuracy(out_real.detach(), out_fake.detach())
            loss, parsed = self.parse_losses(losses)
            wrapper.update_params(loss)
            total = total + parsed.pop('loss').detach()
            log_vars.update(parsed)
        log_vars['disc.loss'] = total
        return log_vars

    @staticmethod
    def _disc_accuracy(out_real: Tensor, out_fake: Tensor) -> Tensor:
        """Share of discriminator outputs on the right side of 0.5 (real > 0, fake < 0 in logits)."""
        correct = (out_real > 0).float().sum() + (out_fake <= 0).float().sum()
        return correct / (out_real.numel() + out_fake.numel())
