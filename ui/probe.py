"""`motcua kiosk --probe`, `motcua display --probe`: a running app reports and obeys over stdin/stdout.

    probe = attach(app)        # before app.run(); the app only exposes ui.observed.Observed

One JSON object per line, the same for every app. Out, events: `ready` (the first frame is on
screen) and whatever the app notifies (the kiosk's `screen`, `message`, `worker`, `ticket_drawn`;
the display's `drawn`, `connection`, `speaking`, `played`). Out, replies: `{"event": "reply",
"n": N, …}` to each command, which carries its own "n":

    {"n": 1, "cmd": "view"}                       # app.view(): what the screen shows, as JSON
    {"n": 2, "cmd": "tap", "text": "Hộ tịch"}    # a real touch, down then up, on the visible button so titled
    {"n": 3, "cmd": "type", "text": "ket hon"}    # taps the on-screen keyboard's keys
    {"n": 4, "cmd": "targets"}                    # every visible tap target: title, size, uid, box; lists' bars
    {"n": 5, "cmd": "hits", "points": [[x, y]]}   # a real touch at each point: the buttons it released
    {"n": 6, "cmd": "labels"}                     # every label on screen: text, font size, box
    {"n": 7, "cmd": "screenshot", "path": "/abs/home.png"}
    {"n": 8, "cmd": "stats"}                      # frames drawn and main-loop wake-ups since start
    {"n": 9, "cmd": "quit"}

Everything else Kivy or motcua prints goes to stderr, so stdout carries only these lines. When
stdin closes, whoever ran the app is gone, and so is the app.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

from kivy.clock import Clock
from kivy.core.window import Window

from ui import touch
from ui.frames import fps_cap, on_shown


def attach(app) -> Probe:
    """Watch `app` (an ui.observed.Observed App) from outside; starts with the app."""
    probe = Probe(app)
    app.watch(probe.event)
    app.bind(on_start=lambda *_: probe.start())
    return probe


class Probe:
    def __init__(self, app):
        self.app = app
        # Keep the real stdout for our lines; anything else that prints goes to stderr.
        self.out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
        sys.stdout = sys.stderr
        self.lock = threading.Lock()
        self.frames = 0

    def start(self) -> None:
        threading.Thread(target=self._read, name="probe", daemon=True).start()
        on_shown(self._flip)

    def event(self, name: str, data: dict | None = None, **more) -> None:
        line = json.dumps({"event": name, **(data or {}), **more}, ensure_ascii=False)
        with self.lock:
            self.out.write(line + "\n")

    def _flip(self):
        self.frames += 1
        if self.frames == 1:      # everything before the first frame on screen is start-up
            self.event("ready", pid=os.getpid(), size=list(Window.size))

    # --- commands ----------------------------------------------------------------------------
    def _read(self) -> None:
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
            except ValueError:
                continue
            _soon(lambda dt, cmd=cmd: self._handle(cmd))
        _soon(lambda dt: self.app.stop())

    def _reply(self, cmd: dict, **data) -> None:
        self.event("reply", n=cmd.get("n"), **data)

    def _handle(self, cmd: dict) -> None:
        what, app = cmd.get("cmd"), self.app
        if what == "view":
            self._reply(cmd, view=app.view())
        elif what == "tap":
            self._tap(cmd, cmd["text"], key=False, then=lambda **r: self._reply(cmd, **r))
        elif what == "type":
            self._type(cmd, list(cmd["text"]))
        elif what == "targets":
            found = touch.targets(app.touch_layers(), cmd.get("partial", False))
            self._reply(cmd, targets=[dict(title=t, width=round(w.width), height=round(w.height), uid=w.uid,
                                           box=touch.box(w)) for t, w in found], bars=touch.bars(app.root))
        elif what == "hits":
            touch.hits(app.root, cmd["points"], lambda **r: self._reply(cmd, **r))
        elif what == "labels":
            self._reply(cmd, labels=touch.labels(app.root))
        elif what == "screenshot":
            if not app.settled():          # mid screen change: the next frame
                Clock.schedule_once(lambda dt: self._handle(cmd), 0.05)
                return
            self._reply(cmd, path=screenshot(cmd["path"]))
        elif what == "stats":
            # frames: drawn (flipped) since start; loops: main-loop iterations (wake-ups), drawn or not.
            self._reply(cmd, frames=self.frames, loops=Clock.frames, fps_cap=fps_cap())
        elif what == "quit":
            self._reply(cmd)
            app.stop()
        else:
            self._reply(cmd, error=f"unknown command {what!r}")

    def _tap(self, cmd: dict, text: str, key: bool, then) -> None:
        # As a person would: once the screen has settled (the app says how long that is).
        wait = self.app.tap_wait(key)
        if wait > 0:
            Clock.schedule_once(lambda dt: self._tap(cmd, text, key, then), wait + 0.02)
            return
        found = touch.find(touch.targets(self.app.touch_layers()), text)
        if found is None:
            then(ok=False, error=f"no visible button {text!r}",
                 targets=[t for t, _ in touch.targets(self.app.touch_layers())])
            return
        touch.tap(found, lambda: then(ok=True, title=getattr(found, "title", ""), width=round(found.width),
                                      height=round(found.height)))

    def _type(self, cmd: dict, chars: list[str]) -> None:
        if not chars:
            self._reply(cmd, ok=True)
            return
        self._tap(cmd, chars[0], key=True, then=lambda **r: self._type(cmd, chars[1:]) if r["ok"]
                  else self._reply(cmd, **r))


def _soon(callback) -> None:
    """On the UI thread, as soon as it can: with the 'free_all' clock (ui.environment, wake_on_free)
    a free event wakes the sleeping loop at once; other clocks have no free events."""
    getattr(Clock, "schedule_once_free", Clock.schedule_once)(callback)


def screenshot(path: str) -> str:
    """The window as it is on screen now, as a PNG at `path`."""
    from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
    from PIL import Image  # the test port's only use of it; every app's install has Pillow (the ticket's)
    # RGBA, not Kivy's Window.screenshot (RGB): GL pads RGB rows to 4 bytes and Kivy's PNG writer
    # does not follow, which shears every width that is not a multiple of 4, such as 1366.
    w, h = Window.size
    data = glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    Image.frombytes("RGBA", (w, h), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM).convert("RGB").save(target)
    return str(target)
