"""The counter pad without its screen: the hall client and the thread that sends the ratings.

    b = PadBackend(dev, deliver=hand_to_ui, version=v).start()
    # deliver(kind, *args) on paho's or the sender's thread; on the UI thread then:
    #   config (Config), board (Board), connection (up, refused), rated (ticket_id, outcome)
    b.send(rate)                      # a kiosk.counter_pad.model.Rate; never blocks
    b.stop()

The pad subscribes to the retained config and board only: it never calls, it only shows what
the counter does (the clerk's keypad or handheld calls). A rating is sent on the sender's
thread with one request id, resent with that same id until the hall answers (the hall stores
the reply with the request, so a resend never rates twice) or RETRY_FOR_S passes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from hall.client import HallClient, RequestTimeout
from hall.device import DeviceConfig
from hall.protocol import Board, Config, ProtocolError, decode_message
from kiosk.counter_pad.model import Rate

log = logging.getLogger("motcua.counter_pad")

Deliver = Callable[..., None]
RETRY_FOR_S = 120.0     # a rating still unanswered after this is given up (logged); the citizen has gone


class PadBackend:
    def __init__(self, dev: DeviceConfig, deliver: Deliver, version: str = "", timeout: float = 2.0):
        self.dev, self.deliver, self.timeout = dev, deliver, timeout
        self.client = HallClient(dev, subscribe=["config", "board"], on_message=self._on_message,
                                 on_connection=self._on_connection, version=version)
        self._jobs: queue.SimpleQueue[Rate | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="pad-sender", daemon=True)

    def start(self) -> PadBackend:
        self._thread.start()
        self.client.start()
        return self

    def send(self, rate: Rate) -> None:
        self._jobs.put(rate)

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(self.timeout * 3 + 1)
        self.client.stop()

    # --- paho's thread ----------------------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        kind = self.client.topics.kind(topic)
        try:
            obj = decode_message(topic, payload)
        except ProtocolError as err:
            log.error("%s: unreadable message ignored: %s", topic, err)
            return
        if isinstance(obj, (Config, Board)):
            self.deliver(kind, obj)

    def _on_connection(self, up: bool) -> None:
        failure = self.client.failure
        self.deliver("connection", up, not up and failure is not None and failure.kind == "not_authorised")

    # --- the sender's thread ----------------------------------------------------------------
    def _run(self) -> None:
        while (rate := self._jobs.get()) is not None:
            self.deliver("rated", rate.ticket_id, self._rate(rate))

    def _rate(self, rate: Rate) -> str:
        """ok | already_rated | the hall's error code | timeout."""
        rid = self.client.new_id()           # one id for every resend: the hall rates once
        give_up = time.monotonic() + RETRY_FOR_S
        while True:
            try:
                reply = self.client.ask("rate", rate.args(), rid=rid, timeout=self.timeout, attempts=3)
            except RequestTimeout:
                if time.monotonic() >= give_up:
                    log.warning("rating of %s not answered in %.0f s: given up", rate.ticket_id, RETRY_FOR_S)
                    return "timeout"
                continue
            except ProtocolError as err:
                log.error("rating of %s: unreadable reply: %s", rate.ticket_id, err)
                return "bad_reply"
            except Exception:                # the UI must hear an outcome whatever happened
                log.exception("rating of %s failed", rate.ticket_id)
                return "failed"
            if reply.ok:
                log.info("ticket %s rated %s%s", rate.ticket_id, rate.score,
                         f" ({rate.reason})" if rate.reason else "")
                return "ok"
            code = reply.error.code if reply.error else "error"
            # already_rated: rated on the ticket page first, or our own earlier try landed. Not news.
            (log.info if code == "already_rated" else log.warning)("rating of %s refused: %s %s", rate.ticket_id,
                                                                   code, reply.error.message if reply.error else "")
            return code
