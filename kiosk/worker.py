"""What must never run on the UI thread: take-ticket requests and printing.

    w = Worker(client, printer, config=lambda: model.config, deliver=hand_to_ui).start()
    w.submit(TakeTicket(rid, "ho-tich", None, now))
    # deliver("reply", rid, reply) | deliver("timeout", rid) | deliver("print", ticket_id, state, reason)
    w.stop()

`reply` is a hall.payloads.Reply (its data a TicketIssued), or None when the hall answered in a
shape this kiosk cannot read. One thread sends the requests in order (HallClient resends with
the same id on timeout, so the hall never issues two tickets for one tap). Each spooled ticket's paper copy
is then followed through its job's callback (JobHandle.on_change, called by the spool as the
job changes): printed, waiting for paper, failed; so a printer out of paper never holds up
the next citizen's number, and no thread waits per ticket. `deliver` is called on the
worker's, the spool's or paho's thread; the Kivy app hands it on with Clock.schedule_once.

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
from collections.abc import Callable

from hall.client import RequestTimeout, read_reply
from hall.protocol import ProtocolError, Reply, TicketIssued
from kiosk.model import TakeTicket
from printer.job import DECIDED, FINAL, JobHandle

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

    def start(self) -> Worker:
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
                raw = self.client.request("take-ticket", args, rid=cmd.rid, timeout=self.timeout,
                                          attempts=self.attempts)
            except RequestTimeout:
                self.deliver("timeout", cmd.rid)
                continue
            except Exception:           # the UI must never wait for an answer that will not come
                log.exception("take-ticket %s failed", cmd.rid)
                self.deliver("timeout", cmd.rid)
                continue
            # What HallClient.ask does (request, then read_reply), in two steps so that the worker needs
            # of its client only the wire-level request(): the model's tests stand a fake client in for it.
            reply: Reply | None
            try:
                reply = read_reply("take-ticket", raw)
            except ProtocolError as err:    # the hall answered: say "not issued", not "no connection"
                log.error("take-ticket %s: unreadable reply, nothing shown or printed: %s", cmd.rid, err)
                reply = None
            self._shown.clear()
            self.deliver("reply", cmd.rid, reply)
            if reply is not None and reply.ok and isinstance(reply.data, TicketIssued) and self.printer is not None:
                if self.gate_s:
                    self._shown.wait(self.gate_s)
                self._print(reply.data)

    def _print(self, issued: TicketIssued) -> None:
        ticket_id = issued.ticket_id
        try:
            job = self.printer.print_ticket(issued, self.config())
        except Exception as err:        # a layout or spool error: the number is on screen anyway
            log.exception("ticket %s could not be spooled", ticket_id)
            self.deliver("print", ticket_id, "failed", str(err))
            return
        watch = PaperWatch(self.deliver, time.monotonic() + self.watch_s)
        job.on_change(watch.changed)
        watch.changed(job)              # what happened before it was watched


class PaperWatch:
    """Tells the UI how one ticket's paper copy goes, until it is printed or failed (or the deadline)."""

    def __init__(self, deliver: Deliver, deadline: float):
        self.deliver, self.deadline = deliver, deadline
        self.seen = ("printing", "")    # not news: the screen says "printing" until it hears otherwise
        self.done = False
        self._lock = threading.Lock()   # the spool's thread and the worker's may both report

    def changed(self, job: JobHandle) -> None:
        with self._lock:
            if self.done or time.monotonic() >= self.deadline:
                self.done = True
                return
            state = (job.state, job.reason)
            # Once waiting (no paper), every change is news: printing again (the printer holding the
            # ticket goes on once paper is in: issue 13), another reason, the outcome.
            if state != self.seen and (state[0] in DECIDED or self.seen[0] == "waiting"):
                self.seen = state
                self.deliver("print", job.ticket_id, *state)
            self.done = state[0] in FINAL
