"""The tiny ST-DASegNet config end to end with mmengine's Runner: 30 CPU iterations on the bundled Dubai example
with every loss term finite and a target mIoU, then a resume that restores teachers, discriminators and all
optimizers."""
import copy
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from rsseg.utils.checkpoint import safe_torch_load

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / 'configs' / 'stdaseg' / 'stdaseg_deeplabv3plus-r18-tiny_1xb2-100i_dubai-demo-128x128.py'
LOSS_KEYS = [
    'seg.src.decode_s.loss_ce', 'seg.src.decode_t.loss_ce', 'seg.tgt.decode_s.loss_pseudo',
    'seg.tgt.decode_t.loss_pseudo', 'seg.adv.disc_s.loss_gen', 'seg.adv.disc_t.loss_gen', 'disc.disc_s.loss_real',
    'disc.disc_s.loss_fake', 'disc.disc_t.loss_real', 'disc.disc_t.loss_fake', 'seg.loss', 'disc.loss', 'loss'
]
OPTIM_KEYS = ['backbone', 'decode_head', 'discriminator_s', 'discriminator_t']
ITERS = 30


@pytest.fixture(scope='module', autouse=True)
def fast_config_text():
    """mmengine formats the config with yapf for every log/checkpoint (seconds each on 2 busy cores); the raw
    text is enough here."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Config, 'pretty_text', property(lambda self: self.text))
        yield


def _cfg(work_dir: Path, max_iters: int) -> Config:
    cfg = Config.fromfile(str(TINY))
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = ITERS
    cfg.param_scheduler[0].end = ITERS
    cfg.default_hooks.checkpoint.interval = ITERS // 2
    cfg.default_hooks.logger.interval = 10
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    return cfg


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    torch.set_num_threads(1)
    work_dir = tmp_path_factory.mktemp('stdaseg_tiny')
    runner = Runner.from_cfg(_cfg(work_dir, ITERS))
    runner.train()
    return runner, work_dir


class Capture(Hook):
    """Record what a resumed run starts from (after load_or_resume, before its first iteration)."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        model = runner.model
        self.iter = runner.iter
        self.state = copy.deepcopy(model.state_dict())
        self.optim = copy.deepcopy(runner.optim_wrapper.state_dict())
        self.lrs = {k.rsplit('.', 1)[0]: v[0] for k, v in runner.optim_wrapper.get_lr().items()}  # 'backbone.lr'


class TestTinyConfig:

    def test_every_loss_finite_for_30_iterations(self, trained):
        runner, _ = trained
        assert runner.iter == ITERS
        scalars = runner.message_hub.log_scalars
        for key in LOSS_KEYS + ['seg.tgt.pseudo_ratio', 'disc.disc_s.acc', 'ema.decay']:
            values, _ = scalars[f'train/{key}'].data
            assert len(values) == ITERS, key
            assert all(math.isfinite(v) for v in values), key
        ratio, _ = scalars['train/seg.tgt.pseudo_ratio'].data
        assert all(0.0 <= r <= 1.0 for r in ratio)

    def test_target_miou_evaluated(self, trained):
        runner, work_dir = trained
        miou = runner.message_hub.get_scalar('val/mIoU').current()
        assert 0.0 <= miou <= 100.0
        assert (work_dir / f'iter_{ITERS}.pth').is_file()
        assert list(work_dir.glob('best_mIoU_iter_*.pth'))

    def test_curves_plot(self, trained):
        from rsseg.cli.plot_curves import main as plot_main
        _, work_dir = trained
        out = work_dir / 'curves.png'
        assert plot_main([str(work_dir), '--out', str(out)]) == 0
        assert out.stat().st_size > 10_000

    def test_teachers_follow_students(self, trained):
        runner, work_dir = trained
        model = runner.model
        mid = safe_torch_load(str(work_dir / f'iter_{ITERS // 2}.pth'))['state_dict']
        for b in ('s', 't'):
            teacher = dict(getattr(model, f'ema_decode_head_{b}').named_parameters())
            student = dict(getattr(model, f'decode_head_{b}').named_parameters())
            name = 'conv_seg.weight'
            assert not torch.equal(teacher[name], student[name])  # EMA lags the student
            assert not torch.equal(teacher[name], mid[f'ema_decode_head_{b}.{name}'])  # and moves
            assert all(not p.requires_grad for p in teacher.values())

    def test_resume_restores_teachers_discriminators_optimizers(self, trained):
        _, work_dir = trained
        ckpt_path = work_dir / f'iter_{ITERS // 2}.pth'
        ckpt = safe_torch_load(str(ckpt_path))
        cfg = _cfg(work_dir / 'resumed', ITERS // 2 + 2)
        cfg.resume, cfg.load_from = True, str(ckpt_path)
        runner = Runner.from_cfg(cfg)
        capture = Capture()
        runner.register_hook(capture)
        runner.train()

        assert capture.iter == ITERS // 2
        for key, value in ckpt['state_dict'].items():
            assert torch.equal(capture.state[key], value), key
        for prefix in ('ema_decode_head_s.', 'ema_decode_head_t.', 'discriminator_s.', 'discriminator_t.'):
            assert any(k.startswith(prefix) for k in ckpt['state_dict'])
        teacher = capture.state['ema_decode_head_s.conv_seg.weight']
        assert not torch.equal(teacher, capture.state['decode_head_s.conv_seg.weight'])  # not re-copied

        assert set(ckpt['optimizer']) == set(OPTIM_KEYS) == set(capture.optim)
        for key in OPTIM_KEYS:
            saved, restored = ckpt['optimizer'][key]['state'], capture.optim[key]['state']
            assert saved and saved.keys() == restored.keys(), key
            for idx in saved:
                for name, tensor in saved[idx].items():
                    assert torch.equal(torch.as_tensor(restored[idx][name]), torch.as_tensor(tensor)), (key, name)
            assert capture.lrs[key] == pytest.approx(ckpt['optimizer'][key]['param_groups'][0]['lr'])
        assert runner.iter == ITERS // 2 + 2  # and training goes on
