"""The part of the spool that follows a job the printer was sent whole, until it is printed (issue 13).

A printer reads only as fast as it prints, so the status query sent right after a ticket is
answered only once the printer has taken the ticket's bytes in: late, on a slow printer with
a 4 KB buffer, and never while it has stopped (out of paper) with the ticket inside. So:

- the answer is awaited printer.timing.answer_wait() (the job's print time at the profile's
  speed, twice, plus the usual 0.5 s); meanwhile the job is `printing`, the printer `ok`;
- silence is never a reason to send the job again. Past that wait the printer has stopped with
  the ticket inside: the job waits (reason `stopped`, the hall sees `offline`) until the printer
  answers again and prints it. Only losing the connection before the printer answered after the
  job (it may not have taken every byte) sends it again, whole;
- status the printer pushes by itself (ASB, Epson TM) tells why it stopped even while its buffer
  is full: `paper_out`, `cover_open`;
- once it answered, it has every byte: the job is stored `sent`, and is `printed` when the printer
  says ready after the job's print time (at least the time to print a full 4 KB buffer more).
  If the connection is lost now, the ticket is not sent again (it may have printed): `failed`.

The job's stored states: printing ─► sent ─► printed, and held (the printer stopped with it) ⇄
printing/sent while it is being followed; Spool._step does the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from printer import status as st
from printer import timing
from printer.link import Link, NoAnswer, PrinterUnavailable

if TYPE_CHECKING:
    from printer.job import JobHandle

log = logging.getLogger("motcua.printer")

ASK = st.DLE_EOT + bytes([st.PRINTER])
SLICE_S = 0.05          # how long one round of following a job waits for news
FOLLOW_POLL_S = 0.2     # status asked this often while the printer prints a job it has whole
RECEIVE_BUFFER = 4096   # Epson TM's receive buffer: what may still be unprinted when the printer took the last byte


@dataclass
class Flight:
    """A job whose bytes all went to the printer, until it is printed."""
    jid: int
    attempt: int
    size: int               # bytes
    started: float          # time.monotonic() of its first byte
    print_s: float          # how long it takes at the profile's speed (printer.timing)
    deadline: float         # no answer by then, and no reason pushed: the printer has stopped with it
    asked: bool = False     # the query behind the job was sent
    answered: bool = False  # it answered the query behind the job: it has taken every byte in
    trouble: str = ""       # why it stopped with the job inside: paper_out, cover_open, offline or stopped
    done_at: float = 0.0    # answered: printed when it says ready after this
    next_ask: float = 0.0


class FollowsJobs:
    """Mixed into printer.spool.Spool: the worker's rounds while a job is in flight."""

    # What the spool gives the rounds below, declared so they are checked against it (Spool sets them).
    printer_name: str
    speed_mm_s: float
    status_timeout_s: float
    poll_s: float
    _link: Link | None
    _flight: Flight | None
    _next_expire: float
    _stop: threading.Event

    if TYPE_CHECKING:   # the spool's own steps, as printer.spool.Spool defines them
        def handle(self, job_id: int) -> JobHandle: ...
        def _q(self, sql: str, args: tuple = ()) -> list[tuple]: ...
        def _store(self, jid: int, state: str, reason: str = "", attempts: int | None = None) -> None: ...
        def _finish(self, jid: int, state: str, reason: str, why: str, level: int = logging.INFO) -> None: ...
        def _change(self, h: JobHandle, state: str, reason: str = "", only_from: str | None = None) -> None: ...
        def _retry(self, jid: int, attempt: int, state: str) -> bool: ...
        def _expire(self) -> None: ...
        def _lost(self, err: PrinterUnavailable | None) -> None: ...
        def _report(self, state: str) -> None: ...

    def _in_flight(self) -> tuple[Flight, Link]:
        # The spool follows a job only while it has one, over the link it went by: losing the link
        # (_lost) ends the flight first, so both are there whenever a round runs.
        assert self._flight is not None and self._link is not None, "no job in flight"
        return self._flight, self._link

    def _follow(self) -> bool:
        """One round of waiting for the printer to take in and print the job in flight; never resends it
        because an answer is late (the answer waits behind the job's bytes), only if the connection is lost
        before the printer took them all."""
        f, link = self._in_flight()
        try:
            if not f.asked:             # the query behind the job: answered once the printer has taken it all
                f.asked = True
                self._poke(f, link, drop_late=True)
            if not f.answered:
                got = link.read_answer(SLICE_S)
                self._news(f, link.pushed())
                now = time.monotonic()
                if got is not None:
                    f.answered, f.next_ask = True, now
                    f.done_at = max(f.started + f.print_s, now + f.print_s * min(1.0, RECEIVE_BUFFER / f.size))
                    self._store(f.jid, "held" if f.trouble else "sent")
                elif now >= f.deadline and not f.trouble:
                    log.warning("%s: no answer %.1f s after a ticket of %d bytes (%.1f s to print at %g mm/s): it "
                                "has stopped with the ticket inside; not sending it again", self.printer_name,
                                now - f.started, f.size, f.print_s, self.speed_mm_s)
                    self._news(f, "offline", "stopped")
                elif now >= f.next_ask and f.trouble:
                    self._poke(f, link)   # a printer switched off and on resets the connection: this notices
            else:
                self._news(f, link.pushed())
                now = time.monotonic()
                if now < f.next_ask:
                    self._stop.wait(min(SLICE_S, f.next_ask - now))
                    return True
                try:
                    state, reason = st.query(link, self.status_timeout_s), None
                except NoAnswer:   # it has the whole job and went quiet: stopped with it, not lost
                    state, reason = "offline", "stopped"
                now, f.next_ask = time.monotonic(), time.monotonic() + FOLLOW_POLL_S
                self._news(f, state, reason)
                if state in ("ok", "paper_low") and now >= f.done_at:
                    self._flight = None
                    self._finish(f.jid, "printed", "", f"printed ({f.size} bytes, attempt {f.attempt}, "
                                 f"{now - f.started:.1f} s)")
        except PrinterUnavailable as err:
            self._flight = None
            self._lost(err)
            self._report("offline")
            if not f.answered:      # it may not have taken every byte: the whole ticket again
                return self._retry(f.jid, f.attempt, "offline")
            self._finish(f.jid, "failed", "lost", "the printer had the whole ticket, then the connection was lost "
                         "(switched off?): not sent again, as it may have printed; a clerk can reprint it")
            return False
        if time.monotonic() >= self._next_expire:
            self._next_expire = time.monotonic() + self.poll_s
            self._expire()
        return True

    def _news(self, f: Flight, state: str | None, reason: str | None = None) -> None:
        """What the printer says while it has the job: stopped with it (waiting, reason), or going again.

        `reason` is the job's when it is not the printer's state: "stopped" for a printer that went
        quiet with the ticket inside (the hall sees offline; the ticket still prints when it goes on).
        """
        if state is None:
            return
        self._report(state)
        if state in st.NOT_READY:
            reason = reason or state
            if f.trouble != reason:
                f.trouble = reason
                self._store(f.jid, "held", reason=reason)
                log.warning("ticket %s (job %d): the printer has it but stopped (%s); it prints once fixed",
                            self.handle(f.jid).ticket_id, f.jid,
                            "no answer" if reason == "stopped" else st.MESSAGES_EN[state])
                self._change(self.handle(f.jid), "waiting", reason)
                for (jid,) in self._q("SELECT id FROM jobs WHERE state='queued'"):
                    self._change(self.handle(jid), "waiting", state)
        elif f.trouble:
            now, f.trouble = time.monotonic(), ""
            f.deadline = now + timing.answer_wait(f.print_s, self.status_timeout_s)   # the rest, at most all
            f.done_at = max(f.done_at, now + f.print_s)
            self._store(f.jid, "sent" if f.answered else "printing")
            self._change(self.handle(f.jid), "printing")

    def _poke(self, f: Flight, link: Link, drop_late: bool = False) -> None:
        f.next_ask = time.monotonic() + self.poll_s
        try:
            link.send_request(ASK, drop_late=drop_late)
        except NoAnswer:
            pass            # our send buffer is full: the printer is not taking bytes now; its answer will tell

