"""tools/plot_curves.py: finds a run's scalars, groups ST-DASegNet's keys into panels, writes a PNG, clear errors."""
import json
from pathlib import Path

import pytest

from rsseg.cli.plot_curves import main
from rsseg.utils.curves import group_keys
from rsseg.utils.scalars import find_scalars, load_scalars


def _write_run(root: Path, stamp: str = '20260101_000000', iters: int = 20) -> Path:
    vis = root / stamp / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for it in range(1, iters + 1):
        lines.append({'backbone.lr': 0.01 / it, 'decode_head.lr': 0.02 / it, 'seg.src.decode_s.loss_ce': 2.0 / it,
                      'seg.tgt.decode_s.loss_pseudo': 0.1, 'seg.adv.disc_s.loss_gen': 0.003, 'seg.loss': 2.1 / it,
                      'disc.disc_s.loss_real': 0.004, 'disc.disc_s.acc': 0.5, 'seg.tgt.pseudo_ratio': it / iters,
                      'seg.src.decode_s.acc_seg': 50.0 + it, 'loss': 2.2 / it, 'time': 0.5, 'data_time': 0.1,
                      'iter': it, 'step': it})
        if it % 10 == 0:
            lines.append({'aAcc': 60.0, 'mIoU': 20.0 + it, 'mFscore': 30.0, 'IoU.road': 10.0, 'step': it})
    path = vis / 'scalars.json'
    path.write_text('\n'.join(json.dumps(line) for line in lines) + '\n')
    return path


class TestPlotCurves:

    def test_load_and_group(self, tmp_path):
        train, val = load_scalars(_write_run(tmp_path))
        assert train['seg.src.decode_s.loss_ce'][0] == list(range(1, 21))
        assert val['mIoU'] == ([10, 20], [30.0, 40.0]) and 'IoU.road' in val
        assert 'time' not in train and 'step' not in train
        groups = group_keys(list(train))
        assert groups['segmentor losses'] == ['seg.src.decode_s.loss_ce', 'seg.tgt.decode_s.loss_pseudo',
                                              'seg.adv.disc_s.loss_gen', 'seg.loss']
        assert groups['discriminator losses'] == ['disc.disc_s.loss_real']
        assert groups['pseudo-label confident share / discriminator accuracy'] == ['disc.disc_s.acc',
                                                                                  'seg.tgt.pseudo_ratio']
        assert groups['learning rate'] == ['backbone.lr', 'decode_head.lr']
        assert groups['losses'] == ['loss']

    def test_writes_png(self, tmp_path, capsys):
        _write_run(tmp_path)
        out = tmp_path / 'plots' / 'curves.png'
        assert main([str(tmp_path), '--out', str(out), '--smooth', '3']) == 0
        assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
        printed = capsys.readouterr().out
        assert 'validation: mean metrics' in printed and 'validation: per-class IoU' in printed
        assert not list(out.parent.glob('.*tmp*'))  # no temporary left behind

    def test_default_out_and_latest_training_run(self, tmp_path):
        _write_run(tmp_path, '20260101_000000')
        eval_only = tmp_path / '20260102_000000' / 'vis_data'
        eval_only.mkdir(parents=True)
        (eval_only / 'scalars.json').write_text(json.dumps({'mIoU': 1.0, 'step': 1}) + '\n')
        assert find_scalars(str(tmp_path)).parts[-3] == '20260101_000000'
        assert main([str(tmp_path)]) == 0
        assert (tmp_path / 'curves.png').is_file()

    def test_keys_filter(self, tmp_path):
        _write_run(tmp_path)
        out = tmp_path / 'c.png'
        assert main([str(tmp_path), '--keys', 'pseudo', '--out', str(out)]) == 0
        with pytest.raises(ValueError, match='matches --keys'):
            main([str(tmp_path), '--keys', 'nothing-like-this'])

    def test_bad_input_is_one_error_line(self, tmp_path, capsys, monkeypatch):
        from rsseg.utils.cli import run_cli
        monkeypatch.delenv('RSSEG_DEBUG', raising=False)
        bad = tmp_path / 'scalars.json'
        bad.write_text('{"loss": 1, "step": 1}\nnot json\n')
        for arg, message in ((str(tmp_path / 'missing'), 'does not exist'), (str(bad), 'scalars.json:2: not a JSON')):
            with pytest.raises(SystemExit) as exit_info:
                run_cli(main, [arg])
            assert exit_info.value.code == 1
            err = capsys.readouterr().err.strip()
            assert err.startswith('error:') and message in err and len(err.splitlines()) == 1
