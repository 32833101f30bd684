"""`motcua kiosk --probe`: the running kiosk reports and obeys over stdin/stdout, for tests and the bench.

One JSON object per line. Out, events: `ready` (first frame on screen), `screen` (a redraw showed
another screen), `message` (an MQTT message was applied), `worker` (a reply, timeout or print
state reached the UI thread, with its time.monotonic()), `ticket_drawn` (the first frame showing
a ticket's number, with the tap's and the frame's time.monotonic()). Out, replies: `{"event":
"reply", "n": N, …}`. In, commands (each with its own "n"):

    {"n": 1, "cmd": "tap", "text": "Hộ tịch"}    # a real touch, down then up, on the visible button with that title
    {"n": 2, "cmd": "type", "text": "ket hon"}    # taps the on-screen keyboard's keys
    {"n": 3, "cmd": "view"}                       # the View on screen (kiosk.views) as JSON
    {"n": 4, "cmd": "targets"}                    # every visible tap target: title, size in px
    {"n": 5, "cmd": "labels"}                     # every label on screen: text, font size, box
    {"n": 6, "cmd": "screenshot", "path": "/abs/home.png"}
    {"n": 7, "cmd": "stats"}                      # frames drawn and main-loop wake-ups since start
    {"n": 8, "cmd": "quit"}

A tap waits, as a person would, until the screen has settled (Settings.settle_s) and, unless it
is a key, the double-tap window has passed: the probe tests the kiosk, it does not race it.
Everything else Kivy or motcua prints goes to stderr, so stdout carries only these lines.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import sys
import threading
import time
from pathlib import Path

_touch_ids = itertools.count(1000)


class Probe:
    def __init__(self, app):
        self.app = app
        self.out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
        sys.stdout = sys.stderr
        self.lock = threading.Lock()
        self.frames = 0
        self.screen = None
        self.tap_t: float | None = None
        self.drawn_ticket: str | None = None

    def start(self) -> None:
        from kivy.clock import Clock
        from kivy.core.window import Window
        self.clock = Clock
        threading.Thread(target=self._read, name="probe", daemon=True).start()
        Window.bind(on_flip=self._flip)

    def event(self, _name: str, **data) -> None:
        with self.lock:
            self.out.write(json.dumps({"event": _name, **data}, ensure_ascii=False) + "\n")

    # --- what the app tells us -----------------------------------------------------------
    def shown(self, view) -> None:
        if view.screen != self.screen:
            self.screen = view.screen
            self.event("screen", screen=view.screen, title=view.title)

    def _flip(self, window, *_):
        self.frames += 1
        if self.frames == 1:
            self.event("ready", pid=os.getpid(), size=list(window.size))
        m = self.app.model
        if self.screen == "ticket" and m.ticket and m.ticket.data["ticket_id"] != self.drawn_ticket:
            if self.app.root_widget.ids.sm.current_screen.number_drawn(m.ticket.data["ticket"]):
                self.drawn_ticket = m.ticket.data["ticket_id"]
                self.event("ticket_drawn", number=m.ticket.data["ticket"], tap_t=self.tap_t, t=time.monotonic())

    # --- commands ----------------------------------------------------------------------------
    def _read(self) -> None:
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
            except ValueError:
                continue
            self.clock.schedule_once_free(lambda dt, cmd=cmd: self._handle(cmd))
        self.clock.schedule_once_free(lambda dt: self.app.stop())   # whoever ran us is gone

    def _reply(self, cmd: dict, **data) -> None:
        self.event("reply", n=cmd.get("n"), **data)

    def _handle(self, cmd: dict) -> None:
        what = cmd.get("cmd")
        if what == "tap":
            self._tap(cmd, cmd["text"], key=False, then=lambda **r: self._reply(cmd, **r))
        elif what == "type":
            self._type(cmd, list(cmd["text"]))
        elif what == "view":
            v = self.app.last_view
            self._reply(cmd, view=dataclasses.asdict(v) if v else None)
        elif what == "targets":
            self._reply(cmd, targets=[dict(title=t, width=round(w.width), height=round(w.height))
                                      for t, w in self._targets()])
        elif what == "labels":
            self._reply(cmd, labels=self._labels())
        elif what == "screenshot":
            if self.app.root_widget.ids.sm.transition.is_active:   # mid screen change: the next frame
                self.clock.schedule_once(lambda dt: self._handle(cmd), 0.05)
                return
            self._reply(cmd, path=self._screenshot(cmd["path"]))
        elif what == "stats":
            # frames: drawn (flipped) since start; loops: main-loop iterations (wake-ups), drawn or not.
            self._reply(cmd, frames=self.frames, loops=self.clock.frames, fps_cap=self.clock._max_fps,
                        screen=self.screen)
        elif what == "quit":
            self._reply(cmd)
            self.app.stop()
        else:
            self._reply(cmd, error=f"unknown command {what!r}")

    def _targets(self) -> list:
        """(title, widget) of every tap target a person can see now: overlays hide what is behind."""
        from kivy.core.window import Window
        from kivy.uix.behaviors import ButtonBehavior
        from kivy.uix.scrollview import ScrollView
        from kiosk.screens.widgets import Overlay
        root = self.app.root_widget
        tops = [w for w in root.children if isinstance(w, Overlay)] or [root]
        out = []

        def visible(w) -> bool:
            if w.opacity <= 0 or w.width < 1 or w.height < 1 or w.disabled:
                return False
            x, y = w.to_window(*w.center)
            p = w.parent
            while p is not None and p is not Window:
                if isinstance(p, ScrollView):
                    px, py = p.to_window(p.x, p.y)
                    if not (px <= x <= px + p.width and py <= y <= py + p.height):
                        return False
                p = p.parent
            return True

        def walk(w):
            if w.opacity <= 0:
                return
            if isinstance(w, ButtonBehavior) and visible(w):
                out.append((getattr(w, "key", "") or w.title, w))
            for c in reversed(w.children):
                walk(c)
        for top in tops:
            walk(top)
        return out

    def _labels(self) -> list[dict]:
        """Every label with text now on screen: its text, font size and box, to check legibility."""
        from kivy.uix.label import Label
        out = []

        def walk(w):
            if w.opacity <= 0:
                return
            if isinstance(w, Label) and w.text.strip() and w.width >= 1 and w.height >= 1:
                out.append(dict(text=w.text, font_size=round(float(w.font_size), 1), width=round(w.width),
                                height=round(w.height), texture=list(w.texture_size)))
            for c in reversed(w.children):
                walk(c)
        walk(self.app.root_widget)
        return out

    def _tap(self, cmd: dict, text: str, key: bool, then) -> None:
        m, s = self.app.model, self.app.model.settings
        now = time.time()
        wait = max(m.shown_at + s.settle_s - now, 0 if key else m.last_tap[1] + s.debounce_s - now, 0)
        if wait > 0:
            self.clock.schedule_once(lambda dt: self._tap(cmd, text, key, then), wait + 0.02)
            return
        targets = self._targets()
        found = (next((w for t, w in targets if t == text), None) or
                 next((w for t, w in targets if t.startswith(text)), None) or
                 next((w for t, w in targets if text in t), None))
        if found is None:
            then(ok=False, error=f"no visible button {text!r}", targets=[t for t, _ in targets])
            return
        from kivy.base import EventLoop
        touch = _touch(*found.to_window(*found.center))
        EventLoop.post_dispatch_input("begin", touch)

        def up(dt):
            self.tap_t = time.monotonic()
            EventLoop.post_dispatch_input("end", touch)
            then(ok=True, title=getattr(found, "title", ""), width=round(found.width), height=round(found.height))
        self.clock.schedule_once(up, 0.05)

    def _type(self, cmd: dict, chars: list[str]) -> None:
        if not chars:
            self._reply(cmd, ok=True)
            return
        self._tap(cmd, chars[0], key=True, then=lambda **r: self._type(cmd, chars[1:]) if r["ok"]
                  else self._reply(cmd, **r))

    def _screenshot(self, path: str) -> str:
        from kivy.core.window import Window
        from kivy.graphics.opengl import GL_PACK_ALIGNMENT, glPixelStorei
        glPixelStorei(GL_PACK_ALIGNMENT, 1)   # rows of width×3 bytes, whatever the width
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Kivy appends a counter to the name it is given: write beside the target, then rename.
        written = Path(Window.screenshot(name=str(target.with_name(target.stem + "-tmp.png"))))
        written.replace(target)
        return str(target)


def _touch(x: float, y: float):
    from kivy.core.window import Window
    from kivy.input.motionevent import MotionEvent

    class ProbeTouch(MotionEvent):
        def depack(self, args):
            self.sx, self.sy = args["x"], args["y"]
            super().depack(args)

    t = ProbeTouch("probe", next(_touch_ids), {"x": x / max(Window.width - 1, 1), "y": y / max(Window.height - 1, 1)},
                   is_touch=True, type_id="touch")
    t.profile = ["pos"]
    return t
