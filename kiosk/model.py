"""The ticket kiosk's state without Kivy: what a tap does, what the worker must do, when to go home.

    m = KioskModel(Settings(), new_id=client.new_id, now=time.time())
    m.on_config(config, now); m.on_board(board, now); m.on_catalog(catalog, now)   # hall.payloads types
    m.on_connection(True, now); m.on_server(True, now); m.on_printer("paper_out", now)
    m.on_connection(False, now, failure="not_authorised")   # hall.client.ConnectionFailure.kind
    cmd = m.tap_service("ho-tich", now)   # TakeTicket for the worker, or None (ignored, refused, busy)
    m.on_reply(rid, reply, now)           # kiosk.worker's Reply (None: unreadable); a wire dict is read too
    m.on_timeout(rid, now) / m.on_print(ticket_id, state, reason, now)
    m.tick(now)                           # idle and ticket-screen timeouts; True when the screen changed
    kiosk.views.view(m, now)              # the screen to show, every text in the chosen language

Time is passed in (epoch seconds); nothing here reads a clock, touches the network or the
printer. Everything belongs to the UI thread: the worker's results come back through it.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from hall.client import read_reply
from hall.protocol import NO_PRINTER, Board, Config, ProtocolError, Reply, TicketIssued
from kiosk.procedures import KioskCatalog, SearchResult

# The longest query: what a citizen types as a sentence ("toi muon lam giay khai sinh cho con moi
# sinh" is 43), with room; past it a key is refused and the screen says the box is full.
MAX_QUERY = 60
BROWSE = ("fields", "procedures", "detail", "search")   # reading works closed and offline too
WORKER_NEWS = ("reply", "timeout", "print")              # apply() kinds that come from kiosk.worker


@dataclass(frozen=True)
class Settings:
    """The kiosk's timings; `motcua kiosk --idle` sets idle_s (docs/kiosk.md explains each)."""
    idle_s: float = 60.0          # back home, in Vietnamese, after this long without a touch
    ticket_s: float = 20.0        # the ticket screen stays this long, then home
    ticket_kept_s: float = 90.0   # …this long when the paper ticket did not print: time to note the number
    settle_s: float = 0.3         # a tap this soon after a screen change was aimed at the old screen
    debounce_s: float = 0.5       # the same button again this soon is one shaky double tap
    retry_window_s: float = 300.0  # a tap after a timeout reuses the request id for this long
    connect_grace_s: float = 10.0  # "connecting…" instead of "no connection" just after start
    per_minute: int = 6           # tickets per minute when the hall's config does not say


@dataclass(frozen=True)
class TakeTicket:
    """A request for the worker: sent with this id, and resent with the same id on timeout."""
    rid: str
    service: str
    priority: str | None
    at: float


@dataclass
class Ticket:
    """The ticket on screen: the hall's reply data and its paper copy's state."""
    data: TicketIssued
    print_state: str = "printing"    # printing | printed | waiting | failed | none (the kiosk has no printer)
    reason: str = ""                 # waiting: paper_out | cover_open | offline | stopped (printer.flight)
    until: float = 0.0


@dataclass
class KioskModel:
    settings: Settings = field(default_factory=Settings)
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex[:16])
    now: float = 0.0
    lang: str = "vi"
    config: Config | None = None
    board: Board | None = None
    catalog: KioskCatalog | None = None
    connected: bool = False
    ever_connected: bool = False
    failure: str | None = None            # why not connected (hall.client.ConnectionFailure.kind), if known
    server_online: bool | None = None     # device/hall/status; None until heard
    printer_state: str | None = None      # hall.protocol.PRINTER_STATES; NO_PRINTER without [printer]
    nav: str = "home"                     # home | priority | ticket | one of BROWSE
    priority: str | None = None           # chosen priority category id
    field_id: str | None = None
    proc_id: str | None = None
    detail_from: str = "procedures"
    query: str = ""
    query_full: bool = False              # the last letter was refused: MAX_QUERY reached
    pending: TakeTicket | None = None
    retry: TakeTicket | None = None
    ticket: Ticket | None = None
    message: tuple[str, str] | None = None   # (text key or "", server text): shown over the screen
    issued: deque = field(default_factory=deque)

    def __post_init__(self):
        self.started = self.last_touch = self.now
        self.shown_at, self.last_tap = self.now, ("", -1e9)
        self._connecting = self.connecting(self.now)
        self._screen = self.screen(self.now)

    # --- what is shown --------------------------------------------------------------------

    def reachable(self, now: float) -> bool:
        return self.connected and self.server_online is not False and self.config is not None

    def is_open(self, now: float) -> bool:
        # The hall server's own clock decides (board.open); the hours only until a board came.
        if self.board is not None:
            return bool(self.board.open)
        return self.config is not None and self.config.is_open(now)

    def can_take(self, now: float) -> bool:
        return self.reachable(now) and self.is_open(now)

    def screen(self, now: float) -> str:
        if self.nav == "ticket" or self.nav in BROWSE:
            return self.nav
        if not self.reachable(now):
            return "offline"
        return self.nav if self.is_open(now) else "closed"

    def connecting(self, now: float) -> bool:
        # A refused login is known at once and no wait mends it; a server still booting is another matter.
        return (not self.ever_connected and self.failure != "not_authorised"
                and now - self.started < self.settings.connect_grace_s)

    # --- messages from the hall (handed to the UI thread) -----------------------------------

    def apply(self, kind: str, *args, now: float) -> None:
        """One piece of kiosk.backend's news, as it delivers it: apply("board", board, now=t) …"""
        {"config": self.on_config, "board": self.on_board, "catalog": self.on_catalog,
         "server": lambda status, now: self.on_server(status.state == "online", now),
         "connection": lambda up, failure, now: self.on_connection(up, now, failure),
         "printer": self.on_printer, "reply": self.on_reply, "timeout": self.on_timeout,
         "print": self.on_print}[kind](*args, now)

    def on_config(self, config: Config, now: float) -> None:
        self.config = config
        self._changed(now)

    def on_board(self, board: Board, now: float) -> bool:
        if self.board is not None and board.seq <= self.board.seq and board.day == self.board.day:
            return False   # older than what is shown
        self.board = board
        self._changed(now)
        return True

    def on_catalog(self, catalog: KioskCatalog, now: float) -> None:
        self.catalog = catalog
        if self.proc_id and catalog.get(self.proc_id) is None and self.nav == "detail":
            self.go("fields", now)      # the procedure on screen was withdrawn

    def on_connection(self, up: bool, now: float, failure: str | None = None) -> None:
        self.connected = up
        self.ever_connected |= up
        self.failure = None if up else failure
        self._changed(now)

    def on_server(self, online: bool, now: float) -> None:
        self.server_online = online
        self._changed(now)

    def on_printer(self, state: str, now: float) -> None:
        self.printer_state = state

    # --- taps ---------------------------------------------------------------------------------

    def touch(self, now: float) -> None:
        """Any touch on the screen: the citizen is still there."""
        self.last_touch = now

    def tap(self, target: str, now: float, repeat_ok: bool = False) -> bool:
        """Accept a tap on `target`? False for a tap aimed at the previous screen or a double tap."""
        self.touch(now)
        if now - self.shown_at < self.settings.settle_s:
            return False
        if not repeat_ok and self.last_tap[0] == target and now - self.last_tap[1] < self.settings.debounce_s:
            return False
        self.last_tap = (target, now)
        return True

    def go(self, nav: str, now: float) -> None:
        self.nav = nav
        self.message = None
        self._changed(now)

    def tap_language(self, now: float) -> None:
        if self.tap("lang", now):
            self.lang = "en" if self.lang == "vi" else "vi"

    def tap_priority(self, category: str | None, now: float) -> None:
        """None opens the category list; an id chooses it and goes back to the services."""
        if self.tap(f"priority:{category}", now):
            self.priority = category
            self.go("home" if category else "priority", now)

    def tap_cancel_priority(self, now: float) -> None:
        if self.tap("priority-cancel", now):
            self.priority = None

    def tap_nav(self, nav: str, now: float, field_id: str | None = None, proc_id: str | None = None) -> None:
        if not self.tap(f"nav:{nav}:{field_id}:{proc_id}", now):
            return
        if nav == "detail":
            self.detail_from = self.nav if self.nav in ("procedures", "search") else self.detail_from
        if nav == "search" and self.nav != "detail":
            self.query, self.query_full = "", False
        self.field_id = field_id or self.field_id
        self.proc_id = proc_id or self.proc_id
        if nav == "home":
            self.priority = None
        self.go(nav, now)

    def tap_back(self, now: float) -> None:
        back = {"priority": "home", "fields": "home", "procedures": "fields", "search": "fields",
                "detail": self.detail_from}.get(self.nav, "home")
        if self.tap("back", now):
            self.go(back, now)

    def tap_key(self, key: str, now: float) -> None:
        """On-screen keyboard: a letter, ' ', '<' (delete one) or 'clear'."""
        if not self.tap(f"key:{key}", now, repeat_ok=True):
            return
        self.query_full = False
        if key == "<":
            self.query = self.query[:-1]
        elif key == "clear":
            self.query = ""
        elif len(self.query) >= MAX_QUERY:
            self.query_full = True     # said on screen: a key that does nothing must not look broken
        elif not (key == " " and self.query.endswith(" ")):
            self.query += key

    def search_answer(self) -> SearchResult | None:
        """The search screen's answer for what is typed (None without a catalog)."""
        return self.catalog.answer(self.query) if self.catalog else None

    def tap_ok(self, now: float) -> None:
        if self.tap("ok", now):
            self.message = None

    def tap_done(self, now: float) -> None:
        if self.tap("done", now):
            self._home(now)

    def tap_service(self, service: str, now: float) -> TakeTicket | None:
        """A service button (or "Lấy số cho thủ tục này"): the request to send, or None."""
        if self.pending is not None or not self.tap("service", now):
            return None      # one ticket at a time; a second tap while it is on its way is not a second ticket
        if not self.can_take(now):
            return None      # the screen says why; nothing pretends to issue a ticket
        limit = self.config.kiosk.tickets_per_minute if self.config else self.settings.per_minute
        while self.issued and self.issued[0] <= now - 60:
            self.issued.popleft()
        if len(self.issued) >= limit:
            self._say("rate_limited", "", now)
            return None
        r = self.retry
        if r and r.service == service and r.priority == self.priority and now - r.at < self.settings.retry_window_s:
            rid = r.rid      # the hall may have issued it already: the same id gets the stored reply
        else:
            rid = self.new_id()
        self.retry = None
        self.pending = TakeTicket(rid, service, self.priority, now)
        return self.pending

    def tap_procedure_ticket(self, now: float) -> TakeTicket | None:
        """"Lấy số cho thủ tục này": a ticket for the service the procedure's counter serves."""
        p = self.catalog.get(self.proc_id) if self.catalog and self.proc_id else None
        return self.tap_service(p.service, now) if p else None

    # --- the worker's results --------------------------------------------------------------

    def on_reply(self, rid: str, reply: Reply | dict | None, now: float) -> None:
        """`reply`: as kiosk.worker delivers it, a Reply, or None when the hall's answer could not be read.

        The wire form (the JSON object HallClient.request returns, as the tests write replies) is
        read here with the same decoder as HallClient.ask, so both forms mean the same.
        """
        if self.pending is None or self.pending.rid != rid:
            return
        self.pending = None
        answer = _typed(reply)
        if answer is None:
            # A reply this kiosk cannot read issued nothing it could show: say so, never a half ticket.
            self._say("refused", "", now)
            return
        if answer.ok and isinstance(answer.data, TicketIssued):
            self.issued.append(now)
            if self.printer_state == NO_PRINTER:   # nothing will print: time to write the number down
                self.ticket = Ticket(answer.data, "none", until=now + self.settings.ticket_kept_s)
            else:
                self.ticket = Ticket(answer.data, until=now + self.settings.ticket_s)
            self.priority = None
            self.go("ticket", now)
        else:
            err = answer.error
            self._say(err.code if err else "refused", err.message if err else "", now)

    def on_timeout(self, rid: str, now: float) -> None:
        if self.pending is None or self.pending.rid != rid:
            return
        self.retry, self.pending = self.pending, None
        self._say("no_reply", "", now)

    def on_print(self, ticket_id: str, state: str, reason: str, now: float) -> None:
        t = self.ticket
        if t is None or t.data.ticket_id != ticket_id:
            return
        t.print_state, t.reason = state, reason
        if state in ("waiting", "failed"):
            # No paper ticket: keep the number on screen long enough to write it down.
            t.until = max(t.until, self.shown_at + self.settings.ticket_kept_s)

    # --- time -------------------------------------------------------------------------------

    def tick(self, now: float) -> bool:
        """Timeouts (and the opening hours without a board); True when something to show changed."""
        before = (self._screen, self.lang, self.priority, self.message, self._connecting)
        if self.nav == "ticket":
            if self.ticket is None or now >= self.ticket.until:
                self._home(now)
        elif now - self.last_touch >= self.settings.idle_s and (
                self.nav != "home" or self.lang != "vi" or self.priority or self.message):
            self._home(now)
            self.lang = "vi"     # the next citizen most likely reads Vietnamese
        self._changed(now)     # also notices "connecting…" turning into "no connection" by time alone
        return (self._screen, self.lang, self.priority, self.message, self._connecting) != before

    def _say(self, key: str, server_text: str, now: float) -> None:
        # A message box is a new screen too: a tap landing on its OK this soon was not aimed at it.
        self.message, self.shown_at = (key, server_text), now

    def _home(self, now: float) -> None:
        self.priority, self.message, self.query, self.query_full = None, None, "", False
        self.go("home", now)

    def _changed(self, now: float) -> bool:
        self._connecting = self.connecting(now)
        screen = self.screen(now)
        if screen == self._screen:
            return False
        self._screen, self.shown_at = screen, now
        return True


def _typed(reply: Reply | dict | None) -> Reply | None:
    """A take-ticket reply as a Reply: the wire form read as HallClient.ask reads it; None if unreadable."""
    if not isinstance(reply, dict):
        return reply
    try:
        return read_reply("take-ticket", reply)
    except ProtocolError:
        return None
