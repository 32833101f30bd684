"""Bounded folders: a display runs for years on an SD card, so nothing it writes may grow forever."""

from __future__ import annotations

import re
from pathlib import Path


def keep_newest(folder: Path, pattern: re.Pattern[str], files: int, total_bytes: int,
                used: bool = False) -> int:
    """Delete the oldest files whose name matches `pattern` beyond `files` of them or `total_bytes`
    in all (the newest one always stays); return how many were deleted. Only matching names are
    touched, so a folder shared with other files is safe. `used`: order by last use (the access
    time a cache sets itself with os.utime) instead of by when the file was written."""
    found = []
    for p in folder.iterdir():
        if pattern.fullmatch(p.name):
            try:
                st = p.stat()
            except OSError:
                continue
            found.append((st.st_atime_ns if used else st.st_mtime_ns, p.name, st.st_size, p))
    found.sort(reverse=True)          # newest first
    total = deleted = 0
    for i, (_, _, size, p) in enumerate(found):
        total += size
        if i >= files or (i > 0 and total > total_bytes):
            p.unlink(missing_ok=True)
            deleted += 1
    return deleted
