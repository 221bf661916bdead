"""The command lines live in rsseg.cli: every console script of setup.py runs an ``rsseg.cli.NAME`` module's ``main``,
every command has a console script, setup.py installs rsseg only, and the scripts in tools/ and data_prep/ are thin
(``from rsseg.cli.NAME import main``, no ``sys.path`` edits)."""
import ast
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from setuptools import find_packages

import rsseg.cli
from tests.conftest import REPO

SCRIPT_FOLDERS = ('tools', 'data_prep')
HELPERS = {'converter_args'}  # modules of rsseg.cli that are not commands


def setup_keywords() -> Dict[str, ast.expr]:
    """The keyword arguments of the ``setup()`` call in setup.py, unevaluated."""
    tree = ast.parse((REPO / 'setup.py').read_text())
    call = next(node for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'setup')
    return {kw.arg: kw.value for kw in call.keywords}


def console_scripts() -> Dict[str, str]:
    """``{script name: 'module:attribute'}`` declared in setup.py."""
    entries = ast.literal_eval(setup_keywords()['entry_points'])['console_scripts']
    return dict(tuple(part.strip() for part in entry.split('=', 1)) for entry in entries)


def commands() -> List[str]:
    """The command modules of rsseg.cli."""
    return sorted(info.name for info in pkgutil.iter_modules(rsseg.cli.__path__)
                  if info.name.split('.')[-1] not in HELPERS)


def scripts() -> List[Path]:
    """The Python scripts in tools/ and data_prep/."""
    return sorted(p for folder in SCRIPT_FOLDERS for p in (REPO / folder).glob('*.py') if p.name != '__init__.py')


SCRIPTS = console_scripts()


def test_every_console_script_points_into_rsseg_cli():
    assert len(SCRIPTS) == 11 and {'rsseg-train', 'rsseg-tile', 'rsseg-convert-loveda', 'rsseg-demo'} <= set(SCRIPTS)
    for name, target in SCRIPTS.items():
        module, _, attr = target.partition(':')
        assert re.fullmatch(r'rsseg\.cli\.\w+', module) and attr == 'cli', f'{name}={target}'
        assert module.rpartition('.')[2] not in HELPERS, f'{name}={target}'


def test_every_command_has_a_console_script():
    declared = {target.partition(':')[0].rpartition('.')[2] for target in SCRIPTS.values()}
    assert declared == set(commands())


@pytest.mark.parametrize('name', sorted(SCRIPTS))
def test_console_script_resolves_and_prints_its_help(name, capsys):
    module_name, _, attr = SCRIPTS[name].partition(':')
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attr)) and callable(module.main)
    with pytest.raises(SystemExit) as exc:
        module.main(['--help'])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: ') and '--help' in out


def test_installed_console_script_runs(tmp_path):
    """The installed entry point itself (after ``pip install -e .``): help, and a bad input as one ``error:`` line."""
    exe = Path(sys.executable).parent / 'rsseg-convert-loveda'
    if not exe.is_file():
        pytest.skip('rsseg is not installed into this environment with its current console scripts')
    proc = subprocess.run([str(exe), '--help'], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0 and '--domains' in proc.stdout, proc.stderr
    proc = subprocess.run([str(exe), 'root', '--out', 'out', '--domains', 'mars'], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 1 and proc.stderr.startswith('error: --domains takes urban and/or rural'), proc.stderr


def test_setup_installs_rsseg_only():
    packages = setup_keywords()['packages']
    include = ast.literal_eval(next(kw.value for kw in packages.keywords if kw.arg == 'include'))
    found = find_packages(where=str(REPO), include=include)
    assert 'rsseg' in found and 'rsseg.cli' in found
    assert all(p == 'rsseg' or p.startswith('rsseg.') for p in found), found


@pytest.mark.parametrize('script', scripts(), ids=lambda p: f'{p.parent.name}/{p.name}')
def test_script_is_thin_and_leaves_sys_path_alone(script):
    text = script.read_text()
    assert 'sys.path' not in text and 'PYTHONPATH' not in text
    imported = re.findall(r'^from (rsseg\.cli\.\w+) import main$', text, re.M)
    assert len(imported) == 1 and imported[0].rpartition('.')[2] in commands(), text
    assert re.search(r"^if __name__ == '__main__':\n    run_cli\(main\)$", text, re.M), text


def test_no_file_in_the_script_folders_touches_sys_path():
    for folder in SCRIPT_FOLDERS:
        for path in (REPO / folder).rglob('*'):
            if path.is_file() and '__pycache__' not in path.parts:
                assert 'sys.path' not in path.read_text(errors='replace'), path
