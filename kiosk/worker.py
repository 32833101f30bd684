"""What must never run on the UI thread: take-ticket requests and printing.

    w = Worker(client, printer, config=lambda: model.config, deliver=hand_to_ui).start()
    w.submit(TakeTicket(rid, "ho-tich", None, now))
    # deliver("reply", rid, reply) | deliver("timeout", rid) | deliver("print", ticket_id, state, reason)
    w.stop()

One thread sends the requests in order (HallClient.request resends with the same id on
timeout, so the hall never issues two tickets for one tap). Each printed ticket is then
watched by a short-lived thread until its paper copy is decided — printed, waiting for
paper, failed — so a printer out of paper never holds up the next citizen's number.
`deliver` is called on those threads; the Kivy app hands it on with Clock.schedule_once.

Laying a ticket out (Pillow) takes the GIL for ~100 ms on the worker's thread; done at once,
it would hold back the frame that shows the number by as much. So with `gate_s` the worker
waits, after delivering a reply, until the UI calls `shown()` (the number is on screen) or
gate_s passes, and lays the ticket out then: the screen first, the paper a frame later.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable

from hall.client import RequestTimeout
from kiosk.model import TakeTicket
from printer.job import DECIDED, FINAL

log = logging.getLogger("motcua.kiosk")

Deliver = Callable[..., None]


class Worker:
    def __init__(self, client, printer, config: Callable[[], dict | None], deliver: Deliver, *,
                 timeout: float = 2.0, attempts: int = 3, watch_s: float = 90.0, gate_s: float = 0.0):
        self.client, self.printer, self.config, self.deliver = client, printer, config, deliver
        self.timeout, self.attempts, self.watch_s, self.gate_s = timeout, attempts, watch_s, gate_s
        self._shown = threading.Event()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="kiosk-worker", daemon=True)

    def start(self) -> "Worker":
        self._thread.start()
        return self

    def submit(self, cmd: TakeTicket) -> None:
        self._jobs.put(cmd)

    def shown(self) -> None:
        """The UI drew the ticket just delivered: printing may take the CPU now."""
        self._shown.set()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(self.timeout * self.attempts + 1)

    def _run(self) -> None:
        while (cmd := self._jobs.get()) is not None:
            args = {"service": cmd.service, **({"priority": cmd.priority} if cmd.priority else {})}
            try:
                reply = self.client.request("take-ticket", args, rid=cmd.rid, timeout=self.timeout,
                                            attempts=self.attempts)
            except RequestTimeout:
                self.deliver("timeout", cmd.rid)
                continue
            except Exception:           # the UI must never wait for an answer that will not come
                log.exception("take-ticket %s failed", cmd.rid)
                self.deliver("timeout", cmd.rid)
                continue
            self._shown.clear()
            self.deliver("reply", cmd.rid, reply)
            if reply.get("ok") and self.printer is not None:
                if self.gate_s:
                    self._shown.wait(self.gate_s)
                self._print(reply["data"])

    def _print(self, data: dict) -> None:
        ticket_id = data["ticket_id"]
        try:
            job = self.printer.print_ticket(data, self.config())
        except Exception as err:        # a layout or spool error: the number is on screen anyway
            log.exception("ticket %s could not be spooled", ticket_id)
            self.deliver("print", ticket_id, "failed", str(err))
            return
        threading.Thread(target=self._watch, args=(job,), name=f"print-{data['ticket']}", daemon=True).start()

    def _watch(self, job) -> None:
        """Report each change of the paper copy's state until it is printed or failed (or watch_s)."""
        deadline = time.monotonic() + self.watch_s
        seen = ("printing", "")
        while time.monotonic() < deadline:
            # Once waiting (no paper), wait for the outcome or for printing again (the printer holding the
            # ticket goes on once paper is in: issue 13); a second a round, to see a new reason too.
            waiting = seen[0] == "waiting"
            job.wait(min(1.0, deadline - time.monotonic()), until=("printing", *FINAL) if waiting else DECIDED)
            state = (job.state, job.reason)
            if state != seen and (state[0] in DECIDED or waiting):
                seen = state
                self.deliver("print", job.ticket_id, *state)
            if state[0] in FINAL:
                return
