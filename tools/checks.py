"""The static checks `./motcua test` runs before the suite: ruff, mypy, import-linter.

    .venv/bin/python tools/checks.py                  # all three, as `./motcua test` runs them
    MOTCUA_ENFORCE=ruff,mypy,import-linter ...        # make every step fail the run, for one run

Their settings live in pyproject.toml ([tool.ruff], [tool.mypy], [tool.importlinter]). Every step
prints its findings and a count; a step named in ENFORCED fails the run (all three are, since
issue 9 fixed their findings; a new check can join as "reported only" until its own are fixed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

# The switch: the steps whose findings fail `./motcua test` (docs/testing.md).
ENFORCED = {"ruff", "mypy", "import-linter"}


@dataclass(frozen=True)
class Step:
    name: str
    command: list[str]
    count: re.Pattern[str]
    """Finds the number of findings in the tool's output (no match with exit 0 means none)."""


STEPS = [
    Step("ruff", [str(BIN / "ruff"), "check", "--output-format", "concise", "."],
         re.compile(r"Found (\d+) error")),
    Step("mypy", [str(BIN / "mypy")], re.compile(r"Found (\d+) error")),
    Step("import-linter", [str(BIN / "lint-imports")], re.compile(r"(\d+) broken")),
]


def enforced() -> set[str]:
    extra = os.environ.get("MOTCUA_ENFORCE", "")
    return ENFORCED | {name.strip() for name in extra.split(",") if name.strip()}


def run(step: Step, enforce: bool) -> bool:
    """Run one step, print its output and a one-line verdict; False when it fails the run."""
    started = time.monotonic()
    done = subprocess.run(step.command, cwd=ROOT, capture_output=True, text=True)
    output = (done.stdout + done.stderr).strip()
    found = step.count.search(output)
    findings = int(found.group(1)) if found else (0 if done.returncode == 0 else None)
    if done.returncode != 0:
        print(output)
    took = time.monotonic() - started
    if done.returncode == 0:
        verdict = "clean"
    elif findings is None:
        verdict = f"could not run (exit {done.returncode})"
    else:
        verdict = f"{findings} findings"
    mode = "enforced" if enforce else "reported only (tools/checks.py ENFORCED)"
    print(f"checks: {step.name}: {verdict}, {mode}, {took:.1f} s", flush=True)
    return done.returncode == 0 or not enforce


def main() -> int:
    enforce = enforced()
    results = [run(step, step.name in enforce) for step in STEPS]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
