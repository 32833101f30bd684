"""Every text the wall display shows, computed from the display model's View: plain data, no Kivy.

    b = board_view(model.view(now))
    b.call.title, b.call.number, b.call.counter     # 'MỜI CÔNG DÂN SỐ', '1023', '2'
    b.last_calls[0].counter                          # 'Quầy 2': the counter's name as configured
    b.waiting_title, b.services[0].wait              # 'ĐANG CHỜ', '~15 phút'

display/board.py copies these into labels and does nothing else, so what a citizen reads on
the wall is tested here without Kivy (tests/test_display_views.py), as kiosk/views.py is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from display.model import CallView, View, call_title

NO_CALL = "—"                   # the big panel before any call, and an idle counter
WAITING = "ĐANG CHỜ"
WAITING_CLOSED = "ĐANG CHỜ · đã hết giờ lấy số"
TO_COUNTER = "ĐẾN QUẦY"
LAST_CALLS = "VỪA GỌI"


@dataclass(frozen=True)
class CallPanel:
    """The big panel: the newest call."""
    title: str               # 'MỜI CÔNG DÂN SỐ' | 'MỜI LẠI CÔNG DÂN SỐ'
    number: str
    counter: str             # the counter's number, as large as the ticket's
    to_counter: str          # 'ĐẾN QUẦY' above it
    lit: bool                # blinks while the call is fresh


@dataclass(frozen=True)
class CounterTile:
    name: str                # upper case, read from afar: 'QUẦY 1'
    text: str                # the ticket it serves, 'Tạm dừng' or '—'
    state: str               # idle | called | serving | paused: the tile's colour


@dataclass(frozen=True)
class ServiceLine:
    name: str                # without its brackets: they do not fit a row
    waiting: str
    wait: str                # '~15 phút', or '' when nobody waits


@dataclass(frozen=True)
class CallChip:
    ticket: str
    counter: str             # the counter's name from the hall's config ('Quầy 2', 'Một cửa 2')


@dataclass(frozen=True)
class BoardView:
    hall_name: str
    offline: str             # the header's marks: '' or the text of each
    no_sound: str
    call: CallPanel
    counters: tuple[CounterTile, ...]
    waiting_title: str
    services: tuple[ServiceLine, ...]
    last_calls_title: str
    last_calls: tuple[CallChip, ...]
    notice: str


def board_view(v: View) -> BoardView:
    return BoardView(v.hall_name, v.offline, v.no_sound, call_panel(v.newest),
                     tuple(CounterTile(c.name.upper(), c.text, c.state) for c in v.counters),
                     WAITING if v.open else WAITING_CLOSED,
                     tuple(ServiceLine(short_service(s.name), str(s.waiting),
                                       f"~{s.wait_min} phút" if s.waiting else "") for s in v.services),
                     LAST_CALLS, tuple(CallChip(c.ticket, c.counter_name) for c in v.last_calls), v.notice)


def call_panel(call: CallView | None) -> CallPanel:
    if call is None:
        return CallPanel(call_title(False), NO_CALL, NO_CALL, TO_COUNTER, False)
    return CallPanel(call_title(call.recall), call.ticket, str(call.counter), TO_COUNTER, call.highlighted)


def short_service(name: str) -> str:
    """'Lĩnh vực khác (khiếu nại, thi đua, giáo dục)' → 'Lĩnh vực khác': the brackets do not fit a row."""
    return re.sub(r"\s*\(.*\)\s*$", "", name) or name
