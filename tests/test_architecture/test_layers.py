"""The package's layering holds: the import-linter contracts (``.importlinter``) and a torch-free raster layer.

The contracts are read from the source; the torch-free checks run the real imports (and the tiler) in a fresh
interpreter in which torch, torchvision, mmengine, mmcv and mmseg cannot be imported, as on a machine that only
prepares data. The parts and their rules: docs/ARCHITECTURE.md.
"""
import configparser
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rsseg.formats.manifest import Manifest
from tests.conftest import REPO
from tests.fixtures import write_raster

BLOCKED = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmseg')
# Run first in the child interpreter: ``import torch`` (or any submodule) raises ImportError from here on.
PRELUDE = textwrap.dedent(f"""\
    import sys
    for name in {BLOCKED!r}:
        sys.modules[name] = None
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit('the prelude failed to block torch')
    """)

def torch_free_commands() -> list:
    """The command-line modules of rsseg.cli in .importlinter's torch-free contract (tiler, converters)."""
    config = configparser.ConfigParser()
    config.read(REPO / '.importlinter')
    sources = config['importlinter:contract:torch-free']['source_modules'].split()
    return [m for m in sources if m.startswith('rsseg.cli.')]


# Every module of the torch-free parts: the package root, the file formats, the raster layer, the tiler's and the
# converters' command lines (rsseg.cli), data_prep/.
TORCH_FREE = textwrap.dedent(f"""\
    import importlib
    import pkgutil

    import data_prep
    import rsseg
    import rsseg.formats
    import rsseg.geo
    import rsseg.utils.cli
    for package in (rsseg.formats, rsseg.geo, data_prep):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):
            importlib.import_module(info.name)
    for name in {torch_free_commands()!r}:
        importlib.import_module(name)
    loaded = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED and sys.modules[m] is not None)
    assert not loaded, loaded
    print('torch-free imports: ok')
    """)


def run_blocked(code: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in which the network stack cannot be imported."""
    script = PRELUDE + f'BLOCKED = {BLOCKED!r}\n' + code
    return subprocess.run([sys.executable, '-c', script], cwd=cwd, capture_output=True, text=True, timeout=300)


def write_scene(folder: Path) -> tuple:
    """A 64×64 3-band uint8 GeoTIFF in UTM 32N, an RGB colour-coded label beside it, and a palette file."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(1, 255, size=(3, 64, 64), dtype=np.uint8)
    image = write_raster(folder / 'scene.tif', pixels)
    colours = np.zeros((3, 64, 64), np.uint8)
    colours[0, :, 32:] = 255  # left half black (class 'a'), right half red (class 'b')
    label = write_raster(folder / 'scene_label.tif', colours)
    palette = folder / 'palette.json'
    palette.write_text(json.dumps({'classes': {'a': '#000000', 'b': '#FF0000'}}))
    return image, label, palette


def test_raster_layer_and_formats_import_without_the_network_stack():
    proc = run_blocked(TORCH_FREE)
    assert proc.returncode == 0, proc.stderr
    assert 'torch-free imports: ok' in proc.stdout


def test_torch_free_commands_are_the_tiler_and_the_converters():
    assert set(torch_free_commands()) == {'rsseg.cli.tile', 'rsseg.cli.converter_args', 'rsseg.cli.convert_color_masks',
                                          'rsseg.cli.convert_potsdam', 'rsseg.cli.convert_vaihingen',
                                          'rsseg.cli.convert_loveda'}


def test_data_prep_scripts_help_without_the_network_stack():
    """Each ``python data_prep/NAME.py --help``, run as a script the way users do."""
    scripts = sorted(str(p.relative_to(REPO)) for p in (REPO / 'data_prep').glob('[!_]*.py'))
    assert 'data_prep/tile_scenes.py' in scripts and len(scripts) == 5
    proc = run_blocked(textwrap.dedent(f"""\
        import runpy
        for script in {scripts!r}:
            sys.argv = [script, '--help']
            try:
                runpy.run_path(script, run_name='__main__')
            except SystemExit as exc:
                assert exc.code == 0, (script, exc.code)
            else:
                raise AssertionError(f'{{script}} --help did not exit')
        """))
    assert proc.returncode == 0, proc.stderr
    assert 'usage: rsseg-tile' in proc.stdout and '--palette' in proc.stdout
    assert proc.stdout.count('usage: ') == len(scripts) and 'usage: convert_loveda' in proc.stdout


def test_tiler_cuts_chips_without_the_network_stack(tmp_path):
    image, label, palette = write_scene(tmp_path / 'scenes')
    out = tmp_path / 'chips'
    argv = ['--images', str(image), '--labels', str(label), '--label-pattern', '{stem}_label', '--palette',
            str(palette), '--out', str(out), '--chip', '32', '--stride', '32', '--splits', '1,0,0', '--no-progress']
    proc = run_blocked(f'from rsseg.cli.tile import main\nraise SystemExit(main({argv!r}))\n')
    assert proc.returncode == 0, proc.stderr
    manifest = Manifest.load(out / 'manifest.json')
    assert manifest.classes == ['a', 'b'] and len(manifest.chips) == 4
    assert all((out / c.img).is_file() and (out / c.ann).is_file() for c in manifest.chips)
    assert sum(np.array(c.class_hist) for c in manifest.chips).tolist() == [64 * 32, 64 * 32]


def lint_imports() -> str:
    """The ``lint-imports`` installed beside this interpreter (tools/setup_env.sh installs import-linter)."""
    found = Path(sys.executable).parent / 'lint-imports'
    if found.is_file():
        return str(found)
    found = shutil.which('lint-imports')
    if found is None:
        pytest.fail('lint-imports is not installed: run bash tools/setup_env.sh (or pip install import-linter)')
    return found


def test_import_contracts_hold():
    proc = subprocess.run([lint_imports()], cwd=REPO, capture_output=True, text=True, timeout=600)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'an import contract of .importlinter is broken:\n{report}'
    assert 'broken' in report and ' 0 broken' in report
