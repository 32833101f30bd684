"""An engine driven the way the hall service drives it, for the pure queue-rule tests."""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import replace

import pytest

from broker.engine import Engine
from broker.lines import Line, Lines
from broker.model import EVENT_STATE, Device, Ticket
from hall.config import load_hall
from hall.protocol import ProtocolError, Request
from tests.conftest import EXAMPLE, at

CFG = load_hall(EXAMPLE)      # 4 counters; ho-tich and chung-thuc at 1+2, dat-dai 3, xa-hoi 4 ...
ROOMY = replace(CFG, kiosk_tickets_per_minute=600)   # the rate limit has its own tests
KIOSK = Device("kiosk-1", "kiosk")
MINUTE = 60


def clerk(n: int) -> Device:
    return Device(f"counter-{n}", "counter", n)


def freeze(v):
    """A comparable deep copy of engine state (Lines and Line have no __eq__)."""
    if dataclasses.is_dataclass(v):
        return type(v).__name__, freeze(dataclasses.astuple(v))
    if isinstance(v, Lines):
        return freeze(v._lines)
    if isinstance(v, Line):
        return list(v.ordinary), list(v.priority)
    if isinstance(v, dict):
        return {k: freeze(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, deque)):
        return [freeze(x) for x in v]
    return v


def snapshot(engine: Engine) -> dict:
    return {k: freeze(v) for k, v in vars(engine).items() if k != "cfg"}


class Hall:
    """An engine driven the way the hall service drives it: rollover, then handle."""

    def __init__(self, cfg=ROOMY, now=None):
        self.now = at() if now is None else now
        self.engine = Engine(cfg, self.now)
        self.events, self.rid = [], 0

    def do(self, device: Device, action: str, **args):
        self.rid += 1
        self.events += self.engine.rollover(self.now).events
        out = self.engine.handle(device, Request(f"r{self.rid}", action, args), self.now)
        self.events += out.events
        return out

    def ticket(self, service="ho-tich", priority=None, kiosk=KIOSK) -> str:
        return self.do(kiosk, "take-ticket", service=service, priority=priority).data.ticket

    def act(self, n: int, action="call-next", **args):
        return self.do(clerk(n), action, counter=n, **args)

    def call(self, n: int) -> str:
        return self.act(n).data.ticket

    def tickets(self, count: int, service="ho-tich", **kw) -> list[str]:
        return [self.ticket(service, **kw) for _ in range(count)]

    def serve_for(self, n: int, minutes: float) -> None:
        """Call the next citizen at counter n and finish with them `minutes` later."""
        self.call(n)
        self.now += minutes * MINUTE
        self.act(n, "finish")

    def refused(self, device, action, code, **args) -> ProtocolError:
        before = snapshot(self.engine)
        with pytest.raises(ProtocolError) as info:
            self.do(device, action, **args)
        assert info.value.code == code
        assert snapshot(self.engine) == before, "a refused request changed the engine"
        return info.value

    def t(self, label: str) -> Ticket:
        return next(t for t in self.engine.tickets.values() if t.label == label)


def replay(events) -> dict[str, str]:
    """Ticket states as the ledger's event log tells them."""
    return {e.ticket: EVENT_STATE[e.kind] for e in events if e.ticket and EVENT_STATE[e.kind]}
