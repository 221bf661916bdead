"""AdaptSegSegmentor (AdaptSegNet-style output-space adversarial UDA): build, both training phases, what the
discriminator sees and with which labels, and the tiny config through tools/train.py."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper, OptimWrapperDict

from rsseg.models.segmentors import AdaptSegSegmentor
from tests.test_models.stdaseg_utils import NUM_CLASSES, SIZE, changed, paired_batch, seg_sample, state
from tests.test_models.uda_baseline_utils import (
    REPO,
    adaptseg_cfg,
    build,
    build_from_config,
    build_optim,
    check_like_for_like,
    check_train_records,
    full_configs,
    logged_scalars,
    train_tiny_config,
)

SEGMENTOR = ['backbone', 'decode_head']
TINY = REPO / 'configs' / 'adaptseg' / 'adaptseg_deeplabv3plus-r18-tiny_1xb2-100i_dubai-demo-128x128.py'
LOSS_KEYS = ['seg.src.decode.loss_ce', 'seg.adv.loss_gen', 'seg.loss', 'disc.loss_src', 'disc.loss_tgt', 'disc.loss',
             'loss']


def _snapshot(model, names):
    return {n: state(getattr(model, n)) for n in names}


def _changed(model, snap):
    return {n: changed(s, getattr(model, n)) for n, s in snap.items()}


@pytest.fixture
def model_and_optim():
    model = build(adaptseg_cfg())
    model.train()
    return model, build_optim(model)


class TestBuild:

    def test_submodules_and_defaults(self):
        model = build(adaptseg_cfg())
        parts = ('backbone', 'neck', 'decode_head', 'auxiliary_head')
        assert [n for n in parts if getattr(model, n, None) is not None] == SEGMENTOR  # the segmentor wrapper's
        assert model.discriminator.in_channels == NUM_CLASSES
        assert model.adv_loss.loss_weight == pytest.approx(0.001)  # lambda_adv of the paper (single level)
        assert (model.adv_loss.real_label_val, model.adv_loss.fake_label_val) == (0.0, 1.0)  # source 0, target 1
        assert any(k.startswith('discriminator.') for k in model.state_dict())

    def test_discriminator_channels_must_be_classes(self):
        cfg = adaptseg_cfg()
        cfg['discriminator']['in_channels'] = 64
        with pytest.raises(ValueError, match=rf'discriminator takes 64 input channels but the decode head predicts '
                                             rf'{NUM_CLASSES} classes'):
            build(cfg)

    def test_optimizer_parts(self, model_and_optim):
        model, optim = model_and_optim
        seg = {id(p) for g in optim['segmentor'].optimizer.param_groups for p in g['params']}
        disc = {id(p) for g in optim['discriminator'].optimizer.param_groups for p in g['params']}
        assert seg == {id(p) for n in SEGMENTOR for p in getattr(model, n).parameters()}
        assert disc == {id(p) for p in model.discriminator.parameters()}


class TestTrainStep:

    def test_both_parts_step_and_log(self, model_and_optim):
        model, optim = model_and_optim
        snap = _snapshot(model, SEGMENTOR + ['discriminator'])
        for i in range(2):
            log_vars = model.train_step(paired_batch(seed=i), optim)
        diff = _changed(model, snap)
        assert all(diff[n] for n in SEGMENTOR + ['discriminator'])
        assert set(LOSS_KEYS + ['seg.src.decode.acc_seg', 'disc.acc']) <= set(log_vars)
        assert all(torch.isfinite(v).all() and not v.requires_grad for v in log_vars.values())
        assert 0.0 <= float(log_vars['disc.acc']) <= 1.0
        assert all(p.requires_grad for p in model.discriminator.parameters())  # unfrozen again

    def test_generator_step_leaves_discriminator_and_vice_versa(self, model_and_optim):
        model, optim = model_and_optim
        batch = model.data_preprocessor(paired_batch(seed=3), True)
        snap = _snapshot(model, SEGMENTOR + ['discriminator'])
        _, probs = model._train_segmentor(batch['src'], batch['tgt'], optim['segmentor'])
        diff = _changed(model, snap)
        assert all(diff[n] for n in SEGMENTOR)
        assert not diff['discriminator']
        assert all(p.grad is None or not p.grad.any() for p in model.discriminator.parameters())
        assert all(not p.requires_grad for p in probs.values())

        snap = _snapshot(model, SEGMENTOR + ['discriminator'])
        model._train_discriminator(probs, optim['discriminator'])
        diff = _changed(model, snap)
        assert not any(diff[n] for n in SEGMENTOR)
        assert diff['discriminator']

    def test_adversarial_term_reaches_the_segmentor(self):
        """With the source CE switched off the segmentor still moves: the fool term is not detached."""
        cfg = adaptseg_cfg()
        cfg['decode_head']['loss_decode']['loss_weight'] = 0.0
        cfg['adv_loss'] = dict(type='GANLoss', real_label_val=0.0, fake_label_val=1.0, loss_weight=1.0,
                               loss_name='loss_gen')
        model = build(cfg)
        model.train()
        optim = build_optim(model)
        batch = model.data_preprocessor(paired_batch(seed=4), True)
        snap = _snapshot(model, SEGMENTOR)
        model._train_segmentor(batch['src'], batch['tgt'], optim['segmentor'])
        assert all(_changed(model, snap)[n] for n in SEGMENTOR)

    def test_target_labels_never_used(self):
        runs = []
        for labels in (False, True, 'other'):
            model = build(adaptseg_cfg())
            optim = build_optim(model)
            batch = paired_batch(seed=5, tgt_labels=bool(labels))
            if labels == 'other':
                for s in batch['data_samples']['tgt']:
                    s.gt_sem_seg.data = (s.gt_sem_seg.data + 1) % NUM_CLASSES
            torch.manual_seed(0)
            model.train_step(batch, optim)
            runs.append(model.state_dict())
        for key in runs[0]:
            assert torch.equal(runs[0][key], runs[1][key]) and torch.equal(runs[0][key], runs[2][key]), key

    def test_needs_both_optimizer_keys(self, model_and_optim):
        model, optim = model_and_optim
        single = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        with pytest.raises(ValueError, match="needs an OptimWrapperDict with key 'segmentor'"):
            model.train_step(paired_batch(), single)
        seg_only = OptimWrapperDict(segmentor=optim['segmentor'])
        with pytest.raises(ValueError, match="key 'discriminator', got \\['segmentor'\\]"):
            model.train_step(paired_batch(), seg_only)


class TestDiscriminatorInputs:

    def test_softmax_maps_and_labels(self, monkeypatch):
        model = build(adaptseg_cfg())
        model.train()
        optim = build_optim(model)
        raw = paired_batch(seed=9)
        batch = model.data_preprocessor(copy.deepcopy(raw), True)
        seen, outs = [], []
        forward = model.discriminator.forward

        def record(x):
            out = forward(x)
            seen.append(x.detach().clone())
            outs.append(out.detach().clone())
            return out
        monkeypatch.setattr(model.discriminator, 'forward', record)
        calls = []
        for name in ('adv_loss', 'disc_loss'):
            loss = getattr(model, name)
            monkeypatch.setattr(loss, 'forward', lambda p, real, n=name, f=loss.forward: calls.append((n, real)) or
                                f(p, real))
        with torch.no_grad():  # what the segmentor predicts before its update
            expected = {d: F.interpolate(model.decode_head(model.extract_feat(batch[d]['inputs'])), size=(SIZE, SIZE),
                                         mode='bilinear', align_corners=False).softmax(dim=1) for d in ('src', 'tgt')}
        torch.manual_seed(0)
        log_vars = model.train_step(raw, optim)

        # segmentor phase: D judges the target softmax maps at image size, labelled "source" (0)
        assert seen[0].shape == (2, NUM_CLASSES, SIZE, SIZE)
        assert torch.allclose(seen[0].sum(dim=1), torch.ones(2, SIZE, SIZE), atol=1e-5)
        # discriminator phase: source maps, then target maps (detached copies of phase 1's)
        assert torch.equal(seen[2], seen[0])
        assert calls == [('adv_loss', True), ('disc_loss', True), ('disc_loss', False)]
        expected_gen = 0.001 * F.binary_cross_entropy_with_logits(outs[0], torch.zeros_like(outs[0]))
        assert float(log_vars['seg.adv.loss_gen']) == pytest.approx(float(expected_gen), rel=1e-5)
        expected_src = 0.5 * F.binary_cross_entropy_with_logits(outs[1], torch.zeros_like(outs[1]))
        expected_tgt = 0.5 * F.binary_cross_entropy_with_logits(outs[2], torch.ones_like(outs[2]))
        assert float(log_vars['disc.loss_src']) == pytest.approx(float(expected_src), rel=1e-5)
        assert float(log_vars['disc.loss_tgt']) == pytest.approx(float(expected_tgt), rel=1e-5)
        # BN in train mode: the phase-1 maps match a fresh forward of the same batch
        assert torch.allclose(seen[0], expected['tgt'], atol=1e-4)
        assert torch.allclose(seen[1], expected['src'], atol=1e-4)

    def test_disc_accuracy(self):
        model = build(adaptseg_cfg())
        src = torch.tensor([-3.0, -1.0, 2.0, -0.5])  # source label 0: negative logits are right (3 of 4)
        tgt = torch.tensor([4.0, 1.0, -2.0, 0.1])    # target label 1: positive logits are right (3 of 4)
        assert float(model._disc_accuracy(src, tgt)) == pytest.approx(6 / 8)


class TestInference:

    def test_predict_and_tensor_modes(self):
        model = build(adaptseg_cfg(test_cfg=dict(mode='slide', crop_size=(SIZE, SIZE), stride=(32, 32))))
        model.eval()
        size = (96, 80)
        sample = seg_sample(torch.zeros(*size))
        sample.set_metainfo(dict(img_shape=size, ori_shape=size))
        with torch.no_grad():
            out = model.val_step(dict(inputs=[torch.rand(3, *size)], data_samples=[sample]))
            logits = model(torch.rand(1, 3, SIZE, SIZE), mode='tensor')
        assert out[0].pred_sem_seg.shape == size
        assert logits.shape == (1, NUM_CLASSES, SIZE // 4, SIZE // 4)

    def test_loss_mode_is_supervised(self):
        model = build(adaptseg_cfg())
        losses = model(torch.rand(2, 3, SIZE, SIZE), [seg_sample(torch.zeros(SIZE, SIZE))] * 2, mode='loss')
        assert {'seg.src.decode.loss_ce', 'seg.src.decode.acc_seg'} == set(losses)


class TestTinyConfig:

    def test_like_for_like_with_tiny_stdaseg(self):
        check_like_for_like(TINY, 'adaptseg')

    @pytest.mark.parametrize('num_classes', [5, 6])
    def test_discriminator_follows_the_number_of_classes(self, num_classes):
        model = build_from_config(TINY, num_classes)
        assert isinstance(model, AdaptSegSegmentor)
        assert model.discriminator.in_channels == num_classes
        assert model.discriminator.layers[0].norm_cfg is None  # the reference discriminator has no normalisation

    def test_three_iterations_with_target_miou(self, tmp_path):
        proc = train_tiny_config(TINY, tmp_path, iters=3)
        assert proc.returncode == 0, proc.stderr[-3000:]
        records = logged_scalars(tmp_path)
        assert check_train_records(records, LOSS_KEYS + ['disc.acc'], 3) is None, check_train_records(
            records, LOSS_KEYS + ['disc.acc'], 3)
        val = [r for r in records if 'mIoU' in r]
        assert val and val[-1]['step'] == 3 and 0.0 <= val[-1]['mIoU'] <= 100.0
        assert any(k.startswith('IoU.') for k in val[-1])  # per-class IoU on the target val split
        assert (tmp_path / 'iter_3.pth').is_file()


class TestFullConfigs:

    @pytest.mark.parametrize('config', full_configs('adaptseg'), ids=lambda p: p.stem.rsplit('_', 1)[1])
    def test_like_for_like_with_stdaseg(self, config):
        check_like_for_like(config, 'adaptseg')

    def test_five_settings(self):
        assert len(full_configs('adaptseg')) == 5

    def test_r50_config_builds(self):
        config = REPO / 'configs' / 'adaptseg' / 'adaptseg_deeplabv3plus-r50-d8_1xb2-40k_loveda-rural2urban-384x384.py'
        model = build_from_config(config)
        assert isinstance(model, AdaptSegSegmentor) and model.backbone.depth == 50
        assert model.discriminator.in_channels == 7  # LoveDA classes
        assert model.adv_loss.loss_weight == pytest.approx(0.001)


def test_registered():
    from mmseg.registry import MODELS
    assert MODELS.get('AdaptSegSegmentor') is AdaptSegSegmentor
