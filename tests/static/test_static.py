"""The code keeps its promises to its readers: strict types and one-way layers."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

BIN = REPO / ".venv" / "bin" if (REPO / ".venv").exists() else None


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = str(BIN / tool) if BIN else tool
    return subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True, check=False)


def test_the_package_is_clean_under_mypy_strict() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_only_import_downwards() -> None:
    result = run("lint-imports")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_package_imports_without_its_test_tools() -> None:
    code = "import sausage.cli, sausage.api.app, sausage.agent"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
