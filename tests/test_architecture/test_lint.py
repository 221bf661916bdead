"""The code lints clean: ``ruff check .`` (ruff.toml) over the repository and ``mypy`` (mypy.ini) over the raster
layer, the file formats and the command lines, both run from the repository root as a developer runs them.

Both tools are pinned in requirements.txt (tools/setup_env.sh installs them); a test skips only where its tool is
not installed beside this interpreter.
"""
import importlib.util
import subprocess
import sys
from typing import List

import pytest

from tests.conftest import REPO


def run_tool(module: str, args: List[str]) -> subprocess.CompletedProcess:
    """``python -m <module> <args>`` from the repository root, skipping when the tool is not installed."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f'{module} is not installed beside {sys.executable}: run bash tools/setup_env.sh '
                    f'(requirements.txt pins it)')
    return subprocess.run([sys.executable, '-m', module, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_ruff_is_clean():
    proc = run_tool('ruff', ['check', '--output-format', 'concise', '.'])
    assert proc.returncode == 0, f'`ruff check .` reports problems (ruff.toml):\n{proc.stdout}{proc.stderr}'


def test_mypy_is_clean():
    proc = run_tool('mypy', [])
    assert proc.returncode == 0, f'`mypy` reports problems (mypy.ini):\n{proc.stdout}{proc.stderr}'
    assert 'Success: no issues found' in proc.stdout
