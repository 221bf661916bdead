"""tools/train.py and tools/test.py end to end on the tiny source-only config: train, resume, test, bad input."""
import json
import re
from pathlib import Path

import pytest

from rsseg.utils.checkpoint import safe_torch_load

from ..conftest import TINY_CONFIG, run_tool

SHORT = ['train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']


def _last_error_line(proc) -> str:
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ''


def _val_miou(work_dir: Path, step: int) -> float:
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))
    records = [json.loads(line) for path in scalars for line in path.read_text().splitlines()]
    return [r['mIoU'] for r in records if 'mIoU' in r and r['step'] == step][-1]


@pytest.fixture(scope='module')
def trained(tmp_path_factory) -> Path:
    """4 iterations, then --resume to 6 (one work dir): ~70 s on 2 cores, so the tests taking it are marked slow."""
    work = tmp_path_factory.mktemp('tiny')
    first = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', work, '--cfg-options', 'train_cfg.max_iters=4',
                     *SHORT)
    assert first.returncode == 0, first.stderr[-3000:]
    second = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', work, '--resume',
                      '--cfg-options', 'train_cfg.max_iters=6', *SHORT)
    assert second.returncode == 0, second.stderr[-3000:]
    assert 'resumed' in (second.stdout + second.stderr).lower()
    return work


@pytest.mark.slow
def test_train_writes_checkpoints_log_and_val_miou(trained: Path) -> None:
    for name in ('iter_2.pth', 'iter_4.pth', 'iter_6.pth', 'last_checkpoint'):
        assert (trained / name).is_file(), name
    assert list(trained.glob('*/*.log'))
    assert 0.0 <= _val_miou(trained, 6) <= 100.0


@pytest.mark.slow
def test_resume_continues_iteration_optimizer_and_schedule(trained: Path) -> None:
    ck4 = safe_torch_load(str(trained / 'iter_4.pth'))
    ck6 = safe_torch_load(str(trained / 'iter_6.pth'))
    assert ck4['meta']['iter'] == 4 and ck6['meta']['iter'] == 6
    assert ck6['param_schedulers'][0]['last_step'] == ck4['param_schedulers'][0]['last_step'] + 2
    # PolyLR(base 0.01, eta_min 1e-4, power 0.9, end 100; mmengine's total_iters = end - 1) continues from step 4:
    # after 6 steps it is at step 6, not at step 2 as a scheduler restarted on resume would be.
    expected = (0.01 - 1e-4) * (1 - 6 / 99) ** 0.9 + 1e-4
    assert ck6['optimizer']['param_groups'][0]['lr'] == pytest.approx(expected, rel=1e-4)
    assert len(ck6['optimizer']['state']) == len(ck4['optimizer']['state']) > 0  # momentum buffers kept


@pytest.mark.slow
def test_test_tool_reproduces_val_miou(trained: Path, tmp_path: Path) -> None:
    proc = run_tool('tools/test.py', TINY_CONFIG, trained / 'iter_6.pth', '--work-dir', tmp_path,
                    '--show-dir', tmp_path / 'show', '--cfg-options', 'test_dataloader.dataset.split=val')
    assert proc.returncode == 0, proc.stderr[-3000:]
    miou = float(re.search(r'test metrics: .*mIoU: ([0-9.]+)', proc.stdout).group(1))
    assert miou == pytest.approx(_val_miou(trained, 6), abs=0.01)
    assert 'IoU' in proc.stdout + proc.stderr and 'Fscore' in proc.stdout + proc.stderr  # per-class table
    assert len(list((tmp_path / 'show').rglob('*.png'))) == 2  # one overlay per val image
    saved = json.loads((tmp_path / 'test_metrics.json').read_text())
    assert saved['mIoU'] == pytest.approx(miou, abs=0.01)
    per_class = [saved[f'IoU.{c}'] for c in ('building', 'land', 'road', 'vegetation', 'water')]
    present = [v for v in per_class if v >= 0]
    assert present and sum(present) / len(present) == pytest.approx(miou, abs=0.02)  # mIoU = mean over classes
    assert all(f'F1.{c}' in saved for c in ('building', 'land', 'road', 'vegetation', 'water'))


def test_missing_config_is_one_clear_error(tmp_path: Path) -> None:
    proc = run_tool('tools/train.py', tmp_path / 'nope.py')
    assert proc.returncode != 0
    assert _last_error_line(proc) == f'error: config file {tmp_path / "nope.py"} does not exist'


def test_unregistered_module_is_named(tmp_path: Path) -> None:
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path,
                    '--cfg-options', 'model.backbone.type=NoSuchBackbone')
    assert proc.returncode != 0
    assert _last_error_line(proc).startswith('error:') and 'NoSuchBackbone' in _last_error_line(proc)


def test_missing_data_root_is_named(tmp_path: Path) -> None:
    missing = tmp_path / 'nowhere' / 'manifest.json'
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                    f'train_dataloader.dataset.manifest={missing}', 'train_dataloader.dataset.prepare=None')
    assert proc.returncode != 0
    assert _last_error_line(proc).startswith('error:') and str(missing) in _last_error_line(proc)


@pytest.mark.slow
def test_checkpoint_of_another_model_is_refused(trained: Path, tmp_path: Path) -> None:
    proc = run_tool('tools/test.py', TINY_CONFIG, trained / 'iter_6.pth', '--work-dir', tmp_path,
                    '--cfg-options', 'model.decode_head.channels=16')  # another head width, the same classes
    assert proc.returncode != 0
    line = _last_error_line(proc)
    assert line.startswith('error: checkpoint') and 'does not match' in line and 'decode_head' in line


@pytest.mark.slow
def test_multi_scale_test_time_augmentation(trained: Path, tmp_path: Path) -> None:
    """`--tta` runs the config's tta_pipeline through mmseg's SegTTAModel (the reference's LoveDA test)."""
    leaf = tmp_path / 'tta.py'
    leaf.write_text(f"_base_ = ['{TINY_CONFIG}']\n"
                    "tta_pipeline = [dict(type='LoadRasterImage'), dict(type='TestTimeAug', transforms=[\n"
                    "    [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in (0.5, 1.0)],\n"
                    "    [dict(type='LoadRasterAnnotation')], [dict(type='PackSegInputs')]])]\n")
    proc = run_tool('tools/test.py', leaf, trained / 'iter_6.pth', '--work-dir', tmp_path / 'w', '--tta')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 0.0 <= json.loads((tmp_path / 'w' / 'test_metrics.json').read_text())['mIoU'] <= 100.0
    proc = run_tool('tools/test.py', TINY_CONFIG, trained / 'iter_6.pth', '--work-dir', tmp_path / 'x', '--tta')
    assert proc.returncode != 0 and 'needs tta_pipeline' in _last_error_line(proc)


@pytest.mark.slow
def test_train_refuses_load_from_and_resume_of_another_model(trained: Path, tmp_path: Path) -> None:
    wrong = ['model.decode_head.channels=16', 'train_cfg.max_iters=1', *SHORT]
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                    f'load_from={trained / "iter_6.pth"}', *wrong)
    assert proc.returncode != 0
    line = _last_error_line(proc)
    assert line.startswith('error: checkpoint') and 'decode_head.conv_seg' in line and '--load-partial' in line
    proc = run_tool('tools/train.py', TINY_CONFIG, '--work-dir', tmp_path, '--resume', trained / 'iter_6.pth',
                    '--cfg-options', *wrong)
    assert proc.returncode != 0 and 'decode_head.conv_seg' in _last_error_line(proc)
    assert 'param_groups' not in proc.stderr and 'Traceback' not in proc.stderr
    assert not list(tmp_path.glob('iter_*.pth'))


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_read_only_work_dir_is_one_error_line(tool: str, tmp_path: Path, read_only_dir: Path) -> None:
    ckpt = tmp_path / 'any.pth'
    ckpt.write_bytes(b'unused: the work dir fails first')
    args = [TINY_CONFIG] + ([ckpt] if tool == 'test' else [])
    proc = run_tool(f'tools/{tool}.py', *args, '--work-dir', read_only_dir / 'work')
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    assert _last_error_line(proc) == f'error: {read_only_dir / "work"}: read-only file system'
