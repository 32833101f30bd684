"""The counter pad's Kivy screens: they render a kiosk.counter_pad.model.PadView, nothing more.

One Screen class per screen, laid out in its own .kv file (pad.kv holds the shared rules and the
root). A tap calls one `app.tap_*` method; nothing here holds queue logic or touches the network.
"""

from __future__ import annotations

from kivy.properties import ColorProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from kiosk.counter_pad.model import PadView
from ui import theme
from ui.widgets import fill

# The faces' colours, worst to best: each has the dark features drawn on it at 4.5:1 or better.
_RED, _AMBER, _GREEN = (0.86, 0.26, 0.20), (0.98, 0.76, 0.18), (0.30, 0.70, 0.35)


def mood_colour(mood: float) -> tuple[float, float, float, float]:
    """The face's colour for a mood of -1 (the worst level) … 1 (the best): red, amber, green."""
    m = max(-1.0, min(1.0, mood))
    a, b, t = (_RED, _AMBER, m + 1) if m < 0 else (_AMBER, _GREEN, m)
    r, g, bl = (a[i] + (b[i] - a[i]) * t for i in range(3))
    return (r, g, bl, 1.0)


def mouth_points(cx: float, cy: float, r: float, mood: float, steps: int = 12) -> list[float]:
    """The mouth as a polyline: corners up for a good mood, down for a bad one, flat in between."""
    pts: list[float] = []
    for i in range(steps + 1):
        t = -1 + 2 * i / steps
        pts += [cx + t * 0.46 * r, cy - 0.40 * r + mood * 0.24 * r * (t * t - 0.5)]
    return pts


class PadButton(ButtonBehavior, BoxLayout):
    """A tap target of at least 80 px: a bold title and its English below."""
    item_id = StringProperty("")
    title = StringProperty("")
    sub = StringProperty("")
    bg = ColorProperty(theme.BLUE)
    fg = ColorProperty(theme.WHITE)


class FaceDrawing(Widget):
    mood = NumericProperty(0.0)
    r = NumericProperty(10.0)


class Tick(Widget):
    """The thank-you's green tick."""
    r = NumericProperty(10.0)


class FaceButton(ButtonBehavior, BoxLayout):
    """One level of the scale: its face, its name and its English name."""
    score = NumericProperty(0)
    title = StringProperty("")
    sub = StringProperty("")
    mood = NumericProperty(0.0)
    levels = NumericProperty(3)


class PadScreen(Screen):
    def show(self, view: PadView) -> None:
        self.ids.heading.text = view.heading
        self.ids.heading_en.text = view.heading_en


class NumberScreen(PadScreen):
    state = StringProperty("connecting")

    def show(self, view: PadView) -> None:
        super().show(view)
        self.state = view.state
        ids = self.ids
        ids.number.text = view.number
        ids.note.text, ids.note_en.text = view.note, view.note_en


class RatingScreen(PadScreen):
    def show(self, view: PadView) -> None:
        super().show(view)
        n = len(view.faces)
        fill(self.ids.faces, FaceButton, [dict(score=f.score, title=f.title, sub=f.sub, mood=f.mood, levels=n)
                                          for f in view.faces])


class ReasonsScreen(PadScreen):
    def show(self, view: PadView) -> None:
        from kivy.factory import Factory
        super().show(view)
        grid = self.ids.reasons
        grid.cols = 2 if len(view.reasons) <= 6 else 3
        fill(grid, Factory.ReasonButton, [dict(item_id=c.id, title=c.title, sub=c.sub,
                                               bg=theme.GREY if not c.id else theme.BLUE) for c in view.reasons])


class ThanksScreen(PadScreen):
    pass


class PadRoot(BoxLayout):
    def add_screens(self, screens: list[PadScreen]) -> None:
        for s in screens:
            self.ids.sm.add_widget(s)

    def show(self, view: PadView) -> None:
        ids = self.ids
        ids.counter_name.text, ids.counter_name_en.text = view.counter_name, view.counter_name_en
        ids.mark.text = view.mark
        ids.ticket.text = f"Số {view.ticket}" if view.ticket else ""
        sm = ids.sm
        if sm.current != view.screen:
            sm.current = view.screen
        sm.current_screen.show(view)
