"""STDASegmentor: build contract, both training phases, pseudo-labels, inference, and the errors of inconsistent
parts (numbers at build, shapes by check_shapes / init_weights)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from rsseg.models.segmentors import STDASegmentor, spatial_softmax
from tests.test_models.stdaseg_utils import (
    NUM_CLASSES,
    SIZE,
    build_model,
    build_optim,
    changed,
    paired_batch,
    seg_sample,
    state,
    tiny_model_cfg,
)

STUDENTS = ['backbone_s', 'backbone_t', 'neck', 'decode_head_s', 'decode_head_t']
DISCS = ['discriminator_s', 'discriminator_t']
TEACHERS = ['ema_decode_head_s', 'ema_decode_head_t']


@pytest.fixture(scope='module')
def model_and_optim():
    model = build_model(tiny_model_cfg(dropout=0.0))
    return model, build_optim(model)


def _snapshot(model, names):
    return {n: state(getattr(model, n)) for n in names}


def _changed(model, snap):
    return {n: changed(s, getattr(model, n)) for n, s in snap.items()}


class TestBuild:

    def test_submodules_and_teachers(self):
        model = build_model()
        for name in STUDENTS + DISCS + TEACHERS:
            assert hasattr(model, name), name
        for teacher, student in zip(TEACHERS, ['decode_head_s', 'decode_head_t']):
            t, s = getattr(model, teacher), getattr(model, student)
            assert all(not p.requires_grad for p in t.parameters())
            for (_, a), (_, b) in zip(t.state_dict().items(), s.state_dict().items()):
                assert torch.equal(a, b)  # init_weights starts the teachers as copies
        assert model.ema_pairs() == [('decode_head_s', 'ema_decode_head_s'), ('decode_head_t', 'ema_decode_head_t')]
        keys = model.state_dict().keys()
        assert any(k.startswith('ema_decode_head_t.') for k in keys)
        assert any(k.startswith('discriminator_s.') for k in keys)

    def test_students_differ(self):
        model = build_model()
        a = next(model.backbone_s.parameters())
        b = next(model.backbone_t.parameters())
        assert not torch.equal(a, b)  # two independently initialised students

    def test_pseudo_loss_inherits_head_class_weight(self):
        cfg = tiny_model_cfg()
        cfg['decode_head_t']['loss_decode']['class_weight'] = [1.0, 2.0, 3.0, 4.0]
        model = build_model(cfg)
        assert model.pseudo_loss['s'].class_weight is None
        assert model.pseudo_loss['t'].class_weight == [1.0, 2.0, 3.0, 4.0]

    def test_branch_scope(self):
        model = build_model(tiny_model_cfg(ema_scope='branch'))
        names = [t for _, t in model.ema_pairs()]
        assert names == TEACHERS + ['ema_backbone_s', 'ema_backbone_t', 'ema_neck']
        assert all(not p.requires_grad for n in names for p in getattr(model, n).parameters())

    def test_teacher_dropout_stays_off(self):
        model = build_model(tiny_model_cfg(dropout=0.5))
        model.train()
        assert model.decode_head_s.dropout.training
        assert not model.ema_decode_head_s.dropout.training
        assert model.ema_decode_head_s.conv_seg.training  # the rest follows the model

    def test_plain_preprocessor_config_is_paired(self):
        cfg = tiny_model_cfg()
        cfg['data_preprocessor'] = dict(type='SegDataPreProcessor', mean=[0.5] * 3, std=[0.2] * 3, size=(SIZE, SIZE))
        model = build_model(cfg)
        assert type(model.data_preprocessor).__name__ == 'PairedSegDataPreProcessor'


def _build_only(cfg):
    """The model of ``cfg`` as ``MODELS.build`` makes it (no init_weights, no shape check)."""
    init_default_scope('mmseg')
    return MODELS.build(copy.deepcopy(cfg))


class TestShapeErrors:
    """Mismatched shapes are found by ``check_shapes`` (a dry forward), never while building."""

    def _expect(self, cfg, match):
        model = _build_only(cfg)  # builds: no forward pass at construction
        with pytest.raises(ValueError, match=match):
            model.check_shapes()

    def test_ddm_channels(self):
        cfg = tiny_model_cfg()
        cfg['neck']['in_channels'] = [8, 16, 32, 128]
        self._expect(cfg, r'in_channels \[8, 16, 32, 128\] do not match the backbone output channels \[8, 16, 32, 64\]')

    def test_head_channels(self):
        cfg = tiny_model_cfg()
        cfg['decode_head_t']['in_channels'] = 64
        self._expect(cfg, r'decode_head_t in_channels=64 .* do not match the DDM output channels \[8, 16, 32, 72\]')

    def test_head_c1_channels(self):
        cfg = tiny_model_cfg()
        cfg['decode_head_s']['c1_in_channels'] = 16
        self._expect(cfg, r'decode_head_s .*c1_in_channels=16.* DDM output channels')

    def test_ddm_stage_no_decoder_reads(self):
        cfg = tiny_model_cfg()
        cfg['neck'].pop('distinct_stages')  # DeepLabV3+ reads stages 0 and 3 only
        self._expect(cfg, r'DDM stage\(s\) \[1, 2\] hold parameters but no decoder reads them '
                          r'.*distinct_stages=\[0, 3\]')

    def test_discriminator_channels(self):
        cfg = tiny_model_cfg(discriminator_t=dict(type='FCDiscriminator', in_channels=32, num_convs=1))
        self._expect(cfg, 'discriminator_t in_channels=32 but the last stage of backbone_t has 64 channels')

    def test_init_weights_checks_shapes(self):
        """``Runner.train`` calls ``init_weights`` before the first iteration: a bad config fails there."""
        cfg = tiny_model_cfg()
        cfg['decode_head_t']['in_channels'] = 64
        model = _build_only(cfg)
        with pytest.raises(ValueError, match='decode_head_t in_channels=64'):
            model.init_weights()

    def test_building_runs_no_forward(self, monkeypatch):
        from mmseg.models.backbones import ResNetV1c
        calls = []
        forward = ResNetV1c.forward
        monkeypatch.setattr(ResNetV1c, 'forward', lambda self, x: calls.append(x.shape) or forward(self, x))
        model = _build_only(tiny_model_cfg())
        assert calls == []
        model.check_shapes()
        assert calls == [(1, 3, 64, 64)] * 2  # one dummy image through each backbone
        modes = {n: m.training for n, m in model.named_modules()}
        model.check_shapes()
        assert {n: m.training for n, m in model.named_modules()} == modes  # every module back in its mode


class TestBuildErrors:
    """Numbers that do not fit are errors at build (no forward pass needed)."""

    def _expect(self, cfg, match):
        with pytest.raises(ValueError, match=match):
            _build_only(cfg)

    def test_num_classes(self):
        cfg = tiny_model_cfg()
        cfg['decode_head_t']['num_classes'] = 5
        self._expect(cfg, 'decode_head_s has 4 classes but decode_head_t 5')

    def test_band_mismatch_preprocessor_backbone(self):
        cfg = tiny_model_cfg()
        cfg['data_preprocessor']['source'] = dict(mean=[0.5] * 4, std=[0.2] * 4)
        self._expect(cfg, 'normalises 4 bands but the backbones take 3')

    def test_band_mismatch_between_domains(self):
        cfg = tiny_model_cfg()
        cfg['data_preprocessor']['target'] = dict(mean=[0.5] * 4, std=[0.2] * 4)
        self._expect(cfg, 'source has 3 bands .* but the target 4')

    def test_bad_ema_scope(self):
        self._expect(tiny_model_cfg(ema_scope='all'), 'ema_scope')


class TestTrainStep:

    def test_all_parts_step_teachers_untouched(self, model_and_optim):
        model, optim = model_and_optim
        model.train()
        snap = _snapshot(model, STUDENTS + DISCS + TEACHERS)
        for i in range(2):
            log_vars = model.train_step(paired_batch(seed=i), optim)
        diff = _changed(model, snap)
        for name in STUDENTS + DISCS:
            assert diff[name], f'{name} did not change'
        for name in TEACHERS:
            assert not diff[name], 'train_step must not move the teachers (the EMA hook does)'
            assert all(p.grad is None for p in getattr(model, name).parameters())
        expected = {
            'seg.src.decode_s.loss_ce', 'seg.src.decode_t.loss_ce', 'seg.src.decode_s.acc_seg',
            'seg.tgt.decode_s.loss_pseudo', 'seg.tgt.decode_t.loss_pseudo', 'seg.tgt.decode_s.acc_pseudo',
            'seg.tgt.pseudo_ratio', 'seg.adv.disc_s.loss_gen', 'seg.adv.disc_t.loss_gen', 'seg.loss',
            'disc.disc_s.loss_real', 'disc.disc_s.loss_fake', 'disc.disc_t.loss_real', 'disc.disc_t.loss_fake',
            'disc.disc_s.acc', 'disc.disc_t.acc', 'disc.loss', 'loss'
        }
        assert expected <= set(log_vars)
        assert all(torch.isfinite(v).all() and not v.requires_grad for v in log_vars.values())
        assert all(p.requires_grad for n in DISCS for p in getattr(model, n).parameters())

    def test_generator_step_leaves_discriminators(self, model_and_optim):
        model, optim = model_and_optim
        model.train()
        batch = model.data_preprocessor(paired_batch(seed=3), True)
        snap = _snapshot(model, STUDENTS + DISCS)
        _, adv_inputs = model._train_segmentors(batch['src'], batch['tgt'], optim)
        diff = _changed(model, snap)
        assert all(diff[n] for n in STUDENTS)
        assert not any(diff[n] for n in DISCS)
        assert all(p.grad is None or not p.grad.any() for n in DISCS for p in getattr(model, n).parameters())
        assert all(not v.requires_grad for v in adv_inputs['probs'].values())

        snap = _snapshot(model, STUDENTS + DISCS)
        model._train_discriminators(adv_inputs, optim)
        diff = _changed(model, snap)
        assert not any(diff[n] for n in STUDENTS)
        assert all(diff[n] for n in DISCS)

    def test_target_labels_never_used(self):
        runs = []
        for labels in (False, True, 'other'):
            model = build_model(tiny_model_cfg(dropout=0.0))
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

    def test_needs_optim_wrapper_dict(self, model_and_optim):
        model, _ = model_and_optim
        single = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        with pytest.raises(ValueError, match=r"needs an OptimWrapperDict with keys \['backbone', 'decode_head'"):
            model.train_step(paired_batch(), single)

    def test_unpaired_batch(self, model_and_optim):
        model, optim = model_and_optim
        batch = dict(inputs=[torch.rand(3, SIZE, SIZE)], data_samples=[seg_sample(torch.zeros(SIZE, SIZE))])
        with pytest.raises(ValueError, match='PairedDomainDataset'):
            model.train_step(batch, optim)


class TestLossTerms:

    def test_pseudo_labels_come_from_teachers(self):
        model = build_model(tiny_model_cfg(dropout=0.0, pseudo_label=dict(class_weight=[1.0, 3.0, 1.0, 1.0])))
        optim = build_optim(model)
        for teacher in TEACHERS:  # confident teachers: every target pixel is class 1
            conv = getattr(model, teacher).conv_seg
            conv.weight.data.zero_()
            conv.bias.data.copy_(torch.tensor([0.0, 20.0, 0.0, 0.0]))
        model.train()
        raw = paired_batch(seed=7)
        batch = model.data_preprocessor(copy.deepcopy(raw), True)
        with torch.no_grad():
            _, (ddm_s, ddm_t) = model._student_features(batch['tgt']['inputs'])
            logits = F.interpolate(model.decode_head_t(ddm_t), size=(SIZE, SIZE), mode='bilinear')
        expected = 0.25 * 3.0 * F.cross_entropy(logits, torch.ones(2, SIZE, SIZE, dtype=torch.long))
        log_vars = model.train_step(raw, optim)
        assert float(log_vars['seg.tgt.pseudo_ratio']) == 1.0
        assert float(log_vars['seg.tgt.decode_t.loss_pseudo']) == pytest.approx(float(expected), rel=1e-4)

    def test_discriminator_inputs_and_labels(self, monkeypatch):
        model = build_model(tiny_model_cfg(dropout=0.0))
        optim = build_optim(model)
        model.train()
        raw = paired_batch(seed=9)
        batch = model.data_preprocessor(copy.deepcopy(raw), True)
        with torch.no_grad():
            feats = {}
            for dom in ('src', 'tgt'):
                for b in ('s', 't'):
                    feats[f'{dom}_{b}'] = spatial_softmax(getattr(model, f'backbone_{b}')(batch[dom]['inputs'])[-1])
        seen = {'s': [], 't': []}
        for b in ('s', 't'):
            disc = getattr(model, f'discriminator_{b}')
            monkeypatch.setattr(disc, 'forward', lambda x, b=b, f=disc.forward: seen[b].append(x.detach()) or f(x))
        gan_calls = []
        gan = model.gan_loss.forward
        monkeypatch.setattr(model.gan_loss, 'forward', lambda p, real: gan_calls.append(real) or gan(p, real))
        model.train_step(raw, optim)

        def same(a, b):
            return torch.allclose(a, b, atol=1e-5)

        # segmentor phase: D_s judges target images through the source branch, D_t source images through the target
        assert same(seen['s'][0], feats['tgt_s']) and same(seen['t'][0], feats['src_t'])
        # discriminator phase (real and fake in one forward): D_s real = source through backbone_s, fake = target;
        # D_t real = target through backbone_t, fake = source
        assert len(seen['s']) == len(seen['t']) == 2
        assert same(seen['s'][1], torch.cat([feats['src_s'], feats['tgt_s']]))
        assert same(seen['t'][1], torch.cat([feats['tgt_t'], feats['src_t']]))
        assert gan_calls == [True, True, True, False, True, False]


class TestInference:

    def test_encode_decode_is_mean_of_students(self):
        model = build_model()
        model.eval()
        x = torch.rand(2, 3, SIZE, SIZE)
        metas = [dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE))] * 2
        with torch.no_grad():
            out = model.encode_decode(x, metas)
            ddm_s, ddm_t = model.extract_feat(x)
            ref_s = model.decode_head_s.predict(ddm_s, metas, None)
            ref = (ref_s + model.decode_head_t.predict(ddm_t, metas, None)) / 2
        assert out.shape == (2, NUM_CLASSES, SIZE, SIZE)
        assert torch.allclose(out, ref, atol=1e-6)

    def test_predict_on_teacher(self):
        model = build_model()
        model.eval()
        x = torch.rand(1, 3, SIZE, SIZE)
        metas = [dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE))]
        with torch.no_grad():
            student = model.encode_decode(x, metas)
            model.test_cfg['predict_on'] = 'teacher'
            assert torch.allclose(model.encode_decode(x, metas), student, atol=1e-6)  # copies at init
            model.ema_decode_head_s.conv_seg.bias.data += 5.0
            assert not torch.allclose(model.encode_decode(x, metas), student)
            model.test_cfg['predict_on'] = 'nobody'
            with pytest.raises(ValueError, match='predict_on'):
                model.encode_decode(x, metas)

    def test_val_step_slide(self):
        cfg = tiny_model_cfg(test_cfg=dict(mode='slide', crop_size=(SIZE, SIZE), stride=(32, 32)))
        model = build_model(cfg)
        model.eval()
        size = (96, 80)
        sample = seg_sample(torch.zeros(*size))
        sample.set_metainfo(dict(img_shape=size, ori_shape=size))
        with torch.no_grad():
            out = model.val_step(dict(inputs=[torch.rand(3, *size)], data_samples=[sample]))
        assert out[0].pred_sem_seg.shape == size
        assert out[0].seg_logits.data.shape == (NUM_CLASSES, *size)

    def test_tensor_mode(self):
        model = build_model()
        model.eval()
        with torch.no_grad():
            out = model(torch.rand(1, 3, SIZE, SIZE), mode='tensor')
        assert out.shape == (1, NUM_CLASSES, SIZE // 4, SIZE // 4)  # DeepLabV3+ decodes at stride 4

    def test_loss_mode(self):
        model = build_model()
        losses = model(torch.rand(2, 3, SIZE, SIZE), [seg_sample(torch.zeros(SIZE, SIZE))] * 2, mode='loss')
        assert {'seg.src.decode_s.loss_ce', 'seg.src.decode_t.loss_ce'} <= set(losses)


def test_registered():
    from mmseg.registry import MODELS
    assert MODELS.get('STDASegmentor') is STDASegmentor
