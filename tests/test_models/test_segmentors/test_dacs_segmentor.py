"""DACSSegmentor (EMA teacher + ClassMix self-training): the 0.968 confident-share weight on hand-made teacher maps,
how the mixed loss is weighted, a teacher untouched by backward and moved only by the EMA hook, and the tiny config
through tools/train.py."""
import copy
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

import rsseg.models.segmentors.dacs_segmentor as dacs_module
from rsseg.engine.hooks import EMATeacherHook
from rsseg.models.segmentors import DACSSegmentor, confident_share_weights
from tests.test_models.stdaseg_utils import NUM_CLASSES, SIZE, changed, paired_batch, seg_sample, state
from tests.test_models.uda_baseline_utils import (
    REPO,
    build,
    build_from_config,
    build_optim,
    check_like_for_like,
    check_train_records,
    dacs_cfg,
    full_configs,
    logged_scalars,
    train_tiny_config,
)

STUDENT = ['backbone', 'decode_head']
TEACHER = ['ema_backbone', 'ema_decode_head']
TINY = REPO / 'configs' / 'dacs' / 'dacs_deeplabv3plus-r18-tiny_1xb2-100i_dubai-demo-128x128.py'
LOSS_KEYS = ['seg.src.decode.loss_ce', 'seg.mix.decode.loss_pseudo', 'loss']
DIAG_KEYS = ['seg.src.decode.acc_seg', 'seg.mix.decode.acc_seg', 'seg.tgt.pseudo_ratio', 'seg.mix.paste_ratio']


def _snapshot(model, names):
    return {n: state(getattr(model, n)) for n in names}


def _changed(model, snap):
    return {n: changed(s, getattr(model, n)) for n, s in snap.items()}


def _teacher_probs(n: int = 2, size: int = SIZE, confident=(0.3, 0.0), level: float = 0.99,
                   low: float = 0.967) -> torch.Tensor:
    """(n, C, size, size) probabilities: in image i the first ``confident[i]`` share of pixels (row-major) has
    max-probability ``level``, the rest ``low``; the argmax class is ``pixel % C``."""
    probs = torch.empty(n, NUM_CLASSES, size * size)
    for i, share in enumerate(confident):
        top = torch.full((size * size, ), low)
        top[:round(share * size * size)] = level
        cls = torch.arange(size * size) % NUM_CLASSES
        rest = (1 - top) / (NUM_CLASSES - 1)
        probs[i] = rest.expand(NUM_CLASSES, -1).clone()
        probs[i, cls, torch.arange(size * size)] = top
    return probs.view(n, NUM_CLASSES, size, size)


class TestConfidentShareWeight:

    def test_known_share(self):
        conf = torch.full((2, 4, 5), 0.5)
        conf[0].view(-1)[:7] = 0.99   # 7 of 20 pixels confident
        conf[1].view(-1)[:15] = 0.97  # 15 of 20
        weights, shares = confident_share_weights(conf, 0.968)
        assert shares.tolist() == pytest.approx([0.35, 0.75])
        assert torch.equal(weights[0], torch.full((4, 5), shares[0].item()))  # one scalar on every pixel
        assert torch.equal(weights[1], torch.full((4, 5), shares[1].item()))

    def test_just_below_threshold_gives_zero(self):
        weights, shares = confident_share_weights(torch.full((1, 8, 8), 0.967), 0.968)
        assert float(shares[0]) == 0.0 and not weights.any()

    def test_threshold_is_inclusive(self):
        _, shares = confident_share_weights(torch.full((1, 2, 2), 0.968), 0.968)
        assert float(shares[0]) == 1.0  # DACS: max_probs.ge(0.968)

    def test_padding_excluded(self):
        conf = torch.full((1, 2, 4), 0.99)
        conf[0, 0, 0] = 0.1
        valid = torch.ones(1, 2, 4, dtype=torch.bool)
        valid[0, :, 2:] = False  # 4 padded pixels (confident, but not counted)
        weights, shares = confident_share_weights(conf, 0.968, valid)
        assert float(shares[0]) == pytest.approx(3 / 4)
        assert torch.equal(weights[0], torch.tensor([[0.75, 0.75, 0.0, 0.0], [0.75, 0.75, 0.0, 0.0]]))


class TestBuild:

    def test_teacher_is_a_frozen_copy(self):
        model = build(dacs_cfg())
        assert model.ema_pairs() == [('backbone', 'ema_backbone'), ('decode_head', 'ema_decode_head')]
        for student, teacher in model.ema_pairs():
            s, t = getattr(model, student), getattr(model, teacher)
            assert all(not p.requires_grad for p in t.parameters())
            for (ks, a), (kt, b) in zip(s.state_dict().items(), t.state_dict().items()):
                assert ks == kt and torch.equal(a, b), ks
        assert model.pseudo_threshold == 0.968

    def test_teacher_not_in_optimizer(self):
        model = build(dacs_cfg())
        optim = build_optim(model, with_discriminator=False)
        params = {id(p) for g in optim['segmentor'].optimizer.param_groups for p in g['params']}
        assert params == {id(p) for n in STUDENT for p in getattr(model, n).parameters()}

    def test_teacher_dropout_stays_off(self):
        model = build(dacs_cfg(dropout=0.5))
        model.train()
        assert model.decode_head.dropout.training and not model.ema_decode_head.dropout.training

    def test_mix_loss_inherits_head_class_weight(self):
        cfg = dacs_cfg()
        cfg['decode_head']['loss_decode']['class_weight'] = [1.0, 2.0, 3.0, 4.0]
        assert build(cfg).mix_loss.class_weight == [1.0, 2.0, 3.0, 4.0]

    def test_bad_threshold(self):
        with pytest.raises(ValueError, match='pseudo_threshold'):
            build(dacs_cfg(pseudo_threshold=1.5))


class TestTrainStep:

    def test_student_steps_teacher_gets_no_gradient(self):
        model = build(dacs_cfg())
        model.train()
        optim = build_optim(model, with_discriminator=False)
        snap = _snapshot(model, STUDENT + TEACHER)
        for i in range(2):
            log_vars = model.train_step(paired_batch(seed=i), optim)
        diff = _changed(model, snap)
        assert all(diff[n] for n in STUDENT)
        for name in TEACHER:
            assert not diff[name], 'train_step must not move the teacher (the EMA hook does)'
            assert all(p.grad is None and not p.requires_grad for p in getattr(model, name).parameters())
        assert set(LOSS_KEYS + DIAG_KEYS) <= set(log_vars)
        assert all(torch.isfinite(v).all() and not v.requires_grad for v in log_vars.values())
        assert 0.0 < float(log_vars['seg.mix.paste_ratio']) < 1.0

    def test_plain_optim_wrapper_also_works(self):
        model = build(dacs_cfg())
        model.train()
        trainable = [p for p in model.parameters() if p.requires_grad]
        snap = _snapshot(model, STUDENT + TEACHER)
        log_vars = model.train_step(paired_batch(), OptimWrapper(torch.optim.SGD(trainable, lr=0.01)))
        diff = _changed(model, snap)
        assert all(diff[n] for n in STUDENT), 'the plain wrapper must step the student'
        assert not any(diff[n] for n in TEACHER)
        assert set(LOSS_KEYS) <= set(log_vars) and all(torch.isfinite(v).all() for v in log_vars.values())

    def test_target_labels_never_used(self):
        runs = []
        for labels in (False, True, 'other'):
            model = build(dacs_cfg())
            optim = build_optim(model, with_discriminator=False)
            batch = paired_batch(seed=5, tgt_labels=bool(labels))
            if labels == 'other':
                for s in batch['data_samples']['tgt']:
                    s.gt_sem_seg.data = (s.gt_sem_seg.data + 1) % NUM_CLASSES
            torch.manual_seed(0)
            model.train_step(batch, optim)
            runs.append(model.state_dict())
        for key in runs[0]:
            assert torch.equal(runs[0][key], runs[1][key]) and torch.equal(runs[0][key], runs[2][key]), key


class TestPseudoLabelsAndMixedLoss:

    @pytest.fixture
    def model(self, monkeypatch):
        model = build(dacs_cfg())
        model.train()
        probs = _teacher_probs(confident=(0.3, 0.0))
        monkeypatch.setattr(model, 'teacher_logits', lambda x: probs.log())  # softmax(log p) = p
        return model

    def test_pseudo_labels_and_weights_from_teacher_map(self, model):
        tgt = model.data_preprocessor(paired_batch(seed=1), True)['tgt']
        labels, weights, shares = model.pseudo_labels(tgt)
        share0 = round(0.3 * SIZE * SIZE) / (SIZE * SIZE)
        assert shares.tolist() == pytest.approx([share0, 0.0])  # image 1: every pixel at 0.967 → 0
        assert torch.allclose(weights[0], torch.full((SIZE, SIZE), share0))
        assert not weights[1].any()
        assert torch.equal(labels, _teacher_probs(confident=(0.3, 0.0)).argmax(dim=1))

    def test_padding_is_ignored(self, model):
        tgt = model.data_preprocessor(paired_batch(seed=1), True)['tgt']
        tgt['data_samples'][0].set_metainfo(dict(img_shape=(SIZE, SIZE // 2)))  # right half is padding
        labels, weights, shares = model.pseudo_labels(tgt)
        assert (labels[0, :, SIZE // 2:] == 255).all() and not weights[0, :, SIZE // 2:].any()
        half = _teacher_probs(confident=(0.3, 0.0))[0].max(dim=0).values[:, :SIZE // 2]
        assert float(shares[0]) == pytest.approx(float((half >= 0.968).float().mean()))

    def test_mixed_loss_weights(self, model, monkeypatch):
        optim = build_optim(model, with_discriminator=False)
        mixes, calls = [], []
        real_classmix = dacs_module.classmix
        monkeypatch.setattr(dacs_module, 'classmix', lambda *a, **k: mixes.append(real_classmix(*a, **k)) or mixes[-1])
        loss_fwd = model.mix_loss.forward
        monkeypatch.setattr(model.mix_loss, 'forward',
                            lambda logits, labels, weight, ii: calls.append((logits.detach(), labels, weight)) or
                            loss_fwd(logits, labels, weight, ii))
        raw = paired_batch(seed=2)
        src_labels = torch.stack([s.gt_sem_seg.data[0] for s in raw['data_samples']['src']])
        log_vars = model.train_step(raw, optim)

        mixed = mixes[0]
        logits, labels, weight = calls[0]
        share0 = round(0.3 * SIZE * SIZE) / (SIZE * SIZE)
        expected_w = torch.where(mixed.masks, torch.ones(()), torch.tensor([share0, 0.0]).view(2, 1, 1))
        assert torch.allclose(weight, expected_w)  # pasted source pixels 1, the rest their image's share
        pseudo = _teacher_probs(confident=(0.3, 0.0)).argmax(dim=1)
        assert torch.equal(labels, torch.where(mixed.masks, src_labels, pseudo))
        for i in range(2):  # half (rounded up) of the source classes present were pasted
            present = torch.unique(src_labels[i]).numel()
            assert mixed.classes[i].numel() == (present + 1) // 2
        expected = (F.cross_entropy(logits, labels, reduction='none', ignore_index=255) * weight).mean()
        assert float(log_vars['seg.mix.decode.loss_pseudo']) == pytest.approx(float(expected), rel=1e-5)
        assert float(log_vars['seg.tgt.pseudo_ratio']) == pytest.approx(share0 / 2)
        assert float(log_vars['seg.mix.paste_ratio']) == pytest.approx(float(mixed.masks.float().mean()))


class TestEMA:

    @pytest.mark.parametrize('it,alpha', [(0, 0.5), (2, 0.75), (98, 0.99), (1000, 0.99)])
    def test_hook_moves_teacher_with_dacs_schedule(self, it, alpha):
        model = build(dacs_cfg())
        with torch.no_grad():
            for p in model.decode_head.parameters():
                p.add_(1.0)
        t0 = copy.deepcopy(state(model.ema_decode_head))
        s0 = state(model.decode_head)
        runner = SimpleNamespace(model=model, iter=it, message_hub=MessageHub.get_instance('test_dacs_ema'))
        EMATeacherHook(max_decay=0.99).after_train_iter(runner, batch_idx=it)
        for name, value in model.ema_decode_head.named_parameters():
            assert torch.allclose(value, alpha * t0[name] + (1 - alpha) * s0[name], atol=1e-6), name
        assert not changed(s0, model.decode_head)


class TestInference:

    def test_student_and_teacher_prediction(self):
        model = build(dacs_cfg())
        model.eval()
        x = torch.rand(1, 3, SIZE, SIZE)
        metas = [dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE))]
        with torch.no_grad():
            student = model.encode_decode(x, metas)
            model.test_cfg['predict_on'] = 'teacher'
            assert torch.allclose(model.encode_decode(x, metas), student, atol=1e-6)  # copies at init
            model.ema_decode_head.conv_seg.bias.data += 5.0
            assert not torch.allclose(model.encode_decode(x, metas), student)
            model.test_cfg['predict_on'] = 'nobody'
            with pytest.raises(ValueError, match='predict_on'):
                model.encode_decode(x, metas)

    def test_val_step(self):
        model = build(dacs_cfg())
        model.eval()
        sample = seg_sample(torch.zeros(SIZE, SIZE))
        with torch.no_grad():
            out = model.val_step(dict(inputs=[torch.rand(3, SIZE, SIZE)], data_samples=[sample]))
        assert out[0].pred_sem_seg.shape == (SIZE, SIZE)


class TestTinyConfig:

    def test_like_for_like_with_tiny_stdaseg(self):
        check_like_for_like(TINY, 'dacs')

    def test_builds(self):
        model = build_from_config(TINY)
        # CPU-scale threshold in the tiny config; the full configs keep DACS's 0.968
        assert isinstance(model, DACSSegmentor) and model.pseudo_threshold == 0.8
        assert model.ema_pairs() == [('backbone', 'ema_backbone'), ('decode_head', 'ema_decode_head')]

    def test_three_iterations_with_target_miou(self, tmp_path):
        proc = train_tiny_config(TINY, tmp_path, iters=3)
        assert proc.returncode == 0, proc.stderr[-3000:]
        records = logged_scalars(tmp_path)
        problem = check_train_records(records, LOSS_KEYS + DIAG_KEYS + ['ema.decay'], 3)
        assert problem is None, problem
        train = [r for r in records if 'loss' in r]
        assert [r['ema.decay'] for r in train] == pytest.approx([0.5, 2 / 3, 0.75])  # min(1 - 1/(t+1), 0.99)
        assert all(0.0 <= r['seg.tgt.pseudo_ratio'] <= 1.0 for r in train)
        val = [r for r in records if 'mIoU' in r]
        assert val and val[-1]['step'] == 3 and 0.0 <= val[-1]['mIoU'] <= 100.0
        assert any(k.startswith('IoU.') for k in val[-1])


class TestFullConfigs:

    @pytest.mark.parametrize('config', full_configs('dacs'), ids=lambda p: p.stem.rsplit('_', 1)[1])
    def test_like_for_like_with_stdaseg(self, config):
        check_like_for_like(config, 'dacs')

    def test_five_settings(self):
        assert len(full_configs('dacs')) == 5

    def test_r50_config_builds(self):
        from mmengine.config import Config
        config = REPO / 'configs' / 'dacs' / 'dacs_deeplabv3plus-r50-d8_1xb2-40k_potsdam2vaihingen-384x384.py'
        model = build_from_config(config)
        assert isinstance(model, DACSSegmentor) and model.ema_backbone.depth == 50
        assert model.mix_loss.class_weight == model.decode_head.loss_decode.class_weight
        assert Config.fromfile(str(config)).custom_hooks == [dict(type='EMATeacherHook', max_decay=0.99, interval=1)]


def test_registered():
    from mmseg.registry import MODELS
    assert MODELS.get('DACSSegmentor') is DACSSegmentor
