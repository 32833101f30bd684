"""shellcheck passes on every shell script of the repository (the bootstrap `motcua`, .ci/run, …)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from motcua_cli.deploy.layout import source_files
from motcua_cli.paths import ROOT


def shell_scripts() -> list[str]:
    """Every file whose name ends in .sh or whose first line is a sh/bash shebang."""
    found = []
    for name in source_files(ROOT):
        p = ROOT / name
        if p.is_symlink() or not p.is_file():
            continue
        with open(p, "rb") as f:
            first = f.readline(200)
        if name.endswith(".sh") or (first.startswith(b"#!") and first.split(b"/")[-1].split()[-1] in (b"sh", b"bash")):
            found.append(name)
    return found


def test_the_bootstrap_is_found() -> None:
    assert {"motcua", ".ci/run"} <= set(shell_scripts())


@pytest.mark.parametrize("script", shell_scripts())
def test_shellcheck(script: str) -> None:
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is missing: `./motcua test` installs it (apt package shellcheck)")
    p = subprocess.run(["shellcheck", "--external-sources", script], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
