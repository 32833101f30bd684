"""Live updates for the pages: Server-Sent Events fed from the hall service's worker.

    live = Live(loop); service.watchers.append(live)
    feed = live.clerk_feed(staff_id)        # `counter` / `counters` / `call` / `alarms` events for one clerk's page
    feed = live.ticket_feed(ticket_id)      # `ticket` / `gone` events for one ticket's page
    await live.opened(feed, read_first_views)        # the feed before the read: see sse()
    StreamingResponse(sse(feed, dress, still_valid, drop), media_type="text/event-stream")

Why SSE and not WebSocket: the pages only listen (every action is a plain POST with its own
reply), EventSource reconnects by itself on the oldest phones' Chrome, and it is plain HTTP
through any proxy. The worker computes each page's view right after the board is published
(broker.web.views, a few µs per page) and hands it to the loop with call_soon_threadsafe; a
slow page only ever holds the latest view, never a backlog.
"""

from __future__ import annotations

import asyncio
import json
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from broker.web.views import counter_choices, counter_view, held_counter, ticket_view
from hall.protocol import Alarm, Board, Call

if TYPE_CHECKING:
    from broker.engine import Engine

KEEPALIVE_S = 15.0   # the pages call a stream dead after 35 s without a word
Message = tuple[str, dict[str, Any]]
VIEWS = ("counter", "counters")   # a clerk's page shows one of these at a time


class Feed:
    """One page's stream: the latest view of each kind, and every call, waiting to be sent."""

    def __init__(self, loop: asyncio.AbstractEventLoop, staff: int | None = None, ticket: str | None = None):
        self.loop, self.staff, self.ticket = loop, staff, ticket
        self.wake = asyncio.Event()
        self._latest: dict[str, dict[str, Any]] = {}
        self._calls: list[dict[str, Any]] = []
        self.sent: dict[str, dict[str, Any]] = {}

    def offer(self, message: Message) -> None:
        """From the worker's thread."""
        self.loop.call_soon_threadsafe(self.put, message)

    def put(self, message: Message) -> None:
        """On the loop: an offer, or a page's first view the moment it is read (a later offer replaces it)."""
        kind, data = message
        if kind == "call":
            self._calls.append(data)
        elif self.sent.get(kind) != data:
            self._latest[kind] = data
        else:
            self._latest.pop(kind, None)   # the page shows this already
        if self._latest or self._calls:
            self.wake.set()

    def take(self) -> list[Message]:
        self.wake.clear()
        out: list[Message] = [(k, d) for k, d in self._latest.items()]
        out += [("call", c) for c in self._calls]
        self._latest, self._calls = {}, []
        for k, d in out:
            if k in VIEWS:
                self.sent = {**{s: v for s, v in self.sent.items() if s not in VIEWS}, k: d}
            elif k != "call":
                self.sent[k] = d
        return out


class Live:
    """A broker.web_jobs.Watcher: the hall service's worker tells it of every board and call."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._lock = threading.Lock()
        # Weak: a page that goes away before its stream starts (Starlette cancels the response at the
        # disconnect, so sse() never runs and its `finally` never drops the feed) takes its feed with it.
        self._feeds: weakref.WeakSet[Feed] = weakref.WeakSet()

    def clerk_feed(self, staff: int) -> Feed:
        return self._add(Feed(self.loop, staff=staff))

    def ticket_feed(self, ticket: str) -> Feed:
        return self._add(Feed(self.loop, ticket=ticket))

    def _add(self, feed: Feed) -> Feed:
        with self._lock:
            self._feeds.add(feed)
        return feed

    async def opened(self, feed: Feed, first: Callable[[], Awaitable[list[Message] | None]]) -> bool:
        """Put a page's first messages in its feed, read only now that the feed exists, and each the
        moment it is read (see sse()). False, the feed dropped, when `first` finds nothing to show
        (a ticket of another day); an error in `first` drops it too."""
        try:
            messages = await first()
        except BaseException:
            self.drop(feed)
            raise
        if messages is None:
            self.drop(feed)
            return False
        for message in messages:
            feed.put(message)
        return True

    def drop(self, feed: Feed) -> None:
        with self._lock:
            self._feeds.discard(feed)

    @property
    def count(self) -> int:
        return len(self._feeds)

    # --- the worker's thread ----------------------------------------------------

    def on_board(self, board: Board, engine: Engine, now: float) -> None:
        with self._lock:
            feeds = list(self._feeds)
        if not feeds:
            return
        clerk_message: dict[int | None, Message] = {}
        for feed in feeds:
            if feed.ticket is not None:
                view = ticket_view(engine, feed.ticket, now)
                feed.offer(("ticket", view.to_dict()) if view else ("gone", {}))
                continue
            assert feed.staff is not None   # a feed is a ticket's or a clerk's
            held = held_counter(engine, feed.staff)
            if held not in clerk_message:
                clerk_message[held] = clerk_view(engine, held, now)
            feed.offer(clerk_message[held])

    def on_alarms(self, alarms: tuple[Alarm, ...]) -> None:
        with self._lock:
            feeds = [f for f in self._feeds if f.staff is not None]
        for feed in feeds:
            feed.offer(alarms_message(alarms))

    def on_call(self, call: Call, engine: Engine) -> None:
        data = {"ticket": call.ticket, "counter": call.counter, "service": call.service, "recall": call.recall,
                "at": call.at}
        with self._lock:
            feeds = [f for f in self._feeds if f.staff is not None]
        for feed in feeds:
            feed.offer(("call", data))


def clerk_view(engine: Engine, counter: int | None, now: float) -> Message:
    """What a clerk's page shows: the counter held, or the counters to choose from."""
    if counter is not None:
        return "counter", counter_view(engine, counter, now).to_dict()
    return "counters", {"counters": [c.to_dict() for c in counter_choices(engine)]}


def alarms_message(alarms: tuple[Alarm, ...]) -> Message:
    """What the hall server warns its clerks of (broker/alarms.py): shown in a band until it is over."""
    return "alarms", {"alarms": [{"code": a.code, "message": a.message} for a in alarms]}


def event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def sse(feed: Feed, dress: Callable[[Message], Message],
              still: Callable[[], Awaitable[bool]], drop: Callable[[Feed], None]) -> AsyncIterator[str]:
    """The event stream: what the feed holds at once, then whatever the worker offers; a keepalive
    every KEEPALIVE_S; `ended` when `still()` says the page's session or ticket is gone.

    The feed is made before the page's first view is read, and that view put in as soon as it is
    read (Live.opened). Read first and subscribed after, a change between the two (a clerk finishing the
    ticket while the phone connects) reached neither: the page waited on the old state until its
    next reconnect. Put in only here, when the stream starts, the first view would overwrite a
    newer offer that came meanwhile."""
    try:
        # EventSource reconnects after `retry` ms when the stream drops (the hall server restarting).
        yield "retry: 2000\n\n"
        while True:
            for kind, data in feed.take():
                yield event(*dress((kind, data)))
            try:
                await asyncio.wait_for(feed.wake.wait(), KEEPALIVE_S)
            except TimeoutError:
                if not await still():
                    yield event("ended", {})
                    return
                # An event, not an SSE comment: a page never sees comments, and it counts the silence.
                yield event("keepalive", {})
    finally:
        drop(feed)
