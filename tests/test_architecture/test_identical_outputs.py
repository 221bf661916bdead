"""The layering refactor changed no output: today's converter, tiler and scene predictor write what the last commit
before it (7726661) wrote, byte for byte, on the bundled Dubai tile and the rasters of ``../shared/data``.

The golden digests and how they were made: ``tests/data/golden_outputs/`` (``data.py`` runs the cases and digests the
outputs, ``golden_outputs.json`` holds the old code's digests). An output changed on purpose goes, with the reason,
into ``intended_changes`` of that JSON (``{case: {output file: why}}``); anything else that differs is a regression.
"""
import json

import pytest

from tests.conftest import REPO, SHARED_DATA
from tests.data.golden_outputs import data as golden

GOLDEN = json.loads((golden.HERE / 'golden_outputs.json').read_text())
NEEDS_SHARED = {**{k: v[0] for k, v in golden.TILE_CASES.items()}, **{k: v[0] for k, v in golden.INFER_CASES.items()}}


def test_golden_set_covers_every_case_and_the_same_checkpoint():
    assert sorted(GOLDEN['cases']) == sorted(NEEDS_SHARED)
    assert golden.sha256(golden.CHECKPOINT.read_bytes()) == GOLDEN['checkpoint_sha256'], \
        f'{golden.CHECKPOINT} is not the checkpoint the golden class maps were made with'
    assert set(GOLDEN['intended_changes']) <= set(GOLDEN['cases'])


@pytest.mark.parametrize('case', sorted(GOLDEN['cases']))
def test_outputs_are_identical_to_the_golden_set(case, tmp_path, request):
    if NEEDS_SHARED[case]:
        request.getfixturevalue('shared_data')  # skips with the reason when ../shared/data is absent
    golden.run_case(REPO, case, tmp_path, SHARED_DATA)
    got = golden.digest_outputs(tmp_path)
    same_version = golden.rsseg_version(REPO) == GOLDEN['rsseg_version']
    differences = golden.compare(GOLDEN['cases'][case], got, GOLDEN['intended_changes'].get(case), same_version)
    assert not differences, (
        f'{case}: {len(differences)} output(s) differ from what commit {GOLDEN["commit"][:7]} wrote '
        f'(file: the bytes; content: pixels, masks, georeferencing or tags; chips/rest: the manifest):\n'
        + '\n'.join(differences[:20])
        + '\nA change on purpose goes into intended_changes of tests/data/golden_outputs/golden_outputs.json.')
