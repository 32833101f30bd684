"""One hall server per data folder: a second `serve` or `demo` on the same folder refuses to start.

    lock = DataLock(data_dir).acquire()    # raises DataFolderBusy naming the running server's pid
    ...
    lock.release()
    DataLock(data_dir).holder()            # another program asking: the running server's pid, or None

Two servers on one ledger would each issue number 1001 to a different citizen. The lock is
flock(2) on `serve.lock`: the kernel drops it when the process dies, kill -9 and power cuts
included, so a crash never leaves a stale lock behind. `motcua device add/remove` and
`catalog import` still work beside a running server: they are meant to.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "serve.lock"


class DataFolderBusy(RuntimeError):
    """The data folder is already served by a running hall server."""


class DataLock:
    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> DataLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)   # not inherited by Mosquitto (PEP 446)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").split()
            os.close(fd)
            pid = holder[0] if holder else "?"
            raise DataFolderBusy(
                f"the data folder {self.path.parent} is already used by a running hall server "
                f"(pid {pid}); two servers on one ledger would give one number to two citizens. "
                f"Stop it first (sudo systemctl stop motcua-hall, or Ctrl+C where it runs), "
                f"or give this one another --data folder.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def holder(self) -> int | None:
        """The pid of the hall server serving this folder, or None; it takes no lock itself.

        Read from the kernel's lock table (/proc/locks, Linux): trying the lock, even shared, would
        make a `serve` starting at that very moment refuse the folder.
        """
        try:
            inode = os.stat(self.path).st_ino
            table = Path("/proc/locks").read_text().splitlines()
        except OSError:
            return None
        for line in table:
            # "3: FLOCK  ADVISORY  WRITE 28627 fe:00:2156885 0 EOF"; waiters' lines carry "->"
            f = line.split()
            if len(f) >= 6 and f[1] == "FLOCK" and f[3] == "WRITE" and f[5].rsplit(":", 1)[-1] == str(inode):
                return int(f[4])
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)   # closing the descriptor drops the lock
            self._fd = None
