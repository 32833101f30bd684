"""The wall display's screen: renders a model View, nothing more (board.kv lays it out).

The screen holds no queue logic: DisplayApp feeds it `show(view)` from a batched trigger,
`tick(now)` once a second for the clock, and `blink()` while the newest call is fresh.
"""

from __future__ import annotations

import re

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from display.model import CallView, View, split_notice


class CounterTile(BoxLayout):
    name = StringProperty("")
    text = StringProperty("")
    state = StringProperty("idle")


class ServiceRow(BoxLayout):
    name = StringProperty("")
    waiting = StringProperty("")
    wait = StringProperty("")


class CallChip(BoxLayout):
    ticket = StringProperty("")
    counter = StringProperty("")


def short_service(name: str) -> str:
    """'Lĩnh vực khác (khiếu nại, thi đua, giáo dục)' → 'Lĩnh vực khác': the brackets do not fit a row."""
    return re.sub(r"\s*\(.*\)\s*$", "", name) or name


class BoardScreen(Screen):
    lit = BooleanProperty(False)          # the call panel's blink phase
    notice_pages = ListProperty([])

    def __init__(self, notice_page_s: int = 8, **kw):
        super().__init__(**kw)
        self.view: View | None = None
        self.notice_page_s = notice_page_s
        self._notice_text = ""
        self._page = 0
        self._pager = None
        self.bind(size=lambda *_: self._paginate(force=True))

    # --- what the app calls ----------------------------------------------------------

    def show(self, view: View) -> None:
        self.show_call(view)
        self.show_rest(view)

    def show_call(self, view: View) -> None:
        """The header and the big call: what must reach the wall in the very next frame."""
        ids = self.ids
        ids.hall_name.text = view.hall_name
        self._mark(ids.offline, view.offline)
        self._mark(ids.no_sound, view.no_sound)
        self._show_call(view.newest)
        if not view.newest or not view.newest.highlighted:
            self.lit = False

    def show_rest(self, view: View) -> None:
        """Counters, waiting, last calls, notice: a frame later costs nothing a citizen can see."""
        ids, old = self.ids, self.view
        self.view = view
        if old is None or old.counters != view.counters:
            self._fill(ids.counters, CounterTile, [dict(name=c.name.upper(), text=c.text, state=c.state)
                                                   for c in view.counters])
            ids.counters.cols = None
            ids.counters.rows = 1 if len(view.counters) <= 4 else 2
        if old is None or old.services != view.services:
            ids.waiting_title.text = "ĐANG CHỜ" if view.open else "ĐANG CHỜ · đã hết giờ lấy số"
            self._fill(ids.services, ServiceRow, [dict(name=short_service(s.name), waiting=str(s.waiting),
                                                       wait=f"~{s.wait_min} phút" if s.waiting else "")
                                                  for s in view.services])
        if old is None or old.last_calls != view.last_calls:
            self._fill(ids.last_calls, CallChip, [dict(ticket=c.ticket, counter=f"Quầy {c.counter}")
                                                  for c in view.last_calls])
        if view.notice != self._notice_text:
            self._notice_text = view.notice
            self._paginate(force=True)

    def tick(self, date: str, clock: str) -> None:
        # Kivy redraws only when a property really changes: HH:MM changes once a minute.
        self.ids.date.text = date
        self.ids.clock.text = clock

    def blink(self) -> None:
        self.lit = not self.lit

    # --- helpers -----------------------------------------------------------------------

    def _show_call(self, call: CallView | None) -> None:
        ids = self.ids
        if call is None:
            ids.call_title.text = "MỜI CÔNG DÂN SỐ"
            ids.call_number.text = "—"
            ids.call_counter.text = "—"
            return
        ids.call_title.text = "MỜI LẠI CÔNG DÂN SỐ" if call.recall else "MỜI CÔNG DÂN SỐ"
        ids.call_number.text = call.ticket
        ids.call_counter.text = str(call.counter)

    @staticmethod
    def _mark(label, text: str) -> None:
        """Show a header mark with this text, or hide it ("") so that it takes no room."""
        if text:
            label.text = text
        label.opacity = 1 if text else 0
        # Hidden: no hint and no height (a hint of 0 would leave Kivy's BoxLayout the default 100 px).
        label.size_hint_y = 1 if text else None
        if not text:
            label.height = 0

    @staticmethod
    def _fill(layout, cls, rows: list[dict]) -> None:
        """Reuse the widgets already there (a redraw must not rebuild the screen)."""
        while len(layout.children) > len(rows):
            layout.remove_widget(layout.children[0])
        while len(layout.children) < len(rows):
            layout.add_widget(cls())
        for widget, row in zip(reversed(layout.children), rows):
            for k, v in row.items():
                setattr(widget, k, v)

    def _paginate(self, force: bool = False) -> None:
        label = self.ids.notice
        width = label.width - 2 * label.padding[0]
        if width <= 10:
            return
        measure = CoreLabel(font_size=label.font_size)
        pages = split_notice(self._notice_text, lambda t: measure.get_extents(t)[0] <= width) or [""]
        if force or pages != self.notice_pages:
            self.notice_pages = pages
            self._page = 0
            label.text = pages[0]
            if self._pager is not None:
                self._pager.cancel()
                self._pager = None
            if len(pages) > 1:
                # Page by page rather than a smooth crawl: still text reads better from afar, and
                # each page costs one frame instead of 30 a second (docs/display.md).
                self._pager = Clock.schedule_interval(self._next_page, self.notice_page_s)

    def _next_page(self, dt) -> None:
        self._page = (self._page + 1) % len(self.notice_pages)
        self.ids.notice.text = self.notice_pages[self._page]
