"""PairedSegDataPreProcessor: per-domain normalisation, padding, eval batches, device propagation, band checks."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from tests.test_models.stdaseg_utils import paired_batch, seg_sample


def _build(**kw):
    init_default_scope('mmseg')
    cfg = dict(type='PairedSegDataPreProcessor',
               source=dict(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5], size=(64, 64)),
               target=dict(mean=[0.2, 0.2, 0.2], std=[0.1, 0.1, 0.1], size=(64, 64)))
    cfg.update(kw)
    return MODELS.build(cfg)


class TestPairedSegDataPreProcessor:

    def test_paired_training_batch(self):
        pre = _build()
        batch = paired_batch(batch=2, size=48)
        out = pre(batch, True)
        src, tgt = out['src'], out['tgt']
        assert src['inputs'].shape == tgt['inputs'].shape == (2, 3, 64, 64)  # padded to size
        raw_src, raw_tgt = batch['inputs']['src'][0], batch['inputs']['tgt'][0]
        assert torch.allclose(src['inputs'][0, :, :48, :48], (raw_src - 0.5) / 0.5)
        assert torch.allclose(tgt['inputs'][0, :, :48, :48], (raw_tgt - 0.2) / 0.1)
        assert src['data_samples'][0].gt_sem_seg.shape == (64, 64)
        assert 'gt_sem_seg' not in tgt['data_samples'][0]
        assert tuple(tgt['data_samples'][0].img_shape) == (48, 48)

    def test_eval_batch_uses_target_statistics(self):
        pre = _build()
        img = torch.rand(3, 64, 64)
        out = pre(dict(inputs=[img], data_samples=[seg_sample(torch.zeros(64, 64))]), False)
        assert torch.allclose(out['inputs'][0], (img - 0.2) / 0.1)
        assert torch.equal(pre.mean.flatten(), torch.full((3, ), 0.2))
        assert pre.num_bands == 3

    def test_target_defaults_to_source(self):
        pre = _build(target=None)
        out = pre(paired_batch(batch=1), True)
        raw = paired_batch(batch=1)['inputs']['tgt'][0]
        assert torch.allclose(out['tgt']['inputs'][0], (raw - 0.5) / 0.5)

    def test_band_mismatch(self):
        with pytest.raises(ValueError, match='source has 3 bands .* but the target 4'):
            _build(target=dict(mean=[0.5] * 4, std=[0.5] * 4))

    def test_unpaired_training_batch(self):
        with pytest.raises(ValueError, match='PairedDomainDataset'):
            _build()(dict(inputs=[torch.rand(3, 64, 64)], data_samples=[seg_sample()]), True)

    def test_missing_branch(self):
        batch = paired_batch(batch=1)
        del batch['inputs']['tgt']
        with pytest.raises(ValueError, match=r"lacks branch\(es\) \['tgt'\]"):
            _build()(batch, True)

    def test_to_moves_inner_devices(self):
        pre = _build()
        pre.to('meta')
        assert pre.source.device.type == pre.target.device.type == 'meta'
        pre = _build()
        pre.source._device = pre.target._device = torch.device('meta')
        pre.cpu()
        assert pre.source.device.type == pre.target.device.type == 'cpu'
