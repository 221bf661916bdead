"""AdaptSegNet-style output-space adversarial adaptation (Tsai et al., CVPR 2018) as an mmseg 1.x segmentor.

One segmentation network (backbone + decode head) and one discriminator on its *softmax output*, trained in two
phases of one ``train_step`` (mmengine's multi-optimizer pattern, as :class:`STDASegmentor`):

1. segmentor phase (:meth:`AdaptSegSegmentor._train_segmentor`), discriminator frozen: CE on source images plus
   ``λ_adv · BCE(D(softmax(target logits)), source)``: the segmentor learns to make target predictions that the
   discriminator takes for source predictions; the ``segmentor`` optimizer steps;
2. discriminator phase (:meth:`AdaptSegSegmentor._train_discriminator`): D learns source (label 0, as the paper's
   code) vs target (label 1) on the *detached* softmax maps of phase 1; the ``discriminator`` optimizer steps.

Logits are upsampled to the image size before the softmax, as the reference code does. This is the paper's
single-level variant (the output of the decode head); an ``auxiliary_head`` is trained on source labels only.
"""
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple, Union

from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmseg.registry import MODELS
from torch import Tensor

from ..utils import set_requires_grad, unwrap
from .uda_encoder_decoder import UDAEncoderDecoder

DEFAULT_ADV_LOSS = dict(type='GANLoss', gan_type='vanilla', real_label_val=0.0, fake_label_val=1.0, loss_weight=0.001,
                        loss_name='loss_gen')
DEFAULT_DISC_LOSS = dict(type='GANLoss', gan_type='vanilla', real_label_val=0.0, fake_label_val=1.0, loss_weight=0.5)


@MODELS.register_module()
class AdaptSegSegmentor(UDAEncoderDecoder):
    """Output-space adversarial UDA: an ``EncoderDecoder`` plus a discriminator on its softmax maps.

    Submodules: ``backbone``, ``decode_head`` (optionally ``neck``, ``auxiliary_head``) and ``discriminator``.
    Optimizer wrappers (keys of the ``OptimWrapperDict``): ``segmentor`` (every segmentation submodule) and
    ``discriminator``.

    In the GAN losses "real" is the *source* domain: ``adv_loss(D(p_tgt), True)`` is the fool term,
    ``disc_loss(D(p_src), True) + disc_loss(D(p_tgt), False)`` the discriminator's loss. The default label values
    (``real_label_val=0``, ``fake_label_val=1``) are the reference code's ``source_label = 0``,
    ``target_label = 1``; the default weights are the paper's ``λ_adv = 0.001`` (single level) and its halved
    discriminator terms.

    Logged values: ``seg.src.decode.loss_ce`` / ``.acc_seg``, ``seg.adv.loss_gen``, ``seg.loss`` (phase total),
    ``disc.loss_src``, ``disc.loss_tgt``, ``disc.acc`` (share of discriminator outputs on the right side),
    ``disc.loss`` and ``loss``.

    Args:
        backbone: Backbone config.
        decode_head: Decode head config.
        discriminator: Discriminator config, e.g. ``FCDiscriminator(last_stride=2, norm_cfg=None)``;
            ``in_channels`` left out (or None) becomes the head's ``out_channels`` (the number of classes), which it
            must equal.
        adv_loss: GAN loss of the segmentor's fool term; its ``loss_weight`` is ``λ_adv``.
        disc_loss: GAN loss of the discriminator phase.
        neck: Optional neck config.
        auxiliary_head: Optional auxiliary head config(s) (source CE only).
        train_cfg: Unused; kept for mmseg compatibility.
        test_cfg: mmseg test config.
        data_preprocessor: Paired (or plain) preprocessor config.
        pretrained: Backbone checkpoint.
        init_cfg: mmengine init config.

    Raises:
        ValueError: At build time, when the discriminator's input channels differ from the number of classes.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 discriminator: dict,
                 adv_loss: dict = DEFAULT_ADV_LOSS,
                 disc_loss: dict = DEFAULT_DISC_LOSS,
                 neck: Optional[dict] = None,
                 auxiliary_head: Optional[Union[dict, List[dict]]] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(backbone=backbone, decode_head=decode_head, neck=neck, auxiliary_head=auxiliary_head,
                         train_cfg=train_cfg, test_cfg=test_cfg, data_preprocessor=data_preprocessor,
                         pretrained=pretrained, init_cfg=init_cfg)
        discriminator = dict(discriminator)
        if discriminator.get('in_channels') is None:  # judge the softmax of every class the head predicts
            discriminator['in_channels'] = self.out_channels
        self.discriminator = MODELS.build(discriminator)
        self.adv_loss = MODELS.build(adv_loss)
        self.disc_loss = MODELS.build(disc_loss)
        in_channels = getattr(self.discriminator, 'in_channels', self.out_channels)
        if in_channels != self.out_channels:
            raise ValueError(f'AdaptSegSegmentor: the discriminator takes {in_channels} input channels but the '
                             f'decode head predicts {self.out_channels} classes; set discriminator.in_channels='
                             f'{self.out_channels} (it judges the softmax of the segmentation output)')

    # ------------------------------------------------------------------ training
    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One AdaptSegNet iteration: segmentor phase, then discriminator phase.

        Both phases honour ``accumulative_counts`` (each wrapper's ``update_params`` scales and steps every N-th
        iteration); the two wrappers must use the same value.

        Args:
            data: A paired batch from :class:`~rsseg.datasets.PairedDomainDataset`.
            optim_wrapper: ``OptimWrapperDict`` with keys ``segmentor`` and ``discriminator``.

        Returns:
            Detached log variables (see the class docstring).
        """
        wrappers = self.optim_wrappers(optim_wrapper, ('segmentor', 'discriminator'))
        batch = self.data_preprocessor(data, True)
        log_vars, probs = self._train_segmentor(batch['src'], batch['tgt'], wrappers['segmentor'])
        log_vars.update(self._train_discriminator(probs, wrappers['discriminator']))
        log_vars['loss'] = log_vars['seg.loss'] + log_vars['disc.loss']
        return {k: v.detach() for k, v in log_vars.items()}

    @contextmanager
    def _frozen_discriminator(self) -> Iterator[None]:
        set_requires_grad(self.discriminator, False)
        try:
            yield
        finally:
            set_requires_grad(self.discriminator, True)

    def _train_segmentor(self, src: dict, tgt: dict,
                         wrapper: OptimWrapper) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Segmentor phase: source CE + λ_adv fool term, discriminator frozen; the ``segmentor`` wrapper steps.

        Returns:
            The phase's log variables and the detached softmax maps ``{'src': ..., 'tgt': ...}`` for phase 2.
        """
        with self._frozen_discriminator():
            with wrapper.optim_context(self):
                losses, probs = self._segmentor_losses(src, tgt)
            loss, log_vars = self.parse_losses(losses)
            wrapper.update_params(loss)
        log_vars['seg.loss'] = log_vars.pop('loss').detach()
        return log_vars, probs

    def _segmentor_losses(self, src: dict, tgt: dict) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Source losses and the fool term; also the detached source/target softmax maps at image size."""
        feats, logits = self.segment(src['inputs'])
        losses = self.source_losses(feats, logits, src['data_samples'])
        _, tgt_logits = self.segment(tgt['inputs'])
        probs = {'src': self.output_probs(logits, src['inputs']), 'tgt': self.output_probs(tgt_logits, tgt['inputs'])}
        losses[f'seg.adv.{self.adv_loss.loss_name}'] = self.adv_loss(self.discriminator(probs['tgt']), True)
        return losses, {k: v.detach() for k, v in probs.items()}

    def output_probs(self, logits: Tensor, inputs: Tensor) -> Tensor:
        """Softmax over classes of the logits upsampled to the image: what the discriminator judges."""
        return self.resize_to(logits, inputs.shape[-2:]).float().softmax(dim=1)

    def _train_discriminator(self, probs: Dict[str, Tensor], wrapper: OptimWrapper) -> Dict[str, Tensor]:
        """Discriminator phase: source maps as source ("real"), target maps as target; segmentor untouched."""
        with wrapper.optim_context(self):
            out_src = self.discriminator(probs['src'])
            out_tgt = self.discriminator(probs['tgt'])
            losses = {'disc.loss_src': self.disc_loss(out_src, True), 'disc.loss_tgt': self.disc_loss(out_tgt, False)}
        loss, log_vars = self.parse_losses(losses)
        wrapper.update_params(loss)
        log_vars['disc.loss'] = log_vars.pop('loss').detach()
        log_vars['disc.acc'] = self._disc_accuracy(out_src.detach(), out_tgt.detach())
        return log_vars

    def _disc_accuracy(self, out_src: Tensor, out_tgt: Tensor) -> Tensor:
        """Share of discriminator outputs closer to their own domain's label than to the other's."""
        loss = unwrap(self.disc_loss)
        real, fake = float(loss.real_label_val), float(loss.fake_label_val)
        scores = [x.float().sigmoid() if loss.gan_type == 'vanilla' else x.float() for x in (out_src, out_tgt)]
        middle, sign = (real + fake) / 2, 1.0 if real > fake else -1.0
        correct = ((scores[0] - middle) * sign > 0).float().sum() + ((scores[1] - middle) * sign < 0).float().sum()
        return correct / (out_src.numel() + out_tgt.numel())

