"""tools/demo.py end to end on a reduced setting (bundled example only, no ../shared), then a resuming rerun."""
import json
from pathlib import Path

import pytest
import rasterio

from rsseg.geo.cog import validate_cog

from ..conftest import run_tool


@pytest.mark.slow  # trains two models, maps four scenes, then reruns: minutes on 2 cores
def test_demo_end_to_end_and_resume(tmp_path: Path) -> None:
    out = tmp_path / 'demo'
    proc = run_tool('tools/demo.py', '--out', out, '--iters', '4', timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f'Everything is in {out}' in proc.stdout
    maps = sorted((out / 'maps').glob('*/image_part_00?.tif'))
    assert [f'{m.parent.name}/{m.stem}' for m in maps] == [
        'source-only/image_part_008', 'source-only/image_part_009', 'stdaseg/image_part_008', 'stdaseg/image_part_009']
    for path in maps:
        assert validate_cog(path)[0], path
        with rasterio.open(path) as src, rasterio.open(out / 'labels' / 'target' / path.name) as lab:
            assert (src.width, src.height) == (lab.width, lab.height) and src.dtypes[0] == 'uint8'
        assert path.with_suffix('.preview.png').is_file() and path.with_suffix('.confidence.tif').is_file()
    text = (out / 'target_iou.json').read_text()
    assert 'NaN' not in text  # valid JSON: classes absent from maps and labels are null, printed 'absent'
    scores = json.loads(text)
    assert set(scores) == {'source-only', 'stdaseg'}  # the source-only twin, printed beside ST-DASegNet
    for model in scores.values():
        assert 0 <= model['mIoU'] <= 100 and {f'IoU.{c}' for c in ('building', 'land', 'road')} <= set(model)
    assert any('source-only' in line and 'ST-DASegNet' in line for line in proc.stdout.splitlines())
    assert 'ST-DASegNet self-training: r > 0 in' in proc.stdout
    assert 'System environment' not in proc.stdout and 'Iter(val)' in proc.stdout  # progress, not the dump
    assert 'Build settings' not in proc.stdout  # '-Werror=' in torch's build flags is not an error line
    for method in ('source-only', 'stdaseg'):
        assert 'System environment' in (out / 'train' / method / 'train.log').read_text()
    assert (out / 'train' / 'stdaseg' / 'stdaseg_deeplabv3plus-r18-tiny_1xb2-100i_dubai-demo-128x128.py').is_file()
    # ST-DASegNet starts from the source-only model half-way: the same budget of 4 iterations each
    assert 'warm start from' in (out / 'train' / 'stdaseg' / 'train.log').read_text()
    assert sorted(p.name for p in (out / 'train' / 'stdaseg').glob('iter_*.pth')) == ['iter_2.pth']
    assert (out / 'training_curves.png').stat().st_size > 10_000
    manifests = [json.loads((out / 'chips' / d / 'manifest.json').read_text()) for d in ('source', 'target')]
    assert {c['split'] for c in manifests[0]['chips']} == {'train'}
    assert {c['split'] for c in manifests[1]['chips']} == {'train', 'val'}  # held-back 8-9 never tiled
    assert not any('image_part_008' in c['scene'] for c in manifests[1]['chips'])

    again = run_tool('tools/demo.py', '--out', out, '--iters', '4', timeout=600)
    assert again.returncode == 0, again.stderr[-4000:]
    assert 'trained model found' in again.stdout
    assert 'complete output found, skipped' in again.stdout + again.stderr
