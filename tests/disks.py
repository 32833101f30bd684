"""Small file systems of our own for the disk tests: a tmpfs mounted in the test's folder (root only,
as CI runs), and a way to fill one to the last byte."""

from __future__ import annotations

import subprocess
from pathlib import Path


def mount_tmpfs(where: Path, size: str, *options: str) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(where)],
                   check=True)
    return where


def umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write zeros until the disk refuses: what a disk full of something else looks like."""
    filler = disk / "filler"
    try:
        with open(filler, "wb") as f:
            while True:
                f.write(b"\0" * 65536)
    except OSError:
        pass
    return filler
