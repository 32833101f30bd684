"""played.log: one line per thing the announcer said, written as it starts to say it.

    log = PlayedLog(folder)                  # the display's audio_out() folder
    log.write(Said("call", "file", "000012-1023-q2.wav", ((1023, 2),), 7.2, "Mời công dân …"))
    heard = follow(folder, lambda said: print(said.text))   # another process: the new lines, as they come
    heard.close()                                            # one last read, then stop

A line is tab-separated: time, kind (`call`: a call's first words in a sentence, `next`: a
further call in the same sentence, `again`: a repeat, `en`: the English), backend, WAV file
(or -), tickets as ticket@counter, seconds, the words. It is written for every backend, so
what the console (`motcua demo`) or an operator reads is what the hall really heard — not a
retyped phrase (issue 8, item 12). The file is kept under MAX_BYTES: when it grows past it,
it becomes played.log.1 (the one before is deleted), so two files at most (item 13).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

NAME = "played.log"
MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Said:
    kind: str                                 # call | next | again | en
    backend: str
    wav: str                                  # file name in the folder, or "" (not a file backend)
    calls: tuple[tuple[str, int], ...]        # (ticket, counter) named by these words
    seconds: float
    text: str
    at: str = ""                              # local time written, "YYYY-MM-DD HH:MM:SS"

    def line(self) -> str:
        calls = ",".join(f"{t}@{c}" for t, c in self.calls)
        return "\t".join([self.at, self.kind, self.backend, self.wav or "-", calls, f"{self.seconds:.2f}",
                          self.text.replace("\t", " ").replace("\n", " ")]) + "\n"

    @classmethod
    def parse(cls, line: str) -> Said | None:
        f = line.rstrip("\n").split("\t")
        if len(f) != 7:
            return None
        calls = tuple((t, int(c)) for t, _, c in (x.rpartition("@") for x in f[4].split(",") if x))
        return cls(f[1], f[2], "" if f[3] == "-" else f[3], calls, float(f[5]), f[6], f[0])


class PlayedLog:
    def __init__(self, folder: Path, max_bytes: int = MAX_BYTES):
        self.path = Path(folder) / NAME
        self.max_bytes = max_bytes

    def write(self, said: Said) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.path.stat().st_size >= self.max_bytes:
                self.path.replace(self.path.with_name(NAME + ".1"))
        except FileNotFoundError:
            pass
        if not said.at:
            said = replace(said, at=f"{datetime.now():%Y-%m-%d %H:%M:%S}")
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(said.line())

    def read(self) -> list[Said]:
        """Everything the two files hold, oldest first."""
        out = []
        for p in (self.path.with_name(NAME + ".1"), self.path):
            if p.exists():
                out += [s for s in map(Said.parse, p.read_text(encoding="utf-8").splitlines()) if s]
        return out


class Follower:
    """Reads the lines added to a played.log since it started (another process writes them)."""

    def __init__(self, folder: Path, on_said: Callable[[Said], None], interval: float = 0.25):
        self.path = Path(folder) / NAME
        self.on_said, self.interval = on_said, interval
        self.offset = self._size(self.path)      # only what is said from now on
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="played-log", daemon=True)
        self._thread.start()

    @staticmethod
    def _size(p: Path) -> int:
        try:
            return p.stat().st_size
        except OSError:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def poll(self) -> None:
        with self._lock:
            size = self._size(self.path)
            if size < self.offset:
                # Rotated: finish the old file (now played.log.1), then start the new one from 0.
                self._read(self.path.with_name(NAME + ".1"))
                self.offset = 0
            self._read(self.path)

    def _read(self, p: Path) -> None:
        try:
            with open(p, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1            # a line being written stays for the next poll
        self.offset += end
        for line in data[:end].decode("utf-8", errors="replace").splitlines():
            said = Said.parse(line)
            if said:
                self.on_said(said)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.poll()


def follow(folder: Path, on_said: Callable[[Said], None], interval: float = 0.25) -> Follower:
    """Call on_said(said) for each line added to folder/played.log from now on, until close()."""
    return Follower(folder, on_said, interval)
