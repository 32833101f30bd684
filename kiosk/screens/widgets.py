"""Shared kiosk widgets: the big button, the header, the message and busy boxes, the root layout.

Hiding (Hideable, HideBox) and `fill` are every app's: ui.widgets."""

from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import Screen

from ui import theme
from ui.widgets import Hideable, HideBox, fill

__all__ = ["BigButton", "HideBox", "KioskRoot", "KioskScreen", "NoticeScreen", "Overlay", "fill"]


class BigButton(Hideable, ButtonBehavior, BoxLayout):
    """A tap target of at least 76 px (12 mm on the 7" screen): a bold title and a smaller line."""
    item_id = StringProperty("")
    title = StringProperty("")
    sub = StringProperty("")
    bg = ColorProperty(theme.BLUE)
    fg = ColorProperty(theme.WHITE)
    title_size = NumericProperty(26)
    sub_size = NumericProperty(20)
    align = StringProperty("center")


class KioskScreen(Screen):
    """A screen renders a View; `show` is all the app calls."""
    header = BooleanProperty(True)      # False: this screen needs the header's height (search, small screens)

    def show(self, view) -> None:
        raise NotImplementedError


class NoticeScreen(KioskScreen):
    """A screen that only tells the citizen something (closed, offline): title, detail, lines, lookup.

    No .kv rule of its own: Kivy applies a base class's rules to subclasses too, and each notice
    screen lays its widgets out in its own .kv file.
    """

    def show(self, view) -> None:
        ids, b = self.ids, view.body
        ids.title.text = b.title
        ids.detail.text = b.detail
        ids.lines.text = "\n".join(b.lines)
        ids.lookup.title = b.lookup


class Overlay(FloatLayout):
    """A box over the whole window; it swallows every touch, so nothing behind it is tapped."""
    text = StringProperty("")
    button = StringProperty("")

    def on_touch_down(self, touch):
        super().on_touch_down(touch)
        return True

    def on_touch_up(self, touch):
        super().on_touch_up(touch)
        return True


BUSY_AFTER_S = 0.3
"""How long a ticket is on its way before "Đang lấy số…" covers the screen. The hall answers in ~10 ms:
a box shown at once would flash for one frame, and that frame (~10 ms to draw in software GL) would
hold the ticket's own frame back. A tap is never lost meanwhile: the root takes every touch while a
ticket is on its way, box or not."""


class KioskRoot(FloatLayout):
    header_shown = BooleanProperty(True)

    def __init__(self, **kw):
        super().__init__(**kw)
        self.message = Overlay()
        self.message.ids.ok.bind(on_release=lambda *_: self.app().tap_ok())
        self.busy = Overlay()      # no button: "Đang lấy số…" only (its OK is hidden, the box takes every tap)
        self._busy_text = ""       # the view's: a ticket is on its way (the box may not be up yet)
        self._busy_soon = None     # the Clock event that puts the box up after BUSY_AFTER_S

    def on_touch_down(self, touch):
        if self._busy_text:        # nothing behind the box counts, before it is up too
            return True
        return super().on_touch_down(touch)

    @staticmethod
    def app():
        from kivy.app import App
        return App.get_running_app()

    def add_screens(self, screens: list[KioskScreen]) -> None:
        for s in screens:
            self.ids.sm.add_widget(s)

    def show(self, view) -> None:
        ids = self.ids
        ids.hall_name.text = view.hall_name
        ids.title.text = view.title
        ids.lang.title = view.lang_button
        sm = ids.sm
        if sm.current != view.screen:
            sm.current = view.screen
        screen = sm.current_screen
        self.header_shown = screen.header
        screen.show(view)
        self._overlay(self.message, view.message, view.ok)
        self._show_busy(view.busy)

    def _show_busy(self, text: str) -> None:
        self._busy_text = text
        if not text or self.busy.parent is not None:
            if self._busy_soon is not None:
                self._busy_soon.cancel()
                self._busy_soon = None
            self._overlay(self.busy, text, "")
        elif self._busy_soon is None:
            self._busy_soon = Clock.schedule_once(lambda dt: self._busy_up(), BUSY_AFTER_S)

    def _busy_up(self) -> None:
        self._busy_soon = None
        self._overlay(self.busy, self._busy_text, "")

    def _overlay(self, box: Overlay, text: str, button: str) -> None:
        box.text, box.button = text, button
        if text and box.parent is None:
            self.add_widget(box)
        elif not text and box.parent is not None:
            self.remove_widget(box)

