"""Paths in a manifest stay inside its folder: chips, labels and sidecars elsewhere are refused, naming the entry."""
import json
from pathlib import Path

import pytest

import rsseg.plugin  # noqa: F401  (registers rsseg's modules; safe checkpoint loading)
from rsseg.apis.infer_settings import InferSettings
from rsseg.datasets.geo_chip_dataset import GeoChipDataset
from rsseg.formats.errors import GeoError

from .test_paired_domain_dataset import make_domain


def _edit(manifest: str, **changes) -> None:
    raw = json.loads(Path(manifest).read_text())
    chip = changes.pop('chip', {})
    raw['chips'][0].update(chip)
    raw.update(changes)
    Path(manifest).write_text(json.dumps(raw))


@pytest.mark.parametrize('change', [dict(chip=dict(img='../elsewhere/img.tif')), dict(chip=dict(img='/etc/passwd')),
                                    dict(chip=dict(ann='../../ann.tif')), dict(norm_stats='/etc/passwd'),
                                    dict(meta=dict(norm_stats_by_scene=dict(s0='../stats.json')))])
def test_entries_outside_the_manifest_folder_are_refused(tmp_path: Path, change: dict) -> None:
    manifest = make_domain(tmp_path / 'd', 2)
    _edit(manifest, **change)
    entry = next(iter(change['chip'].values())) if 'chip' in change else (
        change.get('norm_stats') or '../stats.json')
    with pytest.raises(GeoError, match=rf"manifest\.json: path entry '{entry}'.*outside"):
        GeoChipDataset(manifest)


def test_symlinked_chip_leaving_the_folder_is_refused(tmp_path: Path) -> None:
    manifest = make_domain(tmp_path / 'd', 2)
    (tmp_path / 'd' / 'img_0.tif').unlink()
    (tmp_path / 'd' / 'img_0.tif').symlink_to('/etc/passwd')
    with pytest.raises(GeoError, match="path entry 'img_0.tif' resolves to /etc/passwd"):
        GeoChipDataset(manifest)


def test_prepare_folders_named_by_the_config_are_allowed(tmp_path: Path) -> None:
    manifest = make_domain(tmp_path / 'd', 2)
    images = tmp_path / 'images'
    images.mkdir()
    (tmp_path / 'd' / 'img_0.tif').rename(images / 'img_0.tif')
    _edit(manifest, chip=dict(img='../images/img_0.tif'))
    with pytest.raises(GeoError):
        GeoChipDataset(manifest)
    dataset = GeoChipDataset(manifest, prepare=dict(type='ColorMaskFolder', images=str(images)))
    assert dataset.get_data_info(0)['img_path'] == str(images / 'img_0.tif')


def test_predictor_settings_refuse_a_sidecar_outside(tmp_path: Path) -> None:
    manifest = make_domain(tmp_path / 'd', 1)
    _edit(manifest, norm_stats='../../stats.json')
    with pytest.raises(GeoError, match='outside'):
        InferSettings.from_manifest(Path(manifest))
