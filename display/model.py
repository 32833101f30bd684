"""The wall display's state without Kivy or audio: what to show and what to say, in which order.

    m = BoardModel(display_config(dev.display))
    m.on_config(config, now); m.on_board(board, now); m.on_called(call, now)   # hall.protocol's Config, Board, Call
    m.on_connection(up, now)
    m.on_sound("no-device", now)     # from the announcer: the screen shows "● không có loa"
    v = m.view(now)          # header, newest call, counters, waiting, last calls, notice, marks
    a = m.queue.take(now)    # (announcer thread) the next call to speak, or None

Time is always passed in (epoch seconds); nothing here reads a clock. Only `queue` is shared
with another thread (the announcer's); everything else belongs to the UI thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from display.announce_queue import Announcement, AnnouncementQueue
from display.config import DisplayConfig
from hall.config import WEEKDAYS_VI
from hall.protocol import Board, Call, Config, CounterRow, ServiceRow

log = logging.getLogger("motcua.display")

# A `called` made this long before a board we already drew is history, whatever its seq says
# (both times are the hall server's, so the display's own clock cannot skew the check).
STALE_S = 60.0
KEEP_CALLS = 30
PAUSED, IDLE = "Tạm dừng", "—"
# What the wall writes above the called number (and the demo's console with it).
CALL_TITLE, RECALL_TITLE = "MỜI CÔNG DÂN SỐ", "MỜI LẠI CÔNG DÂN SỐ"
# The header's mark when the hall cannot hear the calls (issue 8, item 13): no sound device at
# all (the announcer writes files instead), or the device failed on the last try.
NO_SOUND = {"no-device": "● không có loa", "failed": "● loa bị lỗi"}
# The header's mark while the hall's broker is out of reach; "not registered" when the broker refused
# this display's password (no reconnecting mends that: it needs `motcua device add` on the server).
OFFLINE = "● mất kết nối"
NOT_REGISTERED = "● chưa đăng ký"


@dataclass(frozen=True)
class CallView:
    seq: int
    ticket: str
    counter: int
    counter_name: str
    recall: bool
    highlighted: bool

    @property
    def title(self) -> str:
        return call_title(self.recall)


@dataclass(frozen=True)
class CounterView:
    id: int
    name: str
    text: str          # the ticket it serves, "Tạm dừng" or "—"
    state: str         # idle | called | serving | paused


@dataclass(frozen=True)
class ServiceView:
    id: str
    name: str
    waiting: int
    wait_min: int


@dataclass(frozen=True)
class View:
    hall_name: str
    connected: bool
    open: bool
    newest: CallView | None
    counters: tuple[CounterView, ...]
    services: tuple[ServiceView, ...]
    last_calls: tuple[CallView, ...]
    notice: str
    no_sound: str = ""     # "" while the hall hears the calls, else the header's mark (NO_SOUND)
    offline: str = ""      # "" while connected, else OFFLINE or NOT_REGISTERED


@dataclass(frozen=True)
class _Seen:
    seq: int
    ticket: str
    counter: int
    recall: bool
    at: float


class BoardModel:
    def __init__(self, cfg: DisplayConfig):
        self.cfg = cfg
        self.hall_name = ""
        self.notice = ""
        self.zone = ZoneInfo("Asia/Ho_Chi_Minh")
        self.counter_names: dict[int, str] = {}
        self.service_names: dict[str, str] = {}
        self.board: Board | None = None
        self.connected = False
        self.refused = False                        # the broker refused our login (not registered)
        self.sound = "ok"
        self.calls: dict[int, _Seen] = {}
        self.fresh: dict[int, float] = {}           # seq → when a live call arrived (for the highlight)
        self.announced_seq = 0                      # no call at or below this is ever spoken again
        self._resync = True                         # the next board is the retained one: its calls are history
        self._called_counters: dict[int, _Seen] = {}   # calls newer than the board we hold
        self.queue = AnnouncementQueue(self._quiet)

    # --- inputs (UI thread) ------------------------------------------------------

    def on_config(self, config: Config, now: float) -> bool:
        # Config.from_payload has checked the time zone and every field's type already.
        self.hall_name = config.hall.name
        self.zone = config.hall.zone
        self.counter_names = {c.id: c.name for c in config.counters}
        self.service_names = {s.id: s.name or s.id for s in config.services}
        self.notice = config.notice
        return True

    def on_connection(self, up: bool, now: float, refused: bool = False) -> bool:
        """`refused`: the broker refused this display's login (HallClient.failure is not_authorised)."""
        if up:
            self._resync = True
        refused = refused and not up
        changed = up != self.connected or refused != self.refused
        self.connected, self.refused = up, refused
        return changed

    def on_sound(self, state: str, now: float) -> bool:
        """The announcer's "ok", "no-device" or "failed" (handed to the UI thread by the app)."""
        changed = state != self.sound
        self.sound = state
        return changed

    def on_board(self, board: Board, now: float) -> bool:
        if self.board is not None and board.seq <= self.board.seq:
            log.debug("board %d ignored: already showing %d", board.seq, self.board.seq)
            return False
        if self.board is not None and board.day != self.board.day:
            self.calls.clear()      # a new service day: yesterday's calls leave the screen
        self.board = board
        self._called_counters.clear()   # the board follows every call it knows of
        for c in board.calls:
            if c.seq not in self.calls:
                self.calls[c.seq] = _Seen(c.seq, c.ticket, c.counter, c.recall, c.at)
        if self._resync:
            # The first board after (re)connecting is the retained one: whatever calls it lists
            # happened while we were away or before we started, and must not be spoken now.
            self.announced_seq = max([self.announced_seq] + [c.seq for c in board.calls])
            self._resync = False
        self._prune()
        return True

    def on_called(self, call: Call, now: float) -> bool:
        if self.counter_names and call.counter not in self.counter_names:
            log.error("call %d of ticket %s names counter %s, which this hall does not have: not shown, "
                      "not announced", call.seq, call.ticket, call.counter)
            return False
        known = call.seq in self.calls
        seen = _Seen(call.seq, call.ticket, call.counter, call.recall, call.at)
        self.calls[call.seq] = seen
        stale = call.seq <= self.announced_seq or (self.board is not None and call.at < self.board.at - STALE_S)
        if stale:
            if not known:
                log.info("call %d (ticket %s) is older than what was shown: not announced", call.seq, call.ticket)
            self._prune()
            return not known
        self.announced_seq = call.seq
        self.fresh[call.seq] = now
        self._called_counters[call.counter] = seen
        self.queue.put(Announcement(call.seq, call.ticket, call.counter, call.recall, now), now)
        self._prune()
        return True

    def _prune(self) -> None:
        for seq in sorted(self.calls)[:-KEEP_CALLS]:
            del self.calls[seq]
            self.fresh.pop(seq, None)

    def _quiet(self, now: float) -> bool:
        t = datetime.fromtimestamp(now, self.zone)
        minute = t.hour * 60 + t.minute
        return any(a <= minute < b for a, b in self.cfg.quiet_hours)

    # --- what to show --------------------------------------------------------------

    def view(self, now: float) -> View:
        calls = [self._call_view(s, now) for s in sorted(self.calls.values(), key=lambda s: -s.seq)
                 if not self.counter_names or s.counter in self.counter_names]
        newest = calls[0] if calls else None
        earlier, shown = [], {newest.ticket} if newest else set()
        for c in calls[1:]:
            if c.ticket not in shown and len(earlier) < self.cfg.last_calls:
                shown.add(c.ticket)
                earlier.append(c)
        board = self.board
        return View(self.hall_name, self.connected, board.open if board else True, newest,
                    self._counters(), self._services(), tuple(earlier), self.notice, NO_SOUND.get(self.sound, ""),
                    "" if self.connected else NOT_REGISTERED if self.refused else OFFLINE)

    def highlighted_until(self) -> float | None:
        """When the newest call stops blinking (None: it does not blink), so the screen can stop its timer."""
        if not self.calls:
            return None
        seq = max(self.calls)
        return self.fresh[seq] + self.cfg.highlight_s if seq in self.fresh else None

    def _call_view(self, s: _Seen, now: float) -> CallView:
        fresh = self.fresh.get(s.seq)
        lit = fresh is not None and now - fresh < self.cfg.highlight_s
        return CallView(s.seq, s.ticket, s.counter, self._counter_name(s.counter), s.recall, lit)

    def _counter_name(self, cid: int, on_board: str = "") -> str:
        """The configured name, else the board's, else 'Quầy <n>'."""
        return self.counter_names.get(cid) or on_board or f"Quầy {cid}"

    def _counters(self) -> tuple[CounterView, ...]:
        rows = {c.id: c for c in (self.board.counters if self.board else ())}
        ids = list(self.counter_names) or list(rows)
        out = []
        for cid in ids:
            row = rows.get(cid) or CounterRow(cid, "", False, "idle")   # not on the board (yet): idle
            name = self._counter_name(cid, row.name)
            state, ticket = row.state or "idle", row.ticket
            if cid in self._called_counters:        # a call newer than the board: show it now
                state, ticket = "called", self._called_counters[cid].ticket
            if row.paused or state == "paused":
                out.append(CounterView(cid, name, PAUSED, "paused"))
            elif ticket:
                out.append(CounterView(cid, name, ticket, state))
            else:
                out.append(CounterView(cid, name, IDLE, "idle"))
        return tuple(out)

    def _services(self) -> tuple[ServiceView, ...]:
        rows = {s.id: s for s in (self.board.services if self.board else ())}
        ids = list(self.service_names) or list(rows)
        out = []
        for sid in ids:
            row = rows.get(sid) or ServiceRow(sid, 0, 0)              # not on the board (yet): nobody waits
            out.append(ServiceView(sid, self.service_names.get(sid, sid), row.waiting, row.wait_min))
        return tuple(out)

    def clock(self, now: float) -> tuple[str, str]:
        """('Thứ Tư, 25/11/2026', '09:00') in the hall's time zone."""
        t = datetime.fromtimestamp(now, self.zone)
        return f"{WEEKDAYS_VI[t.weekday()]}, {t:%d/%m/%Y}", f"{t:%H:%M}"


def call_title(recall: bool) -> str:
    """The words above a called number: 'MỜI CÔNG DÂN SỐ', or 'MỜI LẠI CÔNG DÂN SỐ' for a recall."""
    return RECALL_TITLE if recall else CALL_TITLE


def split_notice(text: str, fits: Callable[[str], bool]) -> list[str]:
    """The notice as pages that each fit the line (`fits` measures): whole sentences when they
    fit, so a page never ends mid-sentence unless one sentence alone is longer than the line."""
    pieces: list[str] = []
    for sentence in re.split(r"(?<=[.;!?])\s+", text.strip()):
        pieces += [sentence] if fits(sentence) else _words(sentence, fits)
    pages: list[str] = []
    for piece in pieces:
        if pages and fits(f"{pages[-1]} {piece}"):
            pages[-1] = f"{pages[-1]} {piece}"
        elif piece:
            pages.append(piece)
    return pages


def _words(sentence: str, fits: Callable[[str], bool]) -> list[str]:
    lines: list[str] = []
    for word in sentence.split():
        if lines and fits(f"{lines[-1]} {word}"):
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines
