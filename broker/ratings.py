"""The rating rules: which ticket may be rated, by whom, with which score and reason (docs/queue.md).

    out = rate(engine.tickets, cfg, pad, now, 1, score=1, ticket_id="20261125-1001", reason="cho-lau")
    out = rate_ticket(engine.tickets, cfg, Device("ticket-page", "citizen"), now, "20261125-1001", 3)
    # an Outcome (data: hall.payloads.Rated, one `rated` event), or ProtocolError having changed nothing
    to_rate(engine.tickets, engine.finished_here.get(1))   # the ticket counter 1's pad asks about, or None

Pure like broker.engine, whose `rate` and `rate_ticket` hand over to these; kept apart so the
engine stays one readable file.
"""

from __future__ import annotations

from collections.abc import Iterable

from broker.model import FINISHED, SERVING, Device, Event, Outcome, Ticket
from hall.config import HallConfig
from hall.protocol import ProtocolError, Rated, rated_ticket


def rate(tickets: dict[str, Ticket], cfg: HallConfig, device: Device, now: float, counter: int, score: int,
         ticket_id: str | None, ticket: str | None = None, reason: str | None = None) -> Outcome:
    """The counter pad's rating: a ticket of today last at `counter`, being served or finished there.

    `ticket_id` names the ticket; `ticket` is its v1 name, still accepted (hall.protocol.rated_ticket)."""
    tid = rated_ticket(ticket_id, ticket)
    t = tickets.get(tid)
    if t is None:
        raise ProtocolError("unknown_ticket", tid)
    if t.counter != counter or t.state not in (SERVING, FINISHED):
        raise ProtocolError("not_rateable", tid)
    return rated(t, cfg, device, now, score, reason)


def rate_ticket(tickets: dict[str, Ticket], cfg: HallConfig, device: Device, now: float, ticket_id: str,
                score: int, reason: str | None = None) -> Outcome:
    """The ticket page's rating: the citizen's own ticket, once it is finished, on its day."""
    t = tickets.get(ticket_id)
    if t is None:
        raise ProtocolError("unknown_ticket", ticket_id)
    if t.state != FINISHED:
        raise ProtocolError("not_rateable", ticket_id, "Phiếu này chưa được phục vụ xong nên chưa thể đánh giá.")
    return rated(t, cfg, device, now, score, reason)


def rated(t: Ticket, cfg: HallConfig, device: Device, now: float, score: int, reason: str | None) -> Outcome:
    """Give `t` its one rating, whoever sends it (pad or page): the checks both share, then the change."""
    if t.rating is not None:
        raise ProtocolError("already_rated", t.id)
    if not 1 <= score <= len(cfg.rating):
        raise ProtocolError("bad_request", f"score must be 1..{len(cfg.rating)}")
    screen = cfg.rating_screen
    # A reason explains a low score only, and it is one of the buttons the hall offers, nothing else.
    if reason is not None and (score > screen.ask_reason_at_most or reason not in {r.id for r in screen.reasons}):
        raise ProtocolError("bad_request", f"reason {reason[:40]!r} is not one of this hall's for score {score}")
    t.rating = score
    out = Outcome(data=Rated(t.id, score))
    out.touch(t)
    # The clerk who served is the one rated (t.staff); the event's own staff is who sent it.
    data = ({"score": score, "reason": reason, "clerk": t.staff} if reason is not None or t.staff is not None
            else {"score": score})
    out.events.append(Event("rated", now, device.id, t.id, t.line, t.counter, data, device.staff))
    return out


def finished_here(tickets: Iterable[Ticket]) -> dict[int, str]:
    """Counter → the last ticket it finished, from a day's tickets in issue order (Engine.restore: to_rate)."""
    last: dict[int, Ticket] = {}
    for t in tickets:
        if t.state == FINISHED and t.counter is not None and t.finished_at is not None:
            before = last.get(t.counter)
            if before is None or (before.finished_at or 0) <= t.finished_at:
                last[t.counter] = t
    return {counter: t.id for counter, t in last.items()}


def to_rate(tickets: dict[str, Ticket], finished: str | None) -> Ticket | None:
    """The ticket a counter last `finished` (its id), while it is unrated: what the counter pad asks about."""
    t = tickets.get(finished) if finished is not None else None
    return t if t is not None and t.state == FINISHED and t.rating is None else None
