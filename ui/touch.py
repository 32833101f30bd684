"""Real touches through the Window, and what a finger can reach: the probe's hands and eyes.

A touch goes down and up through the Window, as a finger's does, so the widgets and the app
see nothing different. `hits` finds where a finger lands without acting on it: the probe's own
on_release handler, bound last and so called first, notes the button and stops the event there
(a Kivy handler returning True), so the button's `app.tap_…` never runs. Boxes and points are in
window pixels, y up; a button in a scrolling list has its box cut to what the list shows.
"""

from __future__ import annotations

import itertools
import time

from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.input.motionevent import MotionEvent
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView

_touch_ids = itertools.count(1000)
PRESS_S = 0.05         # how long a finger stays down on a tap


def title(w) -> str:
    return getattr(w, "key", "") or getattr(w, "title", "")


def targets(layers: list, partial: bool = False) -> list:
    """(title, widget) of every tap target a person can see now in `layers` (topmost first).

    A button in a scrolling list counts when its centre is in view, or with `partial` when any
    of it is. A hidden widget (ui.widgets.Hideable) hides all it holds.
    """
    out = []

    def visible(w) -> bool:
        if w.opacity <= 0 or w.width < 1 or w.height < 1 or w.disabled:
            return False
        if partial:
            return min(box(w)[2:]) >= 1
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
            out.append((title(w), w))
        for c in reversed(w.children):
            walk(c)
    for top in layers:
        walk(top)
    return out


def find(found: list, text: str):
    """The button titled `text`, else the first whose title starts with it, else contains it."""
    return (next((w for t, w in found if t == text), None) or
            next((w for t, w in found if t.startswith(text)), None) or
            next((w for t, w in found if text in t), None))


def bars(root) -> list[list[float]]:
    """The window box of each shown list's scroll bar: a tap there scrolls (so a test keeps off)."""
    out = []
    for w in root.walk():
        if isinstance(w, ScrollView) and w.get_root_window() is not None and w.bar_width > 0:
            x, y, width, height = box(w)
            if width >= 1 and height >= 1:
                out.append([x + width - w.bar_margin - w.bar_width, y, w.bar_width + w.bar_margin, height])
    return out


def tap(widget, then) -> None:
    """A finger on `widget`'s centre, lifted PRESS_S later; then() right after it is lifted."""
    t = _touch(*widget.to_window(*widget.center))
    EventLoop.post_dispatch_input("begin", t)

    def up(dt):
        EventLoop.post_dispatch_input("end", t)
        then()
    Clock.schedule_once(up, PRESS_S)


def hits(root, points: list, then) -> None:
    """A real touch down and up at each point; then(hits=…) says, per point, which buttons it released."""
    buttons = [w for w in root.walk() if isinstance(w, ButtonBehavior)]
    released: dict[int, list] = {}

    def caught(button):
        released.setdefault(button.last_touch.uid, []).append(dict(uid=button.uid, title=title(button)))
        return True             # stops on_release here: the kv's app.tap_… is not called

    for b in buttons:
        b.fbind("on_release", caught)
    touches = []
    for x, y in points:
        t = _touch(x, y)
        EventLoop.post_dispatch_input("begin", t)
        EventLoop.post_dispatch_input("end", t)
        touches.append(t)
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
        then(hits=[released.get(t.uid, []) for t in touches],
             **({"error": f"{len(left)} touches still held"} if left else {}))
    event = Clock.schedule_interval(settled, 0)


def labels(root) -> list[dict]:
    """Every label with text now on screen: its text, font size and box, to check legibility."""
    out = []

    def walk(w):
        if w.opacity <= 0:
            return
        if isinstance(w, Label) and w.text.strip() and w.width >= 1 and w.height >= 1:
            out.append(dict(text=w.text, font_size=round(float(w.font_size), 1), width=round(w.width),
                            height=round(w.height), texture=list(w.texture_size)))
        for c in reversed(w.children):
            walk(c)
    walk(root)
    return out


def box(w) -> list[float]:
    """`w`'s box in window pixels [x, y, width, height], cut to what the lists around it show."""
    x0, y0 = w.to_window(w.x, w.y)
    x1, y1 = w.to_window(w.right, w.top)
    p = w.parent
    while p is not None and p is not Window:
        if isinstance(p, ScrollView):
            px0, py0 = p.to_window(p.x, p.y)
            x0, y0, x1, y1 = max(x0, px0), max(y0, py0), min(x1, px0 + p.width), min(y1, py0 + p.height)
        p = p.parent
    return [round(x0, 1), round(y0, 1), round(max(x1 - x0, 0), 1), round(max(y1 - y0, 0), 1)]


class _ProbeTouch(MotionEvent):
    def depack(self, args):
        self.sx, self.sy = args["x"], args["y"]
        super().depack(args)


def _touch(x: float, y: float) -> MotionEvent:
    # Window.on_motion scales sx, sy by (width - 1, height - 1): the touch lands on (x, y) exactly.
    t = _ProbeTouch("probe", next(_touch_ids), {"x": x / max(Window.width - 1, 1), "y": y / max(Window.height - 1, 1)},
                    is_touch=True, type_id="touch")
    t.profile = ["pos"]
    return t
