"""The actions only the hall server's web pages send, and who holds a counter.

A clerk on the handheld page is a `counter` device with a staff id (broker.model.Device): before
acting for a counter the clerk `hold`s it, and while held no other clerk may act for it. A
counter device of its own (a keypad, MQTT) has no staff id and is not asked: it is bolted to
its counter. Taking over a counter another clerk holds needs `take_over` (the page asks first)
and is logged with both clerks. The service-day rollover lets go of every counter.

The ticket page (no login) rates its own ticket with `rate-ticket`, as a `citizen`.

These are not MQTT actions (hall.protocol.ACTIONS is the MQTT contract, and a device asking for
one gets `unknown_action`); requests are checked with the same code, hall.protocol.decode_request.
"""

from __future__ import annotations

from broker.model import CounterState, Device, Event, Outcome
from hall.protocol import Action, CounterHeld, ProtocolError, Rated

_COUNTER = {"counter": ((int,), True)}
WEB_ACTIONS: dict[str, Action] = {
    "hold": Action("counter", {**_COUNTER, "take_over": ((bool,), False)},
                   "the clerk takes the counter (take_over: true to take it from the clerk holding it)", CounterHeld),
    "release": Action("counter", _COUNTER, "the clerk leaves the counter (logging out does it too)", CounterHeld),
    "rate-ticket": Action("citizen", {"ticket_id": ((str,), True), "score": ((int,), True),
                                      "reason": ((str,), False)},
                          "the citizen rates their own finished ticket on its page", Rated),
}
# Role of the ticket page's requests: a citizen's phone, known by nothing but the ticket id.
CITIZEN = "citizen"


def actions_for(device: Device) -> dict[str, Action]:
    """The actions a web session may send besides the MQTT ones: none for a device."""
    return WEB_ACTIONS if device.staff is not None or device.role == CITIZEN else {}


def check_holder(c: CounterState, device: Device, action: str) -> None:
    """A clerk acts only for a counter they hold; ProtocolError otherwise. Devices are not asked."""
    if device.staff is None or action == "hold":
        return
    if c.staff is None:
        raise ProtocolError("counter_not_held", f"counter {c.id} is not held by staff {device.staff}")
    if c.staff != device.staff:
        raise ProtocolError("counter_held", f"counter {c.id} is held by staff {c.staff}")


def hold(c: CounterState, device: Device, now: float, take_over: bool = False) -> Outcome:
    assert device.staff is not None, "only a clerk's web session holds a counter"
    before = c.staff
    if before == device.staff:
        return Outcome(data=CounterHeld(c.id, before))
    if before is not None and not take_over:
        raise ProtocolError("counter_held", f"counter {c.id} is held by staff {before}")
    c.staff = device.staff
    out = Outcome(data=CounterHeld(c.id, c.staff, before))
    out.counters[c.id] = c
    out.events.append(Event("held", now, device.id, counter=c.id, staff=device.staff,
                            data={"taken_from": before} if before is not None else None))
    return out


def release(c: CounterState, device: Device, now: float) -> Outcome:
    # check_holder let only the holder through, so the counter is this clerk's.
    c.staff = None
    out = Outcome(data=CounterHeld(c.id, None))
    out.counters[c.id] = c
    out.events.append(Event("released", now, device.id, counter=c.id, staff=device.staff))
    return out


def let_go_of(counters: list[CounterState]) -> list[CounterState]:
    """Every counter nobody holds any more (the service-day rollover): the ones that changed."""
    held = [c for c in counters if c.staff is not None]
    for c in held:
        c.staff = None
    return held
