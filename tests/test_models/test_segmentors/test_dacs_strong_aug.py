"""DACSSegmentor's strong augmentation: only the mixed images are jittered/blurred, the teacher labels the
un-augmented targets, pasted pixels are de-normalised with the source statistics, and the configs."""
import pytest
import torch
from mmengine.config import Config

import rsseg.models.segmentors.dacs_segmentor as dacs_module
from tests.test_models.stdaseg_utils import SIZE, paired_batch
from tests.test_models.uda_baseline_utils import REPO, build, build_optim, dacs_cfg

ALWAYS = dict(color_jitter=0.2, color_jitter_p=1.0, blur=True, blur_p=1.0)
BASE = REPO / 'configs' / '_base_' / 'models' / 'dacs_deeplabv3plus-r50-d8.py'
TINY = REPO / 'configs' / 'dacs' / 'dacs_deeplabv3plus-r18-tiny_1xb2-100i_dubai-demo-128x128.py'


def _spy_step(model, monkeypatch, seed: int = 0) -> dict:
    """One train_step recording the teacher's input, ClassMix's output and every student forward input."""
    seen = {'teacher': [], 'segment': [], 'mixed': []}
    teacher, segment, classmix = model.teacher_logits, model.segment, dacs_module.classmix
    monkeypatch.setattr(model, 'teacher_logits', lambda x: seen['teacher'].append(x.clone()) or teacher(x))
    monkeypatch.setattr(model, 'segment', lambda x: seen['segment'].append(x.clone()) or segment(x))
    monkeypatch.setattr(dacs_module, 'classmix',
                        lambda *a, **k: seen['mixed'].append(classmix(*a, **k)) or seen['mixed'][-1])
    raw = paired_batch(seed=seed)
    seen['tgt'] = model.data_preprocessor(raw, True)['tgt']['inputs']
    torch.manual_seed(seed)
    seen['log_vars'] = model.train_step(raw, build_optim(model, with_discriminator=False))
    return seen


class TestMixedImagesOnly:

    def test_teacher_sees_unaugmented_target_student_sees_augmented_mix(self, monkeypatch):
        model = build(dacs_cfg(strong_aug=ALWAYS))
        model.train()
        seen = _spy_step(model, monkeypatch)
        assert len(seen['teacher']) == 1 and torch.equal(seen['teacher'][0], seen['tgt'])
        src_in, mix_in = seen['segment']
        mixed = seen['mixed'][0].inputs
        assert mix_in.shape == mixed.shape and mix_in.dtype == mixed.dtype
        assert all(not torch.allclose(a, b) for a, b in zip(mix_in, mixed))  # p=1: every mixed image changed
        assert all(torch.isfinite(v).all() for v in seen['log_vars'].values())

    def test_without_strong_aug_student_sees_the_plain_mix(self, monkeypatch):
        model = build(dacs_cfg())
        model.train()
        assert model.strong_aug is None
        seen = _spy_step(model, monkeypatch)
        assert torch.equal(seen['segment'][1], seen['mixed'][0].inputs)
        assert torch.equal(seen['teacher'][0], seen['tgt'])

    def test_p0_leaves_mix_unchanged(self, monkeypatch):
        model = build(dacs_cfg(strong_aug=dict(color_jitter_p=0.0, blur_p=0.0)))
        model.train()
        seen = _spy_step(model, monkeypatch)
        assert torch.equal(seen['segment'][1], seen['mixed'][0].inputs)

    def test_train_step_reproducible_under_seed(self):
        states = []
        for _ in range(2):
            model = build(dacs_cfg(strong_aug=ALWAYS))
            optim = build_optim(model, with_discriminator=False)
            torch.manual_seed(7)
            model.train_step(paired_batch(seed=3), optim)
            states.append(model.state_dict())
        assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


class TestPerDomainStatistics:

    def test_pasted_pixels_use_source_stats(self, monkeypatch):
        src = dict(mean=[0.3, 0.3, 0.3], std=[0.1, 0.2, 0.3], bgr_to_rgb=False, size=(SIZE, SIZE))
        tgt = dict(mean=[0.6, 0.5, 0.4], std=[0.2, 0.2, 0.2], bgr_to_rgb=False, size=(SIZE, SIZE))
        model = build(dacs_cfg(strong_aug=ALWAYS,
                               data_preprocessor=dict(type='PairedSegDataPreProcessor', source=src, target=tgt)))
        calls = []
        real = dacs_module.strong_augment
        monkeypatch.setattr(dacs_module, 'strong_augment',
                            lambda x, mean, std, aug: calls.append((mean, std)) or real(x, mean, std, aug))
        masks = torch.zeros(2, SIZE, SIZE, dtype=torch.bool)
        masks[:, :10] = True
        model.augment_mixed(torch.zeros(2, 3, SIZE, SIZE), masks)
        mean, std = calls[0]
        assert torch.allclose(mean[0, :, 0, 0], torch.tensor([0.3, 0.3, 0.3]))   # pasted (source)
        assert torch.allclose(mean[1, :, -1, 0], torch.tensor([0.6, 0.5, 0.4]))  # target
        assert torch.allclose(std[0, :, 5, 7], torch.tensor([0.1, 0.2, 0.3]))
        assert torch.allclose(std[1, :, 20, 7], torch.tensor([0.2, 0.2, 0.2]))


class TestConfigs:

    def test_full_config_uses_daformer_values(self):
        aug = Config.fromfile(str(BASE)).model.strong_aug
        assert aug == dict(color_jitter=0.2, color_jitter_p=0.8, blur=True, blur_p=0.5, blur_sigma=(0.15, 1.15),
                           max_value=1.0)
        assert dacs_module.build_strong_aug(aug) is not None

    def test_tiny_config_keeps_default(self):
        assert 'strong_aug' not in Config.fromfile(str(TINY)).model

    def test_bad_strong_aug_fails_at_build(self):
        with pytest.raises(ValueError, match='strong_aug'):
            build(dacs_cfg(strong_aug=dict(blur_p=2.0)))
