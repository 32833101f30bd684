"""The wall display's screen: renders a display.views.BoardView, nothing more (board.kv lays it out).

The screen holds no queue logic and writes no text of its own (display/views.py computes every
one): DisplayApp feeds it `show_call(board)` and `show_rest(board)` from a batched trigger,
`tick(date, clock)` once a second for the clock, and `blink()` while the newest call is fresh.
"""

from __future__ import annotations

from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from display.model import split_notice
from display.views import BoardView
from ui.widgets import fill


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


class BoardScreen(Screen):
    lit = BooleanProperty(False)          # the call panel's blink phase
    notice_pages = ListProperty([])

    def __init__(self, notice_page_s: int = 8, **kw):
        super().__init__(**kw)
        self.view: BoardView | None = None
        self.notice_page_s = notice_page_s
        self._notice_text = ""
        self._page = 0
        self._pager = None
        self.bind(size=lambda *_: self._paginate(force=True))

    # --- what the app calls ----------------------------------------------------------

    def show(self, board: BoardView) -> None:
        self.show_call(board)
        self.show_rest(board)

    def show_call(self, board: BoardView) -> None:
        """The header and the big call: what must reach the wall in the very next frame."""
        ids, call = self.ids, board.call
        ids.hall_name.text = board.hall_name
        self._mark(ids.offline, board.offline)
        self._mark(ids.no_sound, board.no_sound)
        ids.call_title.text, ids.call_number.text, ids.call_counter.text = call.title, call.number, call.counter
        ids.to_counter.text = call.to_counter
        if not call.lit:
            self.lit = False

    def show_rest(self, board: BoardView) -> None:
        """Counters, waiting, last calls, notice: a frame later costs nothing a citizen can see."""
        ids, old = self.ids, self.view
        self.view = board
        if old is None or old.counters != board.counters:
            fill(ids.counters, CounterTile, [dict(name=c.name, text=c.text, state=c.state) for c in board.counters])
            ids.counters.cols = None
            ids.counters.rows = 1 if len(board.counters) <= 4 else 2
        if old is None or old.services != board.services or old.waiting_title != board.waiting_title:
            ids.waiting_title.text = board.waiting_title
            fill(ids.services, ServiceRow, [dict(name=s.name, waiting=s.waiting, wait=s.wait)
                                            for s in board.services])
        if old is None or old.last_calls != board.last_calls:
            ids.last_calls_title.text = board.last_calls_title
            fill(ids.last_calls, CallChip, [dict(ticket=c.ticket, counter=c.counter) for c in board.last_calls])
        if board.notice != self._notice_text:
            self._notice_text = board.notice
            self._paginate(force=True)

    def tick(self, date: str, clock: str) -> None:
        # Kivy redraws only when a property really changes: HH:MM changes once a minute.
        self.ids.date.text = date
        self.ids.clock.text = clock

    def blink(self) -> None:
        self.lit = not self.lit

    # --- helpers -----------------------------------------------------------------------

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
