"""The layer contract (pyproject.toml [tool.importlinter]) fails when a module imports upward.

`./motcua test` runs `lint-imports` on the tree (tools/checks.py); these tests prove on a copy of
the tree that the contract catches each kind of wrong import the architecture's table forbids,
with a throwaway module that is never written into the real tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the packages the contract reads, and pyproject.toml."""
    copy = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH puts the copy ahead of the venv's editable install of the real tree.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_tree_keeps_the_contract(tree):
    done = lint_imports(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 broken" in done.stdout


@pytest.mark.parametrize("module, imports, why", [
    ("hall/upward_probe.py", "import broker.engine", "hall is the bottom layer"),
    ("broker/upward_probe.py", "from kiosk import model", "the hall server is below the apps"),
    ("printer/upward_probe.py", "import kiosk.worker", "the printer is below the kiosk"),
    ("printer/upward_probe.py", "import broker.ledger", "siblings in one layer are independent"),
    ("ui/upward_probe.py", "import kiosk.model", "ui/ is below the apps it serves"),
    ("ui/upward_probe.py", "import printer.layout", "ui/ prints nothing"),
    ("kiosk/upward_probe.py", "import display.model", "the kiosk and the display are independent"),
    ("display/upward_probe.py", "import printer.layout", "the wall display prints nothing"),
    ("kiosk/upward_probe.py", "import broker.engine", "a kiosk uses no hall-server code"),
    ("printer/upward_probe.py", "import hall.client", "printer/ uses only the hall's models"),
    ("broker/upward_probe.py", "import kivy", "only the apps know Kivy"),
    ("hall/upward_probe.py", "import motcua_cli.main", "nothing imports the command"),
])
def test_an_upward_import_breaks_the_contract(tree, module, imports, why):
    probe = tree / module
    probe.write_text(f'"""A throwaway module: {why}."""\n{imports}\n')
    try:
        done = lint_imports(tree)
    finally:
        probe.unlink()
    dotted = module.removesuffix(".py").replace("/", ".")
    assert done.returncode == 1, f"{imports} in {module} was let through ({why}):\n{done.stdout}"
    assert "BROKEN" in done.stdout and dotted in done.stdout, done.stdout
