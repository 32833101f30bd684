"""Files written whole: a power cut leaves the old content or the new, never a torn file.

    write_durably(path, data)              # temp file, fsync, rename, fsync the folder
    write_durably(path, data, tmp=".x.1")  # a temp name of its own, when two processes may write at once
    fsync_dir(folder)                      # a rename (or a new file) itself reaches the disk
"""

from __future__ import annotations

import os
from pathlib import Path


def write_durably(path: Path, data: bytes, mode: int = 0o644, tmp: str | None = None) -> None:
    tmp_path = path.with_name(tmp or path.name + ".tmp")
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp_path, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass            # some file systems (FAT32 on a stick, on some kernels) refuse a folder's fsync
    finally:
        os.close(fd)
