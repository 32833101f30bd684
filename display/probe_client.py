"""Run `motcua display --probe` as a child process and talk to it (tests, bench, the demo).

    with DisplayProcess("display-1.toml", size=(1280, 720), workdir=tmp) as d:
        d.wait_event("ready")
        d.wait_texts(lambda t: t["call_number"] == "1001")
        d.screenshot("test-output/display/board.png")

Kivy's window is one per process, so every display (and every size) is its own process:
this also keeps Kivy out of the process that runs the hall server or pytest.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent


def display_env(workdir: Path, audio_driver: str = "dummy") -> dict[str, str]:
    """A headless environment: SDL's offscreen video (no DISPLAY), a private Kivy home, quiet SDL audio."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(KIVY_HOME=str(workdir / "kivy"), KIVY_NO_ARGS="1", KIVY_LOG_MODE="PYTHON",
               KIVY_NO_FILELOG="1", SDL_AUDIODRIVER=audio_driver, PYTHONUNBUFFERED="1")
    return env


class DisplayProcess:
    def __init__(self, device_toml: Path, size: tuple[int, int] = (1920, 1080), workdir: Path | None = None,
                 env: dict[str, str] | None = None):
        self.size = size
        self.workdir = Path(workdir or Path(device_toml).parent)
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "motcua_cli.main", "display", "--config", str(device_toml),
               "--size", f"{size[0]}x{size[1]}", "--probe"]
        self.stderr = open(self.workdir / f"display-{size[0]}x{size[1]}.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env or display_env(self.workdir))
        self.events: list[dict] = []
        self._new: queue.SimpleQueue = queue.SimpleQueue()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def send(self, **cmd) -> None:
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()

    def wait_event(self, name: str, pred: Callable[[dict], bool] = lambda e: True, timeout: float = 10.0,
                   after: int = 0) -> dict:
        """The first event `name` (from index `after` on) that satisfies pred."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[after:]:
                    if ev.get("event") == name and pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"display: no '{name}' event within {timeout:.0f} s "
                                         f"(exit {self.proc.poll()}); log: {self.log_tail()}")
                self._cond.wait(min(left, 0.2))

    def request(self, name: str, timeout: float = 10.0, **cmd) -> dict:
        mark = len(self.events)
        self.send(cmd=name, **cmd)
        return self.wait_event(name, timeout=timeout, after=mark)

    def texts(self) -> dict:
        return self.request("texts")

    def wait_texts(self, pred: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            t = self.texts()
            if pred(t):
                return t
            if time.monotonic() > deadline:
                raise AssertionError(f"display never showed what was expected; last: {t}")
            time.sleep(0.05)

    def screenshot(self, path: str | Path) -> Path:
        return Path(self.request("screenshot", path=str(Path(path).resolve()))["path"])

    def log_tail(self, lines: int = 15) -> str:
        self.stderr.flush()
        text = Path(self.stderr.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def close(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            try:
                self.send(cmd="quit")
                self.proc.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()

    def __enter__(self) -> "DisplayProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
