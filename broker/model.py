"""The queue's plain data: tickets, counters, events and what one action changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hall.protocol import Call, ReplyData

# Ticket states. `expired` is what the service-day rollover does to tickets
# still open from the day before; nothing is deleted.
WAITING, CALLED, SERVING, FINISHED, NO_SHOW, EXPIRED = (
    "waiting", "called", "serving", "finished", "no_show", "expired")
OPEN_STATES = (WAITING, CALLED, SERVING)
STATES = (WAITING, CALLED, SERVING, FINISHED, NO_SHOW, EXPIRED)

# Event kinds in the ledger's append-only log, and the state each leaves its ticket in
# (None: the ticket keeps its state; a recall may come while the ticket is already serving).
EVENT_STATE = {
    "issued": WAITING, "called": CALLED, "recalled": None, "served": SERVING,
    "finished": FINISHED, "no_show": NO_SHOW, "transferred": WAITING, "expired": EXPIRED,
    "rated": None, "paused": None, "resumed": None,
    # A clerk's web session takes a counter (`held`, data says from whom when taken over) and leaves it.
    "held": None, "released": None,
}


@dataclass(slots=True)
class Ticket:
    id: str                 # '20261125-1023': day + label, unique in the hall
    day: str                # service day, ISO date
    service: str            # the service that issued the number
    number: int
    label: str              # what is printed and read aloud
    priority: str | None    # priority category id
    issued_at: float        # kept across transfers: fairness
    seq: int                # issue order within the day, breaks ties
    device: str
    line: str               # the service whose line it waits in now
    pinned: int | None = None   # transferred to this counter only
    state: str = WAITING
    counter: int | None = None
    called_at: float | None = None
    serving_at: float | None = None
    finished_at: float | None = None
    calls: int = 0
    rating: int | None = None
    staff: int | None = None    # the clerk (staff id) who last called it; None: a counter device did

    def key(self) -> tuple[float, int, str]:
        """Place in a line: original issue time, then issue order."""
        return (self.issued_at, self.seq, self.id)


@dataclass(slots=True)
class CounterState:
    id: int
    paused: bool = False
    current: str | None = None      # ticket id being called or served
    ordinary_run: int = 0           # ordinary calls since the last priority call
    staff: int | None = None        # the clerk whose web session holds the counter (broker.staff id)


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    at: float
    device: str
    ticket: str | None = None
    service: str | None = None
    counter: int | None = None
    data: dict[str, Any] | None = None
    staff: int | None = None        # the clerk who acted, on a web page; None for devices and the hall


@dataclass(slots=True)
class Outcome:
    """What one action did: the reply data, and every change the ledger must store."""
    data: ReplyData | None = None    # set by every action; None for the hall's own (rollover, expiry)
    events: list[Event] = field(default_factory=list)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    counters: dict[int, CounterState] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def touch(self, ticket: Ticket) -> None:
        self.tickets[ticket.id] = ticket

    def merge(self, other: Outcome) -> None:
        self.events.extend(other.events)
        self.tickets.update(other.tickets)
        self.counters.update(other.counters)
        self.calls.extend(other.calls)

    @property
    def changed(self) -> bool:
        return bool(self.events)


@dataclass(frozen=True, slots=True)
class Saved:
    """What the ledger holds of one service day: Engine.restore's input after a restart."""
    tickets: list[Ticket]
    counters: list[CounterState]
    call_seq: int
    calls: list[Call]                   # the day's recent calls, oldest first
    samples: dict[str, list[float]]     # recent service times per service, seconds


@dataclass(frozen=True, slots=True)
class Device:
    """A registered device as the hall service sees it, or a clerk's web session acting as one.

    A web session is a `counter` device for the counter its clerk holds, with `staff` set: the
    engine then asks that the clerk holds the counter, and logs the clerk with every event."""
    id: str
    role: str
    counter: int | None = None
    staff: int | None = None
