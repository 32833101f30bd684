"""The kiosk's durable print queue: a ticket the hall issued gets printed, once, even across a power cut.

    spool = Spool.for_printer("printer-spool.db", cfg,     # = Spool(path, lambda: link_for(cfg), max_age_s=…)
                              on_status=lambda s: client.set_status(Status("online", "kiosk", v, s)))
    job = spool.submit("20261125-1023", "1023", data, image_png)   # stored durably, returns at once
    job.wait(2.0)        # "printed" | "waiting" (printer not ready; job.reason says why) | "failed"
    job.on_change(fn)    # fn(job) after each change, on the spool's thread: how the kiosk follows it
    spool.reprint("20261125-1023")                                  # a new job, flagged reprint
    spool.close()

A job is self-contained: the ESC/POS bytes of one whole ticket (ending with its cut) plus
its ticket id, label and PNG (for the preview printer). Stored states:

    queued ─► printing ─► sent ─► printed    (whole write; the printer answered after the job's bytes, so
                 │    │     ⇅                 it has them all; it says ready after the job's print time)
                 │    └─► held ─► printed    (it stopped with the job inside: paper out, cover open, quiet;
                 │                            it prints the ticket itself once fixed)
                 └─► queued                  (the write failed, or the connection was lost before the
                                              printer answered after the job: it may not have it all)
    queued ─► failed                         (older than max_age_s, or max_attempts sends failed)
    sent/held ─► failed                      (the connection was lost after the printer had it all)

A late status answer never sends a job again: the answer waits behind the job's bytes in the
printer (printer.flight, printer.timing). `printing` is stored (fsync) before the first byte;
a job found `printing` at start is sent again, whole (a partial ticket has no cut), one found
`sent` or `held` is not. So a ticket prints twice only if the kiosk died in the moment between
the printer taking the last byte and its answer; otherwise only reprint() prints again.
docs/printers.md explains the choices.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hall import store
from printer import status as st
from printer import timing
from printer.config import MAX_AGE_S
from printer.flight import Flight, FollowsJobs
from printer.job import DECIDED, FINAL, JobHandle
from printer.link import Link, NoAnswer, PrinterUnavailable
from printer.profiles import DEFAULT_SPEED_MM_S, load_profile
from printer.transports import link_for

log = logging.getLogger("motcua.printer")


# Numbered schema steps (hall.store): never edit a released one, add a new one at the end.
MIGRATIONS = [
    store.Step("jobs, meta", (
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL, label TEXT NOT NULL,
            data BLOB NOT NULL, image_png BLOB, reprint INTEGER NOT NULL DEFAULT 0,
            created REAL NOT NULL, state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,
            reason TEXT NOT NULL DEFAULT '', done_at REAL)""",
        "CREATE UNIQUE INDEX jobs_one_original ON jobs(ticket_id) WHERE reprint = 0",
        "CREATE INDEX jobs_state ON jobs(state)",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )),
]


class Spool(FollowsJobs):
    """The queue and its worker thread; safe to call from any thread (the kiosk's UI thread included)."""

    def __init__(self, path: str, printer_factory: Callable[[], Link], *, max_age_s: float = MAX_AGE_S,
                 poll_s: float = 2.0, status_timeout_s: float = st.STATUS_TIMEOUT_S, status_query: str = "auto",
                 max_attempts: int = 5, keep_s: float = 2 * 86400, speed_mm_s: float = DEFAULT_SPEED_MM_S,
                 dpi: int = 203, on_status: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.time, start: bool = True):
        self.factory, self.max_age_s, self.poll_s = printer_factory, max_age_s, poll_s
        self.speed_mm_s, self.dpi = speed_mm_s, dpi   # the profile's: how long a job takes (printer.timing)
        self.status_timeout_s, self.status_query, self.max_attempts = status_timeout_s, status_query, max_attempts
        self.on_status, self.clock = on_status, clock
        self.printer_state: str | None = None   # as published: one of status.STATES
        self.status_known = False               # False while the printer's answers are unknown
        self.last_error: PrinterUnavailable | None = None
        self.printer_name = "printer"           # the Link's name, once one was made
        self._link: Link | None = None
        self._silent = False                    # this connection never answered DLE EOT: stop asking it
        self._flight: Flight | None = None     # the job the printer has been sent and not yet printed
        self._next_expire = 0.0
        self._handles: dict[int, JobHandle] = {}
        self._lock = threading.RLock()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self.db = store.connect(path)             # a stored job survives a power cut
        store.migrate(self.db, MIGRATIONS, self._lock)
        with self._tx():
            for jid, ticket in self.db.execute("SELECT id, ticket_id FROM jobs WHERE state='printing'"):
                log.warning("ticket %s (job %d) was being sent when the kiosk stopped: sending it again "
                            "whole (if the printer had finished it, it prints twice)", ticket, jid)
            self.db.execute("UPDATE jobs SET state='queued' WHERE state='printing'")
            self.db.execute("DELETE FROM jobs WHERE state IN ('printed','failed') AND done_at < ?",
                            (self.clock() - keep_s,))
        self._worker = threading.Thread(target=self._run, name="printer-spool", daemon=True)
        if start:
            self._worker.start()

    @classmethod
    def for_printer(cls, path: str, cfg, **kw) -> Spool:
        """A spool for a checked [printer] (printer.config.PrinterConfig), with its timings."""
        profile = load_profile(cfg.model, cfg.width)
        kw = {"max_age_s": cfg.max_age_s, "poll_s": cfg.status_poll_s, "status_query": cfg.status_query,
              "speed_mm_s": profile.speed_mm_s, "dpi": profile.dpi, **kw}
        return cls(path, lambda: link_for(cfg), **kw)

    # --- the caller's side (any thread) ------------------------------------------

    def submit(self, ticket_id: str, label: str, data: bytes, image_png: bytes | None = None) -> JobHandle:
        """Store a job durably and return its handle at once; a second submit of a ticket returns the first."""
        with self._tx():
            row = self.db.execute("SELECT id FROM jobs WHERE ticket_id=? AND reprint=0", (ticket_id,)).fetchone()
            if row is None:
                row = (self.db.execute("INSERT INTO jobs (ticket_id, label, data, image_png, created) "
                                       "VALUES (?,?,?,?,?)", (ticket_id, label, data, image_png,
                                                              self.clock())).lastrowid,)
        return self._announce(self.handle(row[0]))

    def reprint(self, ticket_id: str) -> JobHandle:
        """Print a ticket again (a new job, flagged reprint); a copy not yet printed is returned instead."""
        with self._tx():
            row = self.db.execute("SELECT id, state FROM jobs WHERE ticket_id=? ORDER BY id DESC LIMIT 1",
                                  (ticket_id,)).fetchone()
            if row is None:
                raise KeyError(f"no print job for ticket {ticket_id!r} on this kiosk")
            if row[1] in ("printed", "failed"):
                row = (self.db.execute("INSERT INTO jobs (ticket_id, label, data, image_png, created, reprint) "
                                       "SELECT ticket_id, label, data, image_png, ?, 1 FROM jobs WHERE id=?",
                                       (self.clock(), row[0])).lastrowid,)
        log.info("ticket %s: reprint requested (job %d)", ticket_id, row[0])
        return self._announce(self.handle(row[0]))

    def handle(self, job_id: int) -> JobHandle:
        """The handle of a job (the same object for as long as the job is not finished)."""
        with self._lock:
            if job_id not in self._handles:
                ticket, label, reprint, state, reason = self.db.execute(
                    "SELECT ticket_id, label, reprint, state, reason FROM jobs WHERE id=?", (job_id,)).fetchone()
                shown = {"held": "waiting", "sent": "printing"}.get(state, state)
                self._handles[job_id] = JobHandle(job_id, ticket, label, bool(reprint), shown, reason)
            return self._handles[job_id]

    def jobs(self, *states: str) -> list[dict]:
        """Stored jobs (without their bytes), oldest first; all of them when no state is given."""
        sql = "SELECT id, ticket_id, label, reprint, created, state, attempts, reason, done_at FROM jobs"
        rows = self._q(sql + (f" WHERE state IN ({','.join('?' * len(states))})" if states else "")
                       + " ORDER BY id", states)
        keys = ("id", "ticket_id", "label", "reprint", "created", "state", "attempts", "reason", "done_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def close(self, timeout: float = 15) -> None:
        """Stop the worker (a job being sent is finished first, up to `timeout`) and close the database."""
        if self._stop.is_set():
            return
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if self._worker.is_alive():
            self._worker.join(timeout)
        if self._link:
            self._link.close()
        self.db.close()

    def _announce(self, h: JobHandle) -> JobHandle:
        # Tell the caller at once when the printer is known not to be ready; the worker checks again now.
        state = self.printer_state
        if state in st.NOT_READY:
            self._change(h, "waiting", state, only_from="queued")
        with self._wake:
            self._wake.notify_all()
        return h

    def _tx(self):
        # One connection serves the caller's thread and the worker: a transaction holds the lock.
        return store.transaction(self.db, self._lock)

    def _q(self, sql: str, args: tuple = ()) -> list[tuple]:
        # One connection serves the caller's thread and the worker: every use holds the lock.
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    # --- the worker --------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self._step()
            except Exception:  # a bug must not kill the spool: log it, wait, try again
                log.exception("printer spool: unexpected error")
                busy = False
            if not busy:
                with self._wake:
                    self._wake.wait(self.poll_s)

    def _step(self) -> bool:
        """One round: ask the status, drop old jobs, send the oldest job. True if there may be more to do."""
        if self._flight is not None:
            return self._follow()
        state = self._probe()
        # After the probe, not before: reaching a printer that was away can take up to timeout_s, and
        # a job that got too old meanwhile must be dropped, not printed for a citizen long gone.
        self._expire()
        if state in ("ok", "paper_low", st.UNKNOWN):
            # Left from before a restart: the printer had every byte of these (it answered after them).
            for (jid,) in self._q("SELECT id FROM jobs WHERE state IN ('held', 'sent')"):
                self._finish(jid, "printed", "", "the printer printed the ticket it held")
        rows = self._q("SELECT id, data, image_png, attempts FROM jobs WHERE state='queued' ORDER BY id LIMIT 1")
        if not rows:
            return False
        if state in st.NOT_READY:
            for (jid,) in self._q("SELECT id FROM jobs WHERE state='queued'"):
                self._change(self.handle(jid), "waiting", state)
            return False
        link = self._link
        assert link is not None   # _probe left it open: a printer it could not reach is "offline", NOT_READY
        jid, data, image_png, attempts = rows[0]
        h = self.handle(jid)
        self._store(jid, "printing", attempts=attempts + 1)
        self._change(h, "printing")
        started = time.monotonic()
        try:
            link.pushed()                   # status pushed before this job is no news about it
            link.write(data, label=f"{h.ticket_id}-{jid}", image_png=image_png)
        except PrinterUnavailable as err:   # not every byte went: the ticket is incomplete, send it whole again
            self._lost(err)
            self._report("offline")
            return self._retry(jid, attempts + 1, "offline")
        if state == st.UNKNOWN or link.AT_ONCE:
            # Nothing to wait for: a printer that cannot tell, or a preview that has written its files.
            self._finish(jid, "printed", "", f"printed ({len(data)} bytes, attempt {attempts + 1})")
            return True
        print_s = timing.print_seconds(data, self.dpi, self.speed_mm_s)
        self._flight = Flight(jid, attempts + 1, len(data), started, print_s,
                              deadline=started + timing.answer_wait(print_s, self.status_timeout_s))
        return self._follow()

    def _retry(self, jid: int, attempt: int, state: str) -> bool:
        if attempt >= self.max_attempts:
            self._finish(jid, "failed", f"not printed after {attempt} attempts", f"giving up after {attempt} attempts")
        else:
            self._store(jid, "queued")
            self._change(self.handle(jid), "waiting", state)
        return False

    def _store(self, jid: int, state: str, reason: str = "", attempts: int | None = None) -> None:
        with self._tx():
            if attempts is None:
                self.db.execute("UPDATE jobs SET state=?, reason=? WHERE id=?", (state, reason, jid))
            else:
                self.db.execute("UPDATE jobs SET state=?, reason=?, attempts=? WHERE id=?",
                                (state, reason, attempts, jid))

    def _expire(self) -> None:
        limit = self.clock() - self.max_age_s
        for jid, label, created in self._q("SELECT id, label, created FROM jobs WHERE state='queued' "
                                           "AND created < ?", (limit,)):
            self._finish(jid, "failed", "too old",
                         f"dropped: not printed {self.clock() - created:.0f} s after it was issued "
                         f"(max_age_s {self.max_age_s:g}); the citizen saw number {label} on screen", logging.WARNING)

    def _finish(self, jid: int, state: str, reason: str, why: str, level: int = logging.INFO) -> None:
        with self._tx():
            self.db.execute("UPDATE jobs SET state=?, reason=?, done_at=? WHERE id=?",
                            (state, reason, self.clock(), jid))
        h = self.handle(jid)
        log.log(level if state == "printed" else max(level, logging.WARNING), "ticket %s (job %d%s): %s",
                h.ticket_id, jid, ", reprint" if h.reprint else "", why)
        self._change(h, state, reason)
        with self._lock:
            self._handles.pop(jid, None)

    def _change(self, h: JobHandle, state: str, reason: str = "", only_from: str | None = None) -> None:
        h._set(state, reason, only_from)   # the job's listeners (JobHandle.on_change) hear of it

    # --- talking to the printer ---------------------------------------------------

    def _probe(self) -> str:
        """The printer's state before a job; reconnects once when an idle connection went stale."""
        for attempt in (1, 2):
            current = self._link
            reused = current is not None and current.is_open
            try:
                if current is None or not current.is_open:
                    made = self.factory()
                    self.printer_name = made.name
                    current = self._link = made.open()
                    self._silent = False
                state = self._ask(current)
            except PrinterUnavailable as err:
                self._lost(err)
                if reused and attempt == 1:
                    continue
                state = "offline"
            break
        self._report(state)
        return state

    def _ask(self, link: Link) -> str:
        if self.status_query == "never" or self._silent:
            return st.UNKNOWN
        try:
            state = st.query(link, self.status_timeout_s)
        except NoAnswer as exc:
            if self.status_query == "always" or self._meta("answers") == link.name:
                log.warning("%s; treating it as offline", exc)
                self._lost(None)
                return "offline"
            log.info("%s; printing without status", exc)
            self._silent = True
            return st.UNKNOWN
        if state != st.UNKNOWN and self._meta("answers") != link.name:
            with self._tx():  # remembered: from now on, silence from this printer means trouble
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('answers', ?)", (link.name,))
        return state

    def _lost(self, err: PrinterUnavailable | None) -> None:
        if err is not None:
            if str(err) != str(self.last_error):
                log.warning("%s", err)
            self.last_error = err
        if self._link:
            self._link.close()
        self._link = None

    def _meta(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def _report(self, state: str) -> None:
        self.status_known = state != st.UNKNOWN
        # Contract v1 has no "unknown": a printer that cannot tell, but took the connection, is reported ok.
        published = "ok" if state == st.UNKNOWN else state
        if state != "offline":
            self.last_error = None
        if published != self.printer_state:
            log.log(logging.INFO if published in ("ok", "paper_low") else logging.WARNING, "%s: %s",
                    self.printer_name, st.MESSAGES_EN[state])
            self.printer_state = published
            if self.on_status:
                self.on_status(published)


__all__ = ["Spool", "JobHandle", "DECIDED", "FINAL"]
