"""The web adapter's side of the hall service's inbox: a page's request or read, awaited on the loop.

    desk = Desk(service)
    reply = await desk.act(Device("clerk:7", "counter", 2, staff=7), "call-next", rid, {"counter": 2})
    view = await desk.read(lambda engine, now: counter_view(engine, 2, now))

The request goes into the worker's inbox as a broker.web_jobs.WebJob, the same path as an MQTT
request: the same engine call, the same durable transaction, the same stored reply for a
retried id, answered only after the commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from broker.model import Device
from broker.web_jobs import ViewJob, WebJob
from hall.wire import encode

if TYPE_CHECKING:
    from broker.engine import Engine
    from broker.service import HallService

T = TypeVar("T")
ANSWER_S = 10.0   # the worker answers in milliseconds; this long means the hall server is in trouble


class DeskTimeout(Exception):
    """The hall service did not answer in time (its worker is stuck or stopping)."""


class Desk:
    def __init__(self, service: HallService):
        self.service = service

    async def act(self, device: Device, action: str, rid: str, args: dict[str, Any]) -> dict[str, Any]:
        """The reply as a device would get it: {"id", "ok", "data"} or {"id", "ok": false, "error"}."""
        job = WebJob(device, action, encode({"id": rid, **args}))
        self.service.submit(job)
        try:
            payload = await asyncio.wait_for(asyncio.wrap_future(job.reply), ANSWER_S)
        except TimeoutError:
            raise DeskTimeout(f"{action} for {device.id}: no answer in {ANSWER_S:.0f} s") from None
        return json.loads(payload)

    async def read(self, fn: Callable[[Engine, float], T]) -> T:
        job = ViewJob(fn)
        self.service.submit(job)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(job.result), ANSWER_S)
        except TimeoutError:
            raise DeskTimeout(f"a read: no answer in {ANSWER_S:.0f} s") from None
