"""Pissas et al.'s multi-scale / cross-scale contrastive head: the loss rewards class clusters, reads only labelled
pixels, trains its projections, and a config adds it as an auxiliary head of an ordinary segmentor."""
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import rsseg.plugin  # noqa: F401
from rsseg.models.decode_heads import sup_con


def _samples(labels: torch.Tensor):
    return [SegDataSample(gt_sem_seg=PixelData(data=lab[None])) for lab in labels]


def _head(**kw):
    cfg = dict(type='MultiScaleContrastiveHead', in_channels=[8, 16], in_index=[0, 1], proj_channels=16,
               loss_weight=1.0)
    return MODELS.build({**cfg, **kw})


def test_clustered_embeddings_score_lower_than_mixed_ones():
    torch.manual_seed(0)
    labels = torch.arange(4).repeat_interleave(16)
    centres = torch.nn.functional.normalize(torch.randn(4, 32), dim=1)
    clustered = torch.nn.functional.normalize(centres[labels] + 0.05 * torch.randn(64, 32), dim=1)
    mixed = torch.nn.functional.normalize(torch.randn(64, 32), dim=1)
    assert sup_con(clustered, labels, clustered, labels, 0.1, same=True) < \
        sup_con(mixed, labels, mixed, labels, 0.1, same=True) - 1.0


def test_the_loss_trains_the_projections_and_falls():
    torch.manual_seed(0)
    head = _head()
    labels = torch.randint(0, 3, (2, 32, 32))
    labels[:, :4] = 255
    feats = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)]
    feats[0][:, :3] += labels[:, ::2, ::2][:, None].clamp(max=3).float()  # class information to find in stage 0
    opt = torch.optim.SGD(head.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        loss = head.loss(feats, _samples(labels), {})['loss_contrast']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_unlabelled_pixels_are_never_anchors():
    head = _head()
    labels = torch.full((2, 32, 32), 255)
    loss = head.loss([torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)], _samples(labels), {})['loss_contrast']
    assert loss.item() == 0.0
    emb, lab = head._sample(torch.randn(1, 4, 8, 8), torch.tensor([[255] * 8] * 4 + [[1] * 8] * 4)[None])
    assert emb.shape == (32, 4) and set(lab.tolist()) == {1}       # the 32 labelled pixels of 64


def test_an_encoder_decoder_adds_it_as_auxiliary_head():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from tests.conftest import REPO
    init_default_scope('mmseg')
    cfg = Config.fromfile(str(next((REPO / 'configs' / 'mscl').glob('*tiny*.py'))))
    model = MODELS.build(cfg.model)
    inputs = torch.rand(2, 3, 64, 64)
    samples = _samples(torch.randint(0, 5, (2, 64, 64)))
    for s in samples:
        s.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64), ori_shape=(64, 64)))
    losses = model.loss(inputs, samples)
    assert 'aux.loss_contrast' in losses and losses['aux.loss_contrast'] > 0
