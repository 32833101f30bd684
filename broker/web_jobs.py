"""What the web adapter hands the hall service's worker, and how the worker tells the pages.

Two adapters, one path: a tap on a clerk's page becomes a WebJob in the same inbox as the MQTT
requests, handled by the same engine call, stored in the same durable transaction with its
reply, and answered only after that commit, as an MQTT reply is published only after it.
A ViewJob is a read of the engine, run in the worker's thread after the batch's commit, so a
page never shows a state that was not stored. The futures are concurrent.futures ones: the
web adapter's asyncio loop awaits them with asyncio.wrap_future.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from broker.model import Device
from hall.protocol import Alarm, Board, Call

if TYPE_CHECKING:
    from broker.engine import Engine


@dataclass
class WebJob:
    """A page's request: `payload` is the request's JSON as an MQTT device would send it (v, id, args)."""
    device: Device
    action: str
    payload: bytes
    reply: Future[bytes] = field(default_factory=Future)

    def answer(self, payload: bytes) -> None:
        if not self.reply.done():   # a page that gave up (cancelled) needs no answer
            self.reply.set_result(payload)


@dataclass
class ViewJob:
    """A read of the engine for a page, done in the worker's thread."""
    read: Callable[[Engine, float], Any]
    result: Future[Any] = field(default_factory=Future)

    def run(self, engine: Engine, now: float) -> None:
        if self.result.done():
            return
        try:
            self.result.set_result(self.read(engine, now))
        except Exception as exc:   # the page gets the error; the worker goes on
            self.result.set_exception(exc)


class Watcher(Protocol):
    """Told in the worker's thread after each board and call is published; must only hand off."""

    def on_board(self, board: Board, engine: Engine, now: float) -> None: ...

    def on_call(self, call: Call, engine: Engine) -> None: ...

    def on_alarms(self, alarms: tuple[Alarm, ...]) -> None: ...
