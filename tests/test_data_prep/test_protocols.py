"""Evaluation protocols of the converters: a labelled, held-out test split for every published pair."""
import warnings

import numpy as np
import pytest
import rasterio

from rsseg.formats.manifest import Manifest
from rsseg.geo.converters import convert_loveda, convert_potsdam, convert_vaihingen
from rsseg.geo.converters.common import protocol_splits
from rsseg.geo.converters.isprs import VAIHINGEN_REFERENCE_SPLITS, VAIHINGEN_SPLITS
from tests.data.downloads import write_loveda, write_potsdam, write_vaihingen

PUBLISHED = {**{f'tr{i}': 'train' for i in range(6)}, **{f'va{i}': 'val' for i in range(7)}, 'bench': 'test'}
LABELLED = set(PUBLISHED) - {'bench'}


def test_holdout_is_per_scene_seeded_and_disjoint():
    splits = protocol_splits(PUBLISHED, LABELLED, 'holdout', 0.5, seed=0)
    assert {n for n, s in splits.items() if s == 'train'} == {f'tr{i}' for i in range(6)}  # train untouched
    val = {n for n, s in splits.items() if s == 'val'}
    test = {n for n, s in splits.items() if s == 'test'}
    assert val and test and not val & test and val | test == {f'va{i}' for i in range(7)}
    assert splits['bench'] == 'benchmark'  # no labels: never scored
    assert protocol_splits(PUBLISHED, LABELLED, 'holdout', 0.5, seed=0) == splits
    others = [protocol_splits(PUBLISHED, LABELLED, 'holdout', 0.5, seed=s) for s in range(1, 6)]
    assert any(o != splits for o in others)  # the seed matters


def test_reference_puts_every_labelled_non_train_scene_in_val():
    splits = protocol_splits(PUBLISHED, LABELLED, 'reference')
    assert [n for n, s in splits.items() if s == 'val'] == [f'va{i}' for i in range(7)]
    assert 'test' not in splits.values()


def test_too_few_evaluation_scenes_borrow_from_train_with_a_warning():
    published = {'a': 'train', 'b': 'train', 'c': 'train', 'd': 'val'}
    with pytest.warns(UserWarning, match='moving'):
        splits = protocol_splits(published, set(published), 'holdout')
    assert sorted(splits.values()) == ['test', 'train', 'train', 'val']
    with pytest.raises(ValueError, match='protocol'):
        protocol_splits(published, set(published), 'nope')


def test_vaihingen_lists_differ_as_documented():
    assert (len(VAIHINGEN_SPLITS['train']), len(VAIHINGEN_SPLITS['val'])) == (16, 17)
    assert (len(VAIHINGEN_REFERENCE_SPLITS['train']), len(VAIHINGEN_REFERENCE_SPLITS['val'])) == (25, 8)
    every = VAIHINGEN_REFERENCE_SPLITS['train'] + VAIHINGEN_REFERENCE_SPLITS['val']
    assert sorted(every, key=int) == sorted(VAIHINGEN_SPLITS['train'] + VAIHINGEN_SPLITS['val'], key=int)


def _splits(report):
    return {c.scene: c.split for c in Manifest.load(report.manifest).chips}


def test_converters_give_every_pair_a_labelled_test_split(tmp_path):
    write_potsdam(tmp_path / 'p', size=128, as_zip=True)
    write_vaihingen(tmp_path / 'v', size=128)
    write_loveda(tmp_path / 'l', size=128, as_zip=True)
    kw = dict(chip=64, stride=64, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        reports = [convert_potsdam(str(tmp_path / 'p'), str(tmp_path / 'po'), **kw),
                   convert_vaihingen(str(tmp_path / 'v'), str(tmp_path / 'vo'), **kw),
                   convert_loveda(str(tmp_path / 'l'), str(tmp_path / 'lo'), domains=['Rural'], **kw)]
    for report in reports:
        m = Manifest.load(report.manifest)
        test = [c for c in m.chips if c.split == 'test']
        assert test and all(c.ann for c in test), report.manifest
        assert not {c.scene for c in test} & {c.scene for c in m.chips if c.split != 'test'}  # per scene
    assert set(_splits(reports[2]).values()) == {'train', 'val', 'test', 'benchmark'}
    bench = [c for c in Manifest.load(reports[2].manifest).chips if c.split == 'benchmark']
    assert bench and all(c.ann is None for c in bench)
    ref = convert_vaihingen(str(tmp_path / 'v'), str(tmp_path / 'vr'), protocol='reference', **kw)
    assert _splits(ref) == {'vaihingen_area1': 'train', 'vaihingen_area3': 'train', 'vaihingen_area2': 'val',
                            'vaihingen_area5': 'val', 'vaihingen_area24': 'val'}  # the reference's 25/8 lists


def test_labels_outside_the_classes_are_refused_naming_the_file(tmp_path):
    from mmengine.registry import init_default_scope

    from rsseg.datasets import GeoChipDataset
    init_default_scope('mmseg')
    write_potsdam(tmp_path / 'p', tiles=('2_10',), size=64)
    report = convert_potsdam(str(tmp_path / 'p'), str(tmp_path / 'out'), chip=64, stride=64, progress=False)
    m = Manifest.load(report.manifest)
    label = report.manifest.parent / m.chips[0].ann
    with rasterio.open(label, 'r+') as dst:
        data = dst.read(1)
        data[:2, :2] = 9
        dst.write(data, 1)
    ds = GeoChipDataset(str(report.manifest), pipeline=[dict(type='LoadRasterImage'),
                                                       dict(type='LoadRasterAnnotation')])
    with pytest.raises(ValueError, match=rf'{label.name}: label values \[9\] are outside the 6 classes'):
        ds[0]
    with pytest.raises(ValueError, match=r"no chips in split 'test' \(chips per split: train 1\)"):
        GeoChipDataset(str(report.manifest), split='test')
    assert len(GeoChipDataset(str(report.manifest), split=['val', 'train'])) == 1
    assert np.all(data[2:, 2:] <= 255)
