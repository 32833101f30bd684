"""Run a motcua Kivy app with `--probe` as a child process and talk to it (tests, benchmarks).

    with KioskProcess(device_toml, size=(800, 480), data=tmp) as k:   # waits for the first frame
        k.tap("Hộ tịch")                  # a real touch on the button with that title
        k.wait_screen("ticket")
        k.view()["body"]["number"]        # what the screen shows
        k.screenshot("test-output/kiosk/800x480/ticket.png")

    with DisplayProcess(display_toml, size=(1280, 720), workdir=tmp) as d:
        d.wait_event("ready", timeout=30)
        d.wait_texts(lambda t: t["call_number"] == "1001")

Each app is its own process: Kivy's window is one per process, an app that is killed must not
take pytest with it, and the cold-start and idle-CPU figures need a process of their own. Both
speak ui.probe's one line protocol; this module imports neither Kivy nor the apps.
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
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def headless_env(kivy_home: Path | str, audio_driver: str = "dummy") -> dict[str, str]:
    """SDL's offscreen video (no DISPLAY: no X server is used even where there is one), a private
    Kivy home, quiet SDL audio, Kivy logging through `logging` to stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(KIVY_HOME=str(kivy_home), KIVY_NO_ARGS="1", KIVY_LOG_MODE="PYTHON", KIVY_NO_FILELOG="1",
               SDL_AUDIODRIVER=audio_driver, PYTHONUNBUFFERED="1")
    return env


def display_env(workdir: Path, audio_driver: str = "dummy") -> dict[str, str]:
    """The display's headless environment, its Kivy home in `workdir`."""
    return headless_env(Path(workdir) / "kivy", audio_driver)


class AppProcess:
    """`motcua <app> … --probe`: its events as they come, commands with replies."""

    def __init__(self, args: list[str], env: dict[str, str], log: str | Path | None):
        self.t_spawn = time.monotonic()
        self._log = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, "-m", "motcua_cli.main", *args, "--probe"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     text=True, encoding="utf-8", bufsize=1)
        self.events: list[dict] = []
        self._cond = threading.Condition()
        self._n = itertools.count(1)
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
            ev["at"] = time.monotonic()
            with self._cond:
                self.events.append(ev)
                self._cond.notify_all()
        with self._cond:
            self.events.append({"event": "exit", "at": time.monotonic()})
            self._cond.notify_all()

    def wait_event(self, name: str, pred: Callable[[dict], bool] = lambda ev: True, timeout: float = 10.0,
                   since: int = 0) -> dict:
        """The first event `name` (from index `since`) for which pred(ev) holds; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[since:]:
                    if ev["event"] == name and pred(ev):
                        return ev
                    if ev["event"] == "exit":
                        raise AssertionError(f"the app exited (code {self.proc.poll()}) waiting for {name}; "
                                             f"log: {self.log_tail()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no '{name}' event within {timeout} s; last: {self.events[-5:]}; "
                                         f"log: {self.log_tail()}")
                self._cond.wait(left)

    def call(self, cmd: str, timeout: float = 15.0, **args) -> dict:
        """Send a command; its reply (AssertionError if it says it failed)."""
        n = next(self._n)
        self.proc.stdin.write(json.dumps({"n": n, "cmd": cmd, **args}, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        reply = self.wait_event("reply", lambda ev: ev.get("n") == n, timeout)
        if reply.get("ok") is False or reply.get("error"):
            raise AssertionError(f"{cmd} {args}: {reply.get('error')} (visible: {reply.get('targets')})")
        return reply

    def view(self) -> dict:
        return self.call("view")["view"]

    def wait_view(self, pred, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            v = self.view()
            if v and pred(v):
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"view not as expected after {timeout} s: {v}")
            time.sleep(0.05)

    def screenshot(self, path: str | Path) -> Path:
        return Path(self.call("screenshot", path=str(Path(path).resolve()))["path"])

    def log_tail(self, lines: int = 15) -> str:
        if self._log is subprocess.DEVNULL:
            return "(no log)"
        self._log.flush()
        text = Path(self._log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

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

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class KioskProcess(AppProcess):
    """`motcua kiosk --probe`; returns once the first frame is on screen (`ready`)."""

    def __init__(self, device_toml: str | Path, size: tuple[int, int] = (800, 480), data: str | Path | None = None,
                 idle_s: float | None = None, log: str | Path | None = None, timeout: float = 30.0,
                 env: dict[str, str] | None = None):
        """`env`: more environment for the kiosk's process (e.g. tests/test_kiosk_taps.py's)."""
        self._kivy_home = tempfile.mkdtemp(prefix="motcua-kivy-")    # Kivy's config and logs: ours alone
        args = ["kiosk", "--config", str(device_toml), "--size", f"{size[0]}x{size[1]}"]
        args += ["--data", str(data)] if data else []
        args += ["--idle", str(idle_s)] if idle_s is not None else []
        super().__init__(args, {**headless_env(self._kivy_home), **(env or {})}, log)
        try:
            self.ready = self.wait_event("ready", timeout=timeout)
        except BaseException:
            self.close()
            raise

    # --- conveniences -----------------------------------------------------------------------
    def tap(self, text: str) -> dict:
        return self.call("tap", text=text)

    def type(self, text: str) -> dict:
        return self.call("type", text=text, timeout=30)

    def screen(self) -> str:
        return self.view()["screen"]

    def wait_screen(self, name: str, timeout: float = 10.0) -> dict:
        """Wait until the screen shown is `name`; returns its view."""
        return self.wait_view(lambda v: v["screen"] == name, timeout)

    def targets(self) -> list[dict]:
        return self.call("targets")["targets"]

    def layout(self) -> dict:
        """Every button any part of which is in view (title, uid, window box) and the lists' scroll bars."""
        reply = self.call("targets", partial=True)
        return dict(targets=reply["targets"], bars=reply["bars"])

    def hits(self, points: list[tuple[float, float]]) -> list[list[dict]]:
        """A real touch at each point (window px, y up), acted on by nobody: the buttons each released."""
        return self.call("hits", points=[list(p) for p in points], timeout=30)["hits"]

    def close(self) -> None:
        super().close()
        shutil.rmtree(self._kivy_home, ignore_errors=True)


class DisplayProcess(AppProcess):
    """`motcua display --probe`; its log is workdir/display-WxH.log. Wait for `ready` yourself."""

    def __init__(self, device_toml: Path, size: tuple[int, int] = (1920, 1080), workdir: Path | None = None,
                 env: dict[str, str] | None = None):
        self.size = size
        self.workdir = Path(workdir or Path(device_toml).parent)
        self.workdir.mkdir(parents=True, exist_ok=True)
        super().__init__(["display", "--config", str(device_toml), "--size", f"{size[0]}x{size[1]}"],
                         env or display_env(self.workdir), self.workdir / f"display-{size[0]}x{size[1]}.log")

    def texts(self) -> dict:
        """What the board's labels say now (display.app.DisplayApp.view)."""
        return self.view()

    def wait_texts(self, pred: Callable[[dict], bool], timeout: float = 10.0) -> dict:
        return self.wait_view(pred, timeout)
