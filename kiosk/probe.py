"""`motcua kiosk --probe`: the running kiosk reports and obeys over stdin/stdout, for tests and the bench.

One JSON object per line. Out, events: `ready` (first frame on screen), `screen` (a redraw showed
another screen), `message` (an MQTT message was applied), `worker` (a reply, timeout or print
state reached the UI thread, with its time.monotonic()), `ticket_drawn` (the first frame showing
a ticket's number, with the tap's and the frame's time.monotonic()). Out, replies: `{"event":
"reply", "n": N, …}`. In, commands (each with its own "n"):

    {"n": 1, "cmd": "tap", "text": "Hộ tịch"}    # a real touch, down then up, on the visible button so titled
    {"n": 2, "cmd": "type", "text": "ket hon"}    # taps the on-screen keyboard's keys
    {"n": 3, "cmd": "view"}                       # the View on screen (kiosk.views) as JSON
    {"n": 4, "cmd": "targets"}                    # every visible tap target: title, size, uid, box; lists' bars
    {"n": 5, "cmd": "hits", "points": [[x, y]]}   # a real touch at each point: the buttons it released
    {"n": 6, "cmd": "labels"}                     # every label on screen: text, font size, box
    {"n": 7, "cmd": "screenshot", "path": "/abs/home.png"}
    {"n": 8, "cmd": "stats"}                      # frames drawn and main-loop wake-ups since start
    {"n": 9, "cmd": "quit"}

`hits` finds where a finger lands without acting on it: each touch goes down and up through the
Window, as a finger's does, and the probe's own on_release handler, bound last and so called
first, notes the button and stops the event there (a Kivy handler returning True), so the
button's `app.tap_…` never runs. Nothing in the screens knows about it. Boxes and points are in
window pixels, y up; a button in a scrolling list has its box cut to what the list shows.

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
            self._reply(cmd, targets=[dict(title=t, width=round(w.width), height=round(w.height), uid=w.uid,
                                           box=_box(w)) for t, w in self._targets(cmd.get("partial", False))],
                        bars=self._bars())
        elif what == "hits":
            self._hits(cmd)
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

    def _targets(self, partial: bool = False) -> list:
        """(title, widget) of every tap target a person can see now: overlays hide what is behind.

        A button in a scrolling list counts when its centre is in view, or with `partial` when any
        of it is. A hidden widget (kiosk.screens.widgets.Hideable) hides all it holds.
        """
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
            if partial:
                return min(_box(w)[2:]) >= 1
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
            if w.opacity <= 0 or getattr(w, "hidden", False):
                return
            if isinstance(w, ButtonBehavior) and visible(w):
                out.append((_title(w), w))
            for c in reversed(w.children):
                walk(c)
        for top in tops:
            walk(top)
        return out

    def _bars(self) -> list[list[float]]:
        """The window box of each shown list's scroll bar: a tap there scrolls (so the test keeps off)."""
        from kivy.uix.scrollview import ScrollView
        out = []
        for w in self.app.root_widget.walk():
            if isinstance(w, ScrollView) and w.get_root_window() is not None and w.bar_width > 0:
                x, y, width, height = _box(w)
                if width >= 1 and height >= 1:
                    out.append([x + width - w.bar_margin - w.bar_width, y, w.bar_width + w.bar_margin, height])
        return out

    def _hits(self, cmd: dict) -> None:
        """A real touch down and up at each point; the reply says, per point, which buttons it released."""
        from kivy.base import EventLoop
        from kivy.uix.behaviors import ButtonBehavior
        buttons = [w for w in self.app.root_widget.walk() if isinstance(w, ButtonBehavior)]
        released: dict[int, list] = {}

        def caught(button):
            released.setdefault(button.last_touch.uid, []).append(dict(uid=button.uid, title=_title(button)))
            return True             # stops on_release here: the kv's app.tap_… is not called

        for b in buttons:
            b.fbind("on_release", caught)
        touches = []
        for x, y in cmd["points"]:
            touch = _touch(x, y)
            EventLoop.post_dispatch_input("begin", touch)
            EventLoop.post_dispatch_input("end", touch)
            touches.append(touch)
        deadline = time.monotonic() + 5

        def settled(dt):
            # A touch in a scrolling list reaches its button 0.2 s after it is lifted (ScrollView
            # waits to see whether it is a swipe); until then that button holds the touch's grab.
            # A touch no button grabbed can release none, so no grab left means every answer is in.
            left = [t for t in touches if t.grab_list]
            if left and time.monotonic() < deadline:
                return
            event.cancel()
            for b in buttons:
                b.funbind("on_release", caught)
            self._reply(cmd, hits=[released.get(t.uid, []) for t in touches],
                        **({"error": f"{len(left)} touches still held"} if left else {}))
        event = self.clock.schedule_interval(settled, 0)

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


def _title(w) -> str:
    return getattr(w, "key", "") or getattr(w, "title", "")


def _box(w) -> list[float]:
    """`w`'s box in window pixels [x, y, width, height], cut to what the lists around it show."""
    from kivy.core.window import Window
    from kivy.uix.scrollview import ScrollView
    x0, y0 = w.to_window(w.x, w.y)
    x1, y1 = w.to_window(w.right, w.top)
    p = w.parent
    while p is not None and p is not Window:
        if isinstance(p, ScrollView):
            px0, py0 = p.to_window(p.x, p.y)
            x0, y0, x1, y1 = max(x0, px0), max(y0, py0), min(x1, px0 + p.width), min(y1, py0 + p.height)
        p = p.parent
    return [round(x0, 1), round(y0, 1), round(max(x1 - x0, 0), 1), round(max(y1 - y0, 0), 1)]


def _touch(x: float, y: float):
    from kivy.core.window import Window
    from kivy.input.motionevent import MotionEvent

    class ProbeTouch(MotionEvent):
        def depack(self, args):
            self.sx, self.sy = args["x"], args["y"]
            super().depack(args)

    # Window.on_motion scales sx, sy by (width - 1, height - 1): the touch lands on (x, y) exactly.
    t = ProbeTouch("probe", next(_touch_ids), {"x": x / max(Window.width - 1, 1), "y": y / max(Window.height - 1, 1)},
                   is_touch=True, type_id="touch")
    t.profile = ["pos"]
    return t
