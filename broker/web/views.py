"""What the web pages show, read off the engine in the worker's thread (broker.web_jobs).

    counter_view(engine, 2, now)      # the clerk's one screen: the ticket served, the lines, today's figures
    counter_choices(engine)           # the counters to choose from, and who holds each
    ticket_view(engine, "20261125-1004", now)   # the ticket page: never anything about another citizen

Pure reads that change nothing: the queue rules are broker.engine's, the estimates broker.waits'.
Each view is a small frozen dataclass with to_dict(), the JSON the pages get (docs/web.md).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from broker.model import CALLED, FINISHED, NO_SHOW, SERVING, WAITING

if TYPE_CHECKING:
    from broker.engine import Engine
    from broker.model import Ticket


@dataclass(frozen=True)
class CurrentTicket:
    label: str
    ticket_id: str
    service: str
    service_name: str
    priority: str | None
    priority_name: str | None
    state: str
    issued_at: float
    called_at: float | None
    waited_s: int          # from the ticket's issue to its first call at this counter
    calls: int


@dataclass(frozen=True)
class ServiceLine:
    id: str
    name: str
    waiting: int
    wait_min: int


@dataclass(frozen=True)
class CounterDay:
    """Today's figures for one counter, from the day's tickets (the ledger holds the same)."""
    served: int
    no_shows: int
    mean_service_s: int | None   # None before the first finished ticket


@dataclass(frozen=True)
class CounterView:
    id: int
    name: str
    paused: bool
    held_by: int | None
    current: CurrentTicket | None
    services: tuple[ServiceLine, ...]
    pinned_waiting: int       # tickets transferred to this counter itself
    today: CounterDay
    day: str
    open: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CounterChoice:
    id: int
    name: str
    services: tuple[str, ...]     # the names of the services it serves
    held_by: int | None
    paused: bool
    state: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TicketView:
    """A citizen's own ticket: its number and place, nothing about anyone else."""
    ticket_id: str
    label: str
    service_name: str
    service_name_en: str
    state: str                # waiting | called | serving | finished | no_show | expired
    ahead: int | None         # while waiting: people before it (an estimate under interleaving)
    wait_min: int | None
    counter: int | None       # once called
    counter_name: str | None
    counter_name_en: str | None
    rating: int | None
    can_rate: bool
    day: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _current(engine: Engine, t: Ticket) -> CurrentTicket:
    cfg = engine.cfg
    svc = cfg.service(t.line)
    cat = next((c for c in cfg.priority.categories if c.id == t.priority), None)
    start = t.called_at if t.called_at is not None else t.issued_at
    return CurrentTicket(t.label, t.id, t.line, svc.name if svc else t.line, t.priority, cat.name if cat else None,
                         t.state, t.issued_at, t.called_at, max(0, round(start - t.issued_at)), t.calls)


def counter_day(engine: Engine, counter: int) -> CounterDay:
    served = no_shows = 0
    seconds = 0.0
    for t in engine.tickets.values():
        if t.counter != counter:
            continue
        if t.state == FINISHED:
            start = t.serving_at or t.called_at
            if start is not None and t.finished_at is not None:
                served += 1
                seconds += t.finished_at - start
        elif t.state == NO_SHOW:
            no_shows += 1
    return CounterDay(served, no_shows, round(seconds / served) if served else None)


def counter_view(engine: Engine, counter: int, now: float) -> CounterView:
    cfg = engine.cfg
    info = cfg.counter(counter)
    assert info is not None, counter   # the web adapter checked the id against hall.toml
    st = engine.counters[counter]
    t = engine.tickets.get(st.current) if st.current else None
    lines = []
    for sid in cfg.services_of(counter):
        svc = cfg.service(sid)
        assert svc is not None
        waiting = engine.lines.waiting(sid)
        lines.append(ServiceLine(sid, svc.name, waiting, engine.estimate_minutes(sid, waiting)))
    pinned = engine.lines.size(f"@{counter}")
    return CounterView(counter, info.name, st.paused, st.staff, _current(engine, t) if t else None, tuple(lines),
                       pinned, counter_day(engine, counter), engine.day, engine.is_open(now))


def held_by(engine: Engine, staff: int) -> list[int]:
    """The counters a clerk holds: one, or none (holding one lets go of the others)."""
    return [c.id for c in engine.counters.values() if c.staff == staff]


def held_counter(engine: Engine, staff: int) -> int | None:
    return next(iter(held_by(engine, staff)), None)


def counter_choices(engine: Engine) -> list[CounterChoice]:
    out = []
    for c in engine.cfg.counters:
        st = engine.counters[c.id]
        t = engine.tickets.get(st.current) if st.current else None
        names = tuple(s.name for s in engine.cfg.services if c.id in s.counters)
        out.append(CounterChoice(c.id, c.name, names, st.staff, st.paused,
                                 "paused" if st.paused else (t.state if t else "idle")))
    return out


def ticket_ahead(engine: Engine, t: Ticket) -> int:
    """People called before a waiting ticket: its line's older tickets, and the priority ones the
    policy calls first (all of them under `strict`; under `interleave` one per `every` ordinary calls)."""
    ordinary, priority = engine.lines.before(t)
    if t.priority:
        return priority
    if engine.cfg.priority.policy == "strict":
        return ordinary + priority
    return ordinary + min(priority, math.ceil((ordinary + 1) / engine.cfg.priority.every))


def ticket_view(engine: Engine, ticket_id: str, now: float) -> TicketView | None:
    """The ticket page's view, or None for an id that is not one of today's tickets."""
    t = engine.tickets.get(ticket_id)
    if t is None:
        return None
    cfg = engine.cfg
    svc = cfg.service(t.line)
    ahead = wait = None
    if t.state == WAITING:
        ahead = ticket_ahead(engine, t)
        wait = engine.estimate_minutes(t.line, ahead)
    counter = cfg.counter(t.counter) if t.counter is not None and t.state in (CALLED, SERVING, FINISHED) else None
    return TicketView(t.id, t.label, svc.name if svc else t.line, svc.name_en if svc else t.line, t.state, ahead,
                      wait, counter.id if counter else None, counter.name if counter else None,
                      counter.name_en if counter else None, t.rating, t.state == FINISHED and t.rating is None,
                      t.day)
