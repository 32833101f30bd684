"""Every payload of the MQTT contract v1 as a frozen dataclass (docs/protocol.md shows each one).

    cfg = Config.from_payload(payload)            # the retained `config`; ProtocolError on a bad shape
    cfg.service("ho-tich").name, cfg.is_open(now), cfg.hours.lines("en"), cfg.hours.next_opening(cfg.local(now))
    board = Board.from_payload(payload)           # board.counters[0].ticket, board.services[0].waiting
    call = Call.from_payload(payload)             # topic `called`
    reply = Reply.from_payload(payload, TicketIssued)   # reply.ok, reply.data.ticket, reply.error.code
    x.to_payload()                                # the same bytes the hall has always sent

The retained `config` family is in hall/config_payload.py (re-exported here). Each message has
`to_payload() -> bytes` and `from_payload(bytes)`; the types nested in one
have `to_dict()` / `from_dict(Fields)`. `from_payload` raises hall.wire.ProtocolError (code
`bad_request`, `bad_json`, `bad_version` or `too_large`) whose detail names the field that is
wrong — never KeyError or TypeError. Fields a later v1 server adds are ignored.
hall.protocol's PAYLOADS table says which type each topic carries.

Why hand-written over the stdlib json, not a codec such as msgspec: the wire must stay the same
byte for byte (field order, `1700000000.5` floats, `ensure_ascii=False`), the ledger keeps reply
payloads that a retry gets back as they were stored, and every Pi would need one more compiled
dependency. Each type lists its fields once in `to_dict` (the wire order) and once in
`from_dict`; the round-trip tests (tests/test_protocol_payloads.py) catch the two drifting apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hall.config_payload import (
    DEFAULT_TIMEZONE,
    CategoryInfo,
    Config,
    CounterInfo,
    HallInfo,
    HoursInfo,
    KioskInfo,
    PriorityInfo,
    RatingInfo,
    RatingScreenInfo,
    ReasonInfo,
    ServiceInfo,
)
from hall.wire import Fields, ProtocolError, as_tuple, encode, message_fields

# --- `called` and the board ------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    """One call of a ticket to a counter (topic `called`)."""
    seq: int
    ticket: str       # the label read aloud and shown: '1023', 'A007'
    ticket_id: str
    counter: int
    service: str
    recall: bool
    at: float
    priority: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "ticket": self.ticket, "ticket_id": self.ticket_id, "counter": self.counter,
                "service": self.service, "recall": self.recall, "at": self.at, "priority": self.priority}

    def to_payload(self) -> bytes:
        return encode(self.to_dict())

    @classmethod
    def from_dict(cls, f: Fields) -> Call:
        return cls(f.integer("seq"), f.text("ticket"), f.text("ticket_id"), f.integer("counter"),
                   f.text("service"), f.flag("recall"), f.number("at"), f.maybe_text("priority"))

    @classmethod
    def from_payload(cls, payload: bytes) -> Call:
        return cls.from_dict(message_fields(payload, "called"))


@dataclass(frozen=True)
class CounterRow:
    """A counter on the board: what it is doing and the ticket it calls or serves."""
    id: int
    name: str
    paused: bool
    state: str                  # idle | paused | called | serving
    ticket: str | None = None   # the label
    ticket_id: str | None = None
    service: str | None = None  # the line the ticket came from
    # The last ticket finished here that has no rating yet, and when it was finished: what the
    # counter pad asks the citizen to rate (for hall.toml's rating_screen.close_after_s after that).
    to_rate: str | None = None
    to_rate_id: str | None = None
    to_rate_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "paused": self.paused, "state": self.state,
                "ticket": self.ticket, "ticket_id": self.ticket_id, "service": self.service,
                "to_rate": self.to_rate, "to_rate_id": self.to_rate_id, "to_rate_at": self.to_rate_at}

    @classmethod
    def from_dict(cls, f: Fields) -> CounterRow:
        return cls(f.integer("id"), f.text("name"), f.flag("paused"), f.text("state"), f.maybe_text("ticket"),
                   f.maybe_text("ticket_id"), f.maybe_text("service"), f.maybe_text("to_rate"),
                   f.maybe_text("to_rate_id"), f.maybe_number("to_rate_at"))


@dataclass(frozen=True)
class ServiceRow:
    """A service's line on the board."""
    id: str
    waiting: int
    wait_min: int                     # estimated minutes for a ticket taken now
    last_issued: str | None = None    # the label of the day's last ticket, None before the first

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "waiting": self.waiting, "wait_min": self.wait_min, "last_issued": self.last_issued}

    @classmethod
    def from_dict(cls, f: Fields) -> ServiceRow:
        return cls(f.text("id"), f.integer("waiting"), f.integer("wait_min"), f.maybe_text("last_issued"))


@dataclass(frozen=True)
class CallRow:
    """One of the board's last calls, newest first (a `called` without ticket_id and priority)."""
    seq: int
    ticket: str
    counter: int
    service: str
    recall: bool
    at: float

    @classmethod
    def of(cls, call: Call) -> CallRow:
        return cls(call.seq, call.ticket, call.counter, call.service, call.recall, call.at)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "ticket": self.ticket, "counter": self.counter, "service": self.service,
                "recall": self.recall, "at": self.at}

    @classmethod
    def from_dict(cls, f: Fields) -> CallRow:
        return cls(f.integer("seq"), f.text("ticket"), f.integer("counter"), f.text("service"),
                   f.flag("recall"), f.number("at"))


@dataclass(frozen=True)
class Board:
    """The whole board (topic `board`, retained); see docs/protocol.md for each field."""
    seq: int
    day: str
    at: float
    open: bool
    counters: tuple[CounterRow, ...] = ()
    services: tuple[ServiceRow, ...] = ()
    calls: tuple[CallRow, ...] = ()

    def __post_init__(self):
        for name in ("counters", "services", "calls"):
            object.__setattr__(self, name, as_tuple(getattr(self, name)))

    def counter(self, counter_id: int) -> CounterRow | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def service(self, service_id: str) -> ServiceRow | None:
        return next((s for s in self.services if s.id == service_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "day": self.day, "at": self.at, "open": self.open,
                "counters": [c.to_dict() for c in self.counters], "services": [s.to_dict() for s in self.services],
                "calls": [c.to_dict() for c in self.calls]}

    def to_payload(self) -> bytes:
        return encode(self.to_dict())

    @classmethod
    def from_dict(cls, f: Fields) -> Board:
        return cls(f.integer("seq"), f.text("day"), f.number("at"), f.flag("open"),
                   f.each("counters", CounterRow.from_dict, ()), f.each("services", ServiceRow.from_dict, ()),
                   f.each("calls", CallRow.from_dict, ()))

    @classmethod
    def from_payload(cls, payload: bytes) -> Board:
        return cls.from_dict(message_fields(payload, "board"))


# --- a device's retained status ---------------------------------------------------------

# Status.printer: what a kiosk's printer is doing. A kiosk whose device.toml has no [printer]
# says "not_configured": it issues numbers on screen but prints nothing, and staff must see that as
# plainly as "paper_out" (an addition within v1: the server stores the text as sent).
PRINTER_STATES = ("ok", "paper_low", "paper_out", "cover_open", "offline", "not_configured")
NO_PRINTER = "not_configured"


@dataclass(frozen=True)
class Alarm:
    """Something the hall server's staff must act on (broker/alarms.py): only in the server's status."""
    code: str       # 'disk_low' | 'disk_full' | 'read_only' | 'backup_stale' | ...
    message: str    # Vietnamese, for the clerks' pages and the head's dashboard
    detail: str     # English, for logs and `motcua status`

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}

    @classmethod
    def from_dict(cls, f: Fields) -> Alarm:
        return cls(f.text("code"), f.text("message"), f.text("detail", ""))


@dataclass(frozen=True)
class Status:
    """A device's retained status (topic `device/{id}/status`)."""
    state: str                  # 'online' | 'offline'
    role: str = ""
    version: str = ""
    printer: str | None = None  # kiosks: one of PRINTER_STATES; None for devices without a printer
    alarms: tuple[Alarm, ...] = ()   # the hall server's own status only (an addition within v1)

    def to_dict(self) -> dict[str, Any]:
        """Only what is known: a display's status has no `printer`, a last will no `version`,
        a server without alarms no `alarms` (so the v1 bytes are unchanged)."""
        full = {"state": self.state, "role": self.role, "version": self.version, "printer": self.printer,
                "alarms": [a.to_dict() for a in self.alarms] or None}
        return {k: v for k, v in full.items() if v not in (None, "")}

    def to_payload(self) -> bytes:
        return encode(self.to_dict())

    @classmethod
    def from_dict(cls, f: Fields) -> Status:
        # Devices write this one: the hall stores what it can read, cut to size, and refuses only
        # a status that does not say online or offline.
        state = f.obj.get("state")
        if state not in ("online", "offline"):
            raise ProtocolError(f.code, "'state' must be online or offline")
        printer = f.obj.get("printer")
        try:
            alarms = f.each("alarms", Alarm.from_dict, ())
        except ProtocolError:
            alarms = ()   # only the server sends alarms; a device's odd ones are not worth a refusal
        return cls(state, str(f.obj.get("role", ""))[:32], str(f.obj.get("version", ""))[:32],
                   printer if isinstance(printer, str) else None, alarms)

    @classmethod
    def from_payload(cls, payload: bytes) -> Status:
        return cls.from_dict(message_fields(payload, "status"))


# --- replies ------------------------------------------------------------------------------

@dataclass(frozen=True)
class TicketIssued:
    """take-ticket's reply data: the ticket as printed."""
    ticket: str                   # the label: '1004', 'A007'
    ticket_id: str                # '20261125-1004'
    service: str
    priority: str | None
    counters: tuple[int, ...]     # where to go when called
    ahead: int                    # citizens waiting before this one
    wait_min: int                 # estimated minutes until called
    issued_at: float
    day: str                      # the service day, ISO date
    page: str = ""                # what the QR carries to open the ticket's page (broker.page_code); "" for none

    def __post_init__(self):
        object.__setattr__(self, "counters", as_tuple(self.counters))

    def to_dict(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "ticket_id": self.ticket_id, "service": self.service,
                "priority": self.priority, "counters": list(self.counters), "ahead": self.ahead,
                "wait_min": self.wait_min, "issued_at": self.issued_at, "day": self.day,
                # Only when there is one: a hall without page codes sends the v1 bytes it always did.
                **({"page": self.page} if self.page else {})}

    @classmethod
    def from_dict(cls, f: Fields) -> TicketIssued:
        return cls(f.text("ticket"), f.text("ticket_id"), f.text("service"), f.maybe_text("priority"),
                   f.integers("counters"), f.integer("ahead"), f.integer("wait_min"), f.number("issued_at"),
                   f.text("day"), f.text("page", ""))


@dataclass(frozen=True)
class TicketState:
    """The counters' reply data (call-next, recall, serve, skip, finish, transfer): the ticket now."""
    ticket: str
    ticket_id: str
    service: str                  # the line it is in (after a transfer: the new one)
    state: str
    priority: str | None = None
    counter: int | None = None    # None once transferred back into a line

    def to_dict(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "ticket_id": self.ticket_id, "service": self.service, "state": self.state,
                "priority": self.priority, "counter": self.counter}

    @classmethod
    def from_dict(cls, f: Fields) -> TicketState:
        return cls(f.text("ticket"), f.text("ticket_id"), f.text("service"), f.text("state"),
                   f.maybe_text("priority"), f.maybe_integer("counter"))


@dataclass(frozen=True)
class CounterPaused:
    """pause's and resume's reply data."""
    counter: int
    paused: bool

    def to_dict(self) -> dict[str, Any]:
        return {"counter": self.counter, "paused": self.paused}

    @classmethod
    def from_dict(cls, f: Fields) -> CounterPaused:
        return cls(f.integer("counter"), f.flag("paused"))


@dataclass(frozen=True)
class Rated:
    """rate's reply data."""
    ticket_id: str
    score: int

    def to_dict(self) -> dict[str, Any]:
        return {"ticket_id": self.ticket_id, "score": self.score}

    @classmethod
    def from_dict(cls, f: Fields) -> Rated:
        return cls(f.text("ticket_id"), f.integer("score"))


@dataclass(frozen=True)
class CounterHeld:
    """The web pages' hold and release (broker.web_actions): who holds the counter now (None: nobody)."""
    counter: int
    staff: int | None
    taken_from: int | None = None   # the clerk whose hold was taken over

    def to_dict(self) -> dict[str, Any]:
        return {"counter": self.counter, "staff": self.staff, "taken_from": self.taken_from}

    @classmethod
    def from_dict(cls, f: Fields) -> CounterHeld:
        return cls(f.integer("counter"), f.maybe_integer("staff"), f.maybe_integer("taken_from"))


ReplyData = TicketIssued | TicketState | CounterPaused | Rated | CounterHeld


@dataclass(frozen=True)
class ReplyError:
    code: str        # one of hall.protocol.ERRORS (a later server may add codes: show `message`)
    message: str     # Vietnamese, fit to show

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, f: Fields) -> ReplyError:
        return cls(f.text("code"), f.text("message", ""))


@dataclass(frozen=True)
class Reply:
    """The envelope of every answer (topic `reply/{device}`): data when ok, else an error."""
    id: str | None
    ok: bool
    data: ReplyData | None = None
    error: ReplyError | None = None

    @classmethod
    def success(cls, rid: str | None, data: ReplyData) -> Reply:
        return cls(rid, True, data)

    @classmethod
    def refusal(cls, rid: str | None, err: ProtocolError) -> Reply:
        return cls(rid, False, error=ReplyError(err.code, err.message))

    def to_dict(self) -> dict[str, Any]:
        if self.ok:
            return {"id": self.id, "ok": True, "data": self.data.to_dict() if self.data else {}}
        err = self.error or ReplyError("internal", "")
        return {"id": self.id, "ok": False, "error": err.to_dict()}

    def to_payload(self) -> bytes:
        return encode(self.to_dict())

    @classmethod
    def from_dict(cls, f: Fields, data_type: type[ReplyData]) -> Reply:
        """`data_type`: the reply data of the action asked (hall.protocol.ACTIONS[action].reply)."""
        rid, ok = f.maybe_text("id"), f.flag("ok")
        if ok:
            return cls(rid, True, data_type.from_dict(f.sub("data")))
        return cls(rid, False, error=ReplyError.from_dict(f.sub("error")))

    @classmethod
    def from_payload(cls, payload: bytes, data_type: type[ReplyData]) -> Reply:
        return cls.from_dict(message_fields(payload, "reply"), data_type)


__all__ = ["Alarm", "Board", "Call", "CallRow", "CategoryInfo", "Config", "CounterHeld", "CounterInfo", "CounterPaused",
           "CounterRow", "DEFAULT_TIMEZONE", "HallInfo", "HoursInfo", "KioskInfo", "NO_PRINTER", "PRINTER_STATES",
           "PriorityInfo", "Rated", "RatingInfo", "RatingScreenInfo", "ReasonInfo", "Reply", "ReplyData", "ReplyError",
           "ServiceInfo", "ServiceRow", "Status", "TicketIssued", "TicketState"]
