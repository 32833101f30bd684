"""`call-ticket`: which ticket a clerk may call by its number, out of turn (docs/queue.md).

    t = ticket_to_call(engine.day, engine.tickets, engine.counters[1], cfg.services_of(1), "1004", None)
    # the ticket counter 1 may call, or ProtocolError (counter_paused, unknown_ticket, wrong_service …)

Pure like broker.engine, which applies the call; kept apart so the engine stays one readable file.
"""

from __future__ import annotations

import re

from broker.model import CALLED, NO_SHOW, SERVING, WAITING, CounterState, Ticket
from hall.protocol import ProtocolError

_DAY = re.compile(r"\d{8}")


def ticket_to_call(day: str, tickets: dict[str, Ticket], at: CounterState, services: tuple[str, ...],
                   ticket: str | None, ticket_id: str | None) -> Ticket:
    """The ticket counter `at` (serving `services`) may call now by number; ProtocolError when none.

    It leaves the counter's interleave count (`ordinary_run`) as it is: the clerk chose, not the line."""
    if at.paused:   # as for call-next: a paused counter calls no one
        raise ProtocolError("counter_paused", f"counter {at.id}")
    t = named_ticket(day, tickets, ticket, ticket_id)
    check_callable(t, at.id, services)
    return t


def named_ticket(day: str, tickets: dict[str, Ticket], ticket: str | None, ticket_id: str | None) -> Ticket:
    """The ticket of service day `day` named by its label (`ticket`) or its id (`ticket_id`), or both agreeing."""
    if ticket is None and ticket_id is None:
        raise ProtocolError("bad_request", "give 'ticket' (the printed number) or 'ticket_id'")
    today = day.replace("-", "")
    if ticket_id is None:
        tid = f"{today}-{ticket}"
    else:
        tid = ticket_id
        # An id is the service day and the label ('20261125-1004'); labels never hold a '-'.
        id_day, sep, label = ticket_id.partition("-")
        if ticket is not None and (not sep or label != ticket):
            raise ProtocolError("bad_request", "'ticket' and 'ticket_id' name different tickets")
        if sep and _DAY.fullmatch(id_day) and id_day != today:
            # Numbers restart each day: yesterday's 1004 is not today's, and the lines were emptied.
            raise ProtocolError("not_today", ticket_id)
    found = tickets.get(tid)
    if found is None:
        raise ProtocolError("unknown_ticket", tid)
    return found


def check_callable(t: Ticket, counter: int, services: tuple[str, ...]) -> None:
    """Refuse a ticket this counter may not call by number now; return when it may."""
    if t.state in (CALLED, SERVING):
        if t.counter == counter:
            raise ProtocolError("ticket_at_counter", f"{t.id} is already this counter's ticket",
                                "Phiếu này đang ở chính quầy này. Bấm “Gọi lại” để gọi lại.")
        raise ProtocolError("ticket_at_counter", f"{t.id} is at counter {t.counter}")
    if t.state == WAITING:
        # The lines call-next would take it from: its service's, or this counter's own after a transfer.
        mine = t.pinned == counter if t.pinned is not None else t.line in services
        if not mine:
            raise ProtocolError("wrong_service", f"{t.id} waits for {f'counter {t.pinned}' if t.pinned else t.line}")
        return
    if t.state == NO_SHOW:
        # The citizen came back: the counter that skipped them, or any counter of their service.
        if t.counter != counter and t.line not in services:
            raise ProtocolError("wrong_service", f"{t.id} is a no-show of {t.line} at counter {t.counter}")
        return
    raise ProtocolError("ticket_closed", f"{t.id} is {t.state}")   # finished (or expired)
