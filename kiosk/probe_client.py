"""Drive a `motcua kiosk --probe` process (tests and bench/kiosk.py).

    with KioskProcess(device_toml, size=(800, 480), data=tmp) as k:   # waits for the first frame
        k.wait_screen("home")
        k.tap("Hộ tịch")                  # a real touch on the button with that title
        k.hits([(400, 240)])              # [[{"uid": …, "title": "Hộ tịch"}]]: where a touch lands, not acted on
        k.wait_screen("ticket")
        k.view()["body"]["number"]        # what the screen shows
        k.screenshot("test-output/kiosk/800x480/ticket.png")

Each kiosk is its own process: Kivy's window is one per process, and a process of its own is
also what the cold-start and idle-CPU figures need.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class KioskProcess:
    def __init__(self, device_toml: str | Path, size: tuple[int, int] = (800, 480), data: str | Path | None = None,
                 idle_s: float | None = None, log: str | Path | None = None, timeout: float = 30.0,
                 env: dict[str, str] | None = None):
        """`env`: more environment for the kiosk's process (e.g. tests/test_kiosk_taps.py's)."""
        self.t_spawn = time.monotonic()
        self._kivy_home = tempfile.mkdtemp(prefix="motcua-kivy-")    # Kivy's config and logs: ours alone
        env = dict(os.environ, KIVY_HOME=self._kivy_home, KIVY_NO_ARGS="1",
                   SDL_AUDIODRIVER="dummy", **(env or {}))
        env.pop("DISPLAY", None)          # offscreen: no X server is used even where there is one
        cmd = [sys.executable, "-m", "motcua_cli.main", "kiosk", "--config", str(device_toml), "--probe",
               "--size", f"{size[0]}x{size[1]}"]
        if data:
            cmd += ["--data", str(data)]
        if idle_s is not None:
            cmd += ["--idle", str(idle_s)]
        self._log = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._log, text=True, encoding="utf-8", bufsize=1)
        self.events: list[dict] = []
        self._cond = threading.Condition()
        self._n = itertools.count(1)
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.ready = self.wait_event("ready", timeout=timeout)
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            ev["at"] = time.monotonic()
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()
        with self._cond:
            self.events.append({"event": "exit", "at": time.monotonic()})
            self._cond.notify_all()

    def wait_event(self, name: str, pred=lambda ev: True, timeout: float = 10.0, since: int = 0) -> dict:
        """The first event `name` (from index `since`) for which pred(ev) holds; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[since:]:
                    if ev["event"] == name and pred(ev):
                        return ev
                    if ev["event"] == "exit":
                        raise AssertionError(f"the kiosk exited (code {self.proc.poll()}) waiting for {name}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no '{name}' event within {timeout} s; last: {self.events[-5:]}")
                self._cond.wait(left)

    def call(self, cmd: str, timeout: float = 15.0, **args) -> dict:
        n = next(self._n)
        self.proc.stdin.write(json.dumps({"n": n, "cmd": cmd, **args}, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        reply = self.wait_event("reply", lambda ev: ev.get("n") == n, timeout)
        if reply.get("ok") is False or reply.get("error"):
            raise AssertionError(f"{cmd} {args}: {reply.get('error')} (visible: {reply.get('targets')})")
        return reply

    # --- conveniences -----------------------------------------------------------------------
    def tap(self, text: str) -> dict:
        return self.call("tap", text=text)

    def type(self, text: str) -> dict:
        return self.call("type", text=text, timeout=30)

    def view(self) -> dict:
        return self.call("view")["view"]

    def screen(self) -> str:
        return self.view()["screen"]

    def wait_screen(self, name: str, timeout: float = 10.0) -> dict:
        """Wait until the screen shown is `name`; returns its view."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.view()
            if v and v["screen"] == name:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"screen is {v and v['screen']!r}, not {name!r}, after {timeout} s: {v}")
            time.sleep(0.05)

    def wait_view(self, pred, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            v = self.view()
            if v and pred(v):
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"view not as expected after {timeout} s: {v}")
            time.sleep(0.05)

    def targets(self) -> list[dict]:
        return self.call("targets")["targets"]

    def layout(self) -> dict:
        """Every button any part of which is in view (title, uid, window box) and the lists' scroll bars."""
        reply = self.call("targets", partial=True)
        return dict(targets=reply["targets"], bars=reply["bars"])

    def hits(self, points: list[tuple[float, float]]) -> list[list[dict]]:
        """A real touch at each point (window px, y up), acted on by nobody: the buttons each released."""
        return self.call("hits", points=[list(p) for p in points], timeout=30)["hits"]

    def screenshot(self, path: str | Path) -> str:
        return self.call("screenshot", path=str(Path(path).resolve()))["path"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call("quit", timeout=5)
                self.proc.wait(10)
            except (AssertionError, OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait()
        if self._log is not subprocess.DEVNULL:
            self._log.close()
        shutil.rmtree(self._kivy_home, ignore_errors=True)

    def __enter__(self) -> "KioskProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
