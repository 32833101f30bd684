"""The counter pad's state without Kivy or MQTT: what to show, given the config, the board and the time.

    m = PadModel(counter=1)
    m.on_config(config, now); m.on_board(board, now); m.on_connection(up, now, refused=False)
    m.tick(now)                       # twice a second: the rating screen's and the thank-you's timeouts
    rate = m.tap_score(3, now)        # the Rate to send, or None (the reasons come next)
    rate = m.tap_reason("cho-lau", now)   # None: "Bỏ qua", the score without a reason
    for rate in m.take_rates(): backend.send(rate)   # every Rate to send, the taps' and the timeouts'
    m.on_rated(ticket_id, "ok", now)  # what the hall answered: ok | already_rated | <error code> | timeout
    v = m.view(now)                   # PadView: the screen and every text on it

When is the citizen asked? The board's row of this counter names the last ticket finished here
that has no rating yet (to_rate_id, finished at to_rate_at). The pad asks about it once: not
again for a ticket it has already asked about, and not when the finish is older than
close_after_s (a pad restarted long after must not ask the next citizen about the last one).
The age is the larger of the pad's own clock and the board's (the hall's) time: a pad whose
clock is behind still does not ask about a ticket the retained board says was finished long ago.

Time is always passed in (epoch seconds); nothing here reads a clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from hall.protocol import Board, Config, CounterRow

log = logging.getLogger("motcua.counter_pad")

SETTLE_S = 0.5     # a tap this soon after the screen changed was aimed at the screen before
THANKS_S = 5.0     # how long "Cảm ơn ông/bà đã đánh giá" stays
OFFLINE = "● mất kết nối"
NOT_REGISTERED = "● chưa đăng ký"

CONNECTING = ("Đang kết nối…", "Connecting…")
IDLE = ("Mời công dân chờ gọi số", "Please wait for your number to be called")
CALLED = ("MỜI CÔNG DÂN SỐ", "Now calling number")
SERVING = ("ĐANG PHỤC VỤ SỐ", "Now serving number")
PAUSED = ("Tạm dừng", "Paused")
PAUSED_NOTE = ("Xin ông/bà vui lòng chờ trong giây lát", "Please wait a moment")
RATE = ("Mời ông/bà đánh giá sự phục vụ", "Please rate our service")
REASONS = ("Ông/bà chưa hài lòng vì điều gì?", "What was not right?")
SKIP = ("Bỏ qua", "Skip")
THANKS = ("Cảm ơn ông/bà đã đánh giá", "Thank you for your feedback")


@dataclass(frozen=True)
class Rate:
    """The `rate` request for one ticket (the backend gives it its request id)."""
    counter: int
    ticket_id: str
    score: int
    reason: str | None = None

    def args(self) -> dict[str, Any]:
        return {"counter": self.counter, "ticket_id": self.ticket_id, "score": self.score,
                **({"reason": self.reason} if self.reason else {})}


@dataclass(frozen=True)
class Face:
    """One button of the rating screen."""
    score: int
    title: str
    sub: str
    mood: float        # -1 the worst level … 1 the best: the face's mouth and colour


@dataclass(frozen=True)
class Choice:
    """One button of the reasons screen; id '' is "Bỏ qua" (the score alone)."""
    id: str
    title: str
    sub: str


@dataclass(frozen=True)
class PadView:
    screen: str                 # number | rating | reasons | thanks
    counter_name: str           # 'QUẦY 1', read from a metre away
    counter_name_en: str
    mark: str                   # '' or OFFLINE / NOT_REGISTERED
    state: str                  # the number screen's look: connecting | idle | called | serving | paused
    heading: str
    heading_en: str
    number: str                 # the ticket served, '' when none
    note: str
    note_en: str
    ticket: str = ""            # the rating screens: the label of the ticket being rated
    faces: tuple[Face, ...] = ()
    reasons: tuple[Choice, ...] = ()
    board_seq: int = 0
    sent: tuple[tuple[str, str], ...] = ()   # (ticket_id, what the hall said) of each rating sent


@dataclass
class _Asking:
    ticket_id: str
    label: str
    deadline: float
    score: int | None = None    # chosen, the reasons screen shown


class PadModel:
    def __init__(self, counter: int):
        self.counter = counter
        self.config: Config | None = None
        self.board: Board | None = None
        self.connected = False
        self.refused = False
        self.screen = "number"
        self.shown_at = 0.0           # when the screen last changed (SETTLE_S)
        self.asking: _Asking | None = None
        self.asked: set[str] = set()  # tickets this pad has asked about: never again
        self.sent: dict[str, str] = {}
        self.thanks_until = 0.0
        self._outbox: list[Rate] = []
        self._resync = True           # the next board may be older (a restarted hall): take it

    # --- inputs (UI thread) ------------------------------------------------------------

    def on_config(self, config: Config, now: float) -> bool:
        self.config = config
        self._consider(now)
        return True

    def on_board(self, board: Board, now: float) -> bool:
        if self.board is not None and board.seq < self.board.seq and not self._resync:
            return False              # board.seq only grows: this one is older than what is shown
        self._resync = False
        self.board = board
        self._consider(now)
        return True

    def on_connection(self, up: bool, now: float, refused: bool = False) -> bool:
        if up:
            self._resync = True
        refused = refused and not up
        changed = (up, refused) != (self.connected, self.refused)
        self.connected, self.refused = up, refused
        return changed

    def tick(self, now: float) -> bool:
        """The timeouts; True when the screen changed."""
        a = self.asking
        if a is not None and now >= a.deadline:
            if a.score is None:
                log.info("ticket %s: no rating within %s s, rating screen closed", a.ticket_id, self._close_s())
                self.asking = None
                self._go("number", now)
            else:
                # A score chosen, no reason picked: the score is what the citizen said.
                self._send(a.score, None, now)
            return True
        if self.screen == "thanks" and now >= self.thanks_until:
            self._go("number", now)
            return True
        return False

    def tap_score(self, score: int, now: float) -> Rate | None:
        a, cfg = self.asking, self.config
        if a is None or cfg is None or self.screen != "rating" or not self._settled(now):
            return None
        if score not in {r.score for r in cfg.rating}:
            return None
        screen = cfg.rating_screen
        if score <= screen.ask_reason_at_most and screen.reasons:
            a.score, a.deadline = score, now + self._close_s()
            self._go("reasons", now)
            return None
        return self._send(score, None, now)

    def tap_reason(self, reason: str | None, now: float) -> Rate | None:
        """`reason` None or '': "Bỏ qua", the score without a reason."""
        a, cfg = self.asking, self.config
        if a is None or a.score is None or cfg is None or self.screen != "reasons" or not self._settled(now):
            return None
        if reason and reason not in {r.id for r in cfg.rating_screen.reasons}:
            return None
        return self._send(a.score, reason or None, now)

    def take_rates(self) -> list[Rate]:
        """The ratings to send since last asked (a reasons screen that timed out sends its score too)."""
        out, self._outbox = self._outbox, []
        return out

    def on_rated(self, ticket_id: str, outcome: str, now: float) -> bool:
        """The hall's answer to a Rate. Nothing changes on screen: the thank-you was shown on the tap,
        and `already_rated` (rated on the ticket page, or a retry after a lost reply) is no news to the citizen."""
        self.sent[ticket_id] = outcome
        return True

    # --- what is shown -----------------------------------------------------------------

    def view(self, now: float) -> PadView:
        row = self._row()
        name, name_en = self._counter_names(row)
        mark = "" if self.connected else (NOT_REGISTERED if self.refused else OFFLINE)
        state, (heading, heading_en), number, note = self._number(row)
        base = PadView("number", name, name_en, mark, state, heading, heading_en, number, note[0], note[1],
                       board_seq=self.board.seq if self.board else 0, sent=tuple(self.sent.items()))
        a, cfg = self.asking, self.config
        if self.screen == "rating" and a is not None and cfg is not None:
            return replace(base, screen="rating", heading=RATE[0], heading_en=RATE[1], ticket=a.label,
                           faces=self._faces(cfg))
        if self.screen == "reasons" and a is not None and cfg is not None:
            reasons = tuple(Choice(r.id, r.name, r.name_en) for r in cfg.rating_screen.reasons)
            return replace(base, screen="reasons", heading=REASONS[0], heading_en=REASONS[1], ticket=a.label,
                           reasons=(*reasons, Choice("", *SKIP)))
        if self.screen == "thanks":
            return replace(base, screen="thanks", heading=THANKS[0], heading_en=THANKS[1])
        return base

    # --- helpers -----------------------------------------------------------------------

    def _row(self) -> CounterRow | None:
        return self.board.counter(self.counter) if self.board else None

    def _close_s(self) -> float:
        return float(self.config.rating_screen.close_after_s) if self.config else 30.0

    def _settled(self, now: float) -> bool:
        return now >= self.shown_at + SETTLE_S

    def _go(self, screen: str, now: float) -> None:
        if screen != self.screen:
            self.screen, self.shown_at = screen, now

    def _send(self, score: int, reason: str | None, now: float) -> Rate | None:
        a = self.asking
        assert a is not None
        self.asking = None
        if a.ticket_id in self.sent:         # one rating per ticket, whatever happens on screen
            self._go("number", now)
            return None
        self.sent[a.ticket_id] = "sending"
        self.thanks_until = now + THANKS_S
        self._go("thanks", now)
        rate = Rate(self.counter, a.ticket_id, score, reason)
        self._outbox.append(rate)
        return rate

    def _consider(self, now: float) -> None:
        """Open, switch or close the rating screen after a new board or config."""
        row, cfg, board = self._row(), self.config, self.board
        a = self.asking
        if a is not None and (row is None or row.to_rate_id != a.ticket_id):
            # Rated elsewhere (the ticket page), a new service day, or the next citizen already finished.
            self.asking = None
            self._go("number", now)
        if row is None or cfg is None or board is None or not cfg.rating:
            return
        tid, at = row.to_rate_id, row.to_rate_at
        if tid is None or at is None or tid in self.asked or tid in self.sent:
            return
        if max(now - at, board.at - at) >= self._close_s():
            return                           # finished long ago: that citizen has gone
        self.asked.add(tid)
        self.asking = _Asking(tid, row.to_rate or "", now + self._close_s())
        self._go("rating", now)

    def _faces(self, cfg: Config) -> tuple[Face, ...]:
        levels = sorted(cfg.rating, key=lambda r: r.score)
        n = len(levels)
        return tuple(Face(r.score, r.name, r.name_en, -1 + 2 * i / (n - 1) if n > 1 else 1.0)
                     for i, r in enumerate(levels))

    def _counter_names(self, row: CounterRow | None) -> tuple[str, str]:
        info = next((c for c in self.config.counters if c.id == self.counter), None) if self.config else None
        name = info.name if info else row.name if row else f"Quầy {self.counter}"
        return name.upper(), info.name_en if info else ""

    def _number(self, row: CounterRow | None) -> tuple[str, tuple[str, str], str, tuple[str, str]]:
        if self.board is None or self.config is None:
            return "connecting", CONNECTING, "", ("", "")
        if row is None:
            return "idle", IDLE, "", (f"Quầy {self.counter} chưa có trong cấu hình (hall.toml)", "")
        if row.paused:
            return "paused", PAUSED, "", PAUSED_NOTE
        if row.ticket and row.state in ("called", "serving"):
            return row.state, CALLED if row.state == "called" else SERVING, row.ticket, ("", "")
        return "idle", IDLE, "", ("", "")
