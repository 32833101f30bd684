"""The hall's durable memory: SQLite in WAL mode with synchronous=FULL (opened through hall.store).

    ledger = Ledger(data_dir / "hall.db")        # migrates on open
    reply = ledger.stored_reply("kiosk-1", "r1")  # a retried request gets this again
    ledger.store(batch, board_seq=7, call_seq=3)  # one durable transaction per batch

Tickets and counters hold the current state; `events` is the append-only log
every report is computed from (triggers refuse UPDATE and DELETE on it).
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from dataclasses import dataclass, fields
from pathlib import Path

import sqlite_utils

from broker.model import CounterState, Device, Event, Outcome, Ticket
from hall import store
from hall.protocol import Call

# Numbered schema steps (hall.store): never edit a released one, add a new one at the end.
MIGRATIONS: list[store.Step] = [
    store.Step("tickets, counters, devices, requests, events", (
        """CREATE TABLE tickets (
            id TEXT PRIMARY KEY, day TEXT NOT NULL, service TEXT NOT NULL, number INTEGER NOT NULL,
            label TEXT NOT NULL, priority TEXT, issued_at REAL NOT NULL, seq INTEGER NOT NULL,
            device TEXT NOT NULL, line TEXT NOT NULL, pinned INTEGER, state TEXT NOT NULL,
            counter INTEGER, called_at REAL, serving_at REAL, finished_at REAL,
            calls INTEGER NOT NULL DEFAULT 0, rating INTEGER,
            UNIQUE (day, service, number))""",
        "CREATE INDEX tickets_day_state ON tickets (day, state)",
        "CREATE INDEX tickets_finished ON tickets (state, finished_at)",
        """CREATE TABLE counters (id INTEGER PRIMARY KEY, paused INTEGER NOT NULL,
            current TEXT, ordinary_run INTEGER NOT NULL)""",
        """CREATE TABLE devices (id TEXT PRIMARY KEY, role TEXT NOT NULL, counter INTEGER,
            password_hash TEXT NOT NULL, created_at REAL NOT NULL, status TEXT, status_at REAL)""",
        """CREATE TABLE requests (device TEXT NOT NULL, id TEXT NOT NULL, action TEXT NOT NULL,
            at REAL NOT NULL, reply TEXT NOT NULL, PRIMARY KEY (device, id)) WITHOUT ROWID""",
        "CREATE INDEX requests_at ON requests (at)",
        """CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,
            day TEXT NOT NULL, kind TEXT NOT NULL, ticket TEXT, service TEXT, counter INTEGER,
            device TEXT NOT NULL, data TEXT)""",
        "CREATE INDEX events_ticket ON events (ticket)",
        "CREATE INDEX events_day ON events (day, kind)",
        """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
        """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    )),
    # The clerks of the web pages (broker.staff ids): who acted (events), who last called a ticket
    # (tickets: a rating is the clerk's), who holds a counter (counters). NULL: a device, the hall.
    store.Step("staff ids on events, tickets and counters", (
        "ALTER TABLE events ADD COLUMN staff INTEGER",
        "ALTER TABLE tickets ADD COLUMN staff INTEGER",
        "ALTER TABLE counters ADD COLUMN staff INTEGER",
    )),
]

_TICKET_COLS = [f.name for f in fields(Ticket)]
# A ticket row is written once when issued and then only updated: never INSERT OR REPLACE, which
# would silently put a second citizen's ticket over the first one's if a number were issued twice.
_INSERT_TICKET = (f"INSERT INTO tickets ({', '.join(_TICKET_COLS)}) "
                  f"VALUES ({', '.join('?' for _ in _TICKET_COLS)})")
_UPDATE_TICKET = (f"UPDATE tickets SET {', '.join(f'{k} = ?' for k in _TICKET_COLS[1:])} WHERE id = ?")


def storage_failure(exc: BaseException) -> str | None:
    """'disk_full' (the disk, or the database's size limit) or 'read_only' when a write failed
    because of the storage, else None."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code == sqlite3.SQLITE_FULL or "full" in str(exc):
            return "disk_full"
        if code == sqlite3.SQLITE_READONLY or "readonly" in str(exc):
            return "read_only"
        return None
    if isinstance(exc, OSError):
        return {errno.ENOSPC: "disk_full", errno.EROFS: "read_only"}.get(exc.errno or 0)
    return None


def is_disk_full(exc: BaseException) -> bool:
    """True when a write failed because the disk (or the database's size limit) is full."""
    return storage_failure(exc) == "disk_full"


def free_bytes(folder: str | Path) -> int:
    """Space left for an ordinary user on the file system of `folder`."""
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


# Below this SQLite cannot even open the ledger (its -shm index alone takes 32 KiB).
LOW_SPACE = 256 * 1024


def _adopt_migrations_table(conn: sqlite3.Connection) -> None:
    """Ledgers made before hall.store kept their steps in a `_migrations` table (ids 1…n): take its count."""
    if store.version(conn) or not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").fetchone():
        return
    with store.transaction(conn):
        done = conn.execute("SELECT coalesce(max(id), 0) FROM _migrations").fetchone()[0]
        conn.execute(f"PRAGMA user_version = {int(done)}")
        conn.execute("DROP TABLE _migrations")


@dataclass
class Stored:
    """One handled request to store with its reply."""
    device: str
    id: str
    action: str
    at: float
    reply: bytes


class Ledger:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            # It holds the devices' password hashes. Made private before SQLite creates its -wal and
            # -shm files, which take this file's mode.
            self.path.touch(0o600)
            os.chmod(self.path, 0o600)
        conn = store.connect(self.path, busy_timeout_s=10)
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        self.conn = conn
        # No automatic checkpoint inside a commit (it made every ~64th reply 1 ms slower);
        # the service calls checkpoint() when it is idle.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        self.migrate()

    def close(self) -> None:
        self.conn.close()

    def writing(self):
        """A write transaction that takes the write lock first (BEGIN IMMEDIATE; hall.store says why)."""
        return store.transaction(self.conn)

    # --- schema -------------------------------------------------------------

    def migrate(self) -> None:
        _adopt_migrations_table(self.conn)
        store.migrate(self.conn, MIGRATIONS)

    # --- requests -----------------------------------------------------------

    def stored_reply(self, device: str, rid: str) -> bytes | None:
        row = self.conn.execute("SELECT reply FROM requests WHERE device = ? AND id = ?",
                                (device, rid)).fetchone()
        return row[0].encode() if row else None

    def store(self, outcomes: list[Outcome], requests: list[Stored], meta: dict[str, int], day: str) -> None:
        """Write a batch of changes and their replies in one durable transaction."""
        tickets: dict[str, Ticket] = {}
        counters: dict[int, CounterState] = {}
        events: list[Event] = []
        for out in outcomes:
            tickets.update(out.tickets)
            counters.update(out.counters)
            events.extend(out.events)
        issued = {e.ticket for e in events if e.kind == "issued"}
        new = [tuple(getattr(t, k) for k in _TICKET_COLS) for t in tickets.values() if t.id in issued]
        changed = [(*(getattr(t, k) for k in _TICKET_COLS[1:]), t.id)
                   for t in tickets.values() if t.id not in issued]
        c = self.conn
        with self.writing():
            c.executemany(_INSERT_TICKET, new)
            if changed and c.executemany(_UPDATE_TICKET, changed).rowcount != len(changed):
                raise sqlite3.IntegrityError("a changed ticket is not in the ledger")
            c.executemany("INSERT OR REPLACE INTO counters (id, paused, current, ordinary_run, staff) "
                          "VALUES (?, ?, ?, ?, ?)",
                          [(k.id, int(k.paused), k.current, k.ordinary_run, k.staff) for k in counters.values()])
            c.executemany(
                "INSERT INTO events (at, day, kind, ticket, service, counter, device, data, staff) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.at, tickets[e.ticket].day if e.ticket in tickets else day,
                  e.kind, e.ticket, e.service, e.counter, e.device,
                  json.dumps(e.data, ensure_ascii=False) if e.data else None, e.staff) for e in events])
            c.executemany("INSERT INTO requests VALUES (?, ?, ?, ?, ?)",
                          [(r.device, r.id, r.action, r.at, r.reply.decode()) for r in requests])
            c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))

    def checkpoint(self) -> None:
        """Copy the WAL back into the database file (PASSIVE: never waits for readers)."""
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def prune_requests(self, before: float) -> int:
        """Forget stored replies older than `before`: no device retries that long."""
        with self.writing():
            return self.conn.execute("DELETE FROM requests WHERE at < ?", (before,)).rowcount

    # --- restoring state ----------------------------------------------------

    def meta(self, key: str, default: int = 0) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def day_reached(self) -> str:
        """The furthest service day the hall has been on (ISO date), '' for a new hall."""
        n = self.meta("day")
        return f"{n // 10000:04d}-{n // 100 % 100:02d}-{n % 100:02d}" if n else ""

    @staticmethod
    def day_number(day: str) -> int:
        """`day` (ISO date) as `meta` keeps it under "day": 20261225."""
        return int(day.replace("-", ""))

    def set_meta(self, key: str, value: int) -> None:
        with self.writing():
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def tickets(self, day: str) -> list[Ticket]:
        cur = self.conn.execute(f"SELECT {', '.join(_TICKET_COLS)} FROM tickets WHERE day = ? ORDER BY seq",
                                (day,))
        return [Ticket(*row) for row in cur]

    def open_tickets_before(self, day: str) -> list[Ticket]:
        cur = self.conn.execute(f"SELECT {', '.join(_TICKET_COLS)} FROM tickets WHERE day < ? "
                                "AND state IN ('waiting', 'called', 'serving')", (day,))
        return [Ticket(*row) for row in cur]

    def counters(self) -> list[CounterState]:
        return [CounterState(i, bool(p), cur, run, staff) for i, p, cur, run, staff in
                self.conn.execute("SELECT id, paused, current, ordinary_run, staff FROM counters")]

    def recent_calls(self, day: str, limit: int = 10, after: int = 0) -> list[Call]:
        """The day's last `limit` calls (-1: all) with a call seq above `after`, oldest first."""
        rows = self.conn.execute(
            "SELECT e.data, t.label, e.ticket, e.counter, e.service, e.kind, e.at, t.priority "
            "FROM events e JOIN tickets t ON t.id = e.ticket "
            "WHERE e.day = ? AND e.kind IN ('called', 'recalled') AND json_extract(e.data, '$.call_seq') > ? "
            "ORDER BY e.id DESC LIMIT ?", (day, after, limit)).fetchall()
        return [Call(json.loads(d)["call_seq"], label, tid, counter, service, kind == "recalled", at, prio)
                for d, label, tid, counter, service, kind, at, prio in reversed(rows)]

    def service_samples(self, per_service: int = 20) -> dict[str, list[float]]:
        rows = self.conn.execute(
            "SELECT line, finished_at - coalesce(serving_at, called_at) FROM ("
            " SELECT *, row_number() OVER (PARTITION BY line ORDER BY finished_at DESC) AS n"
            " FROM tickets WHERE state = 'finished') WHERE n <= ? ORDER BY finished_at", (per_service,))
        out: dict[str, list[float]] = {}
        for line, seconds in rows:
            out.setdefault(line, []).append(seconds)
        return out

    # --- devices ------------------------------------------------------------

    def add_device(self, device: Device, password_hash: str, now: float) -> None:
        with self.writing():
            self.db.table("devices").insert({"id": device.id, "role": device.role, "counter": device.counter,
                                              "password_hash": password_hash, "created_at": now})

    def remove_device(self, device_id: str) -> bool:
        with self.writing():
            return self.conn.execute("DELETE FROM devices WHERE id = ?", (device_id,)).rowcount > 0

    def device(self, device_id: str) -> Device | None:
        row = self.conn.execute("SELECT id, role, counter FROM devices WHERE id = ?", (device_id,)).fetchone()
        return Device(*row) if row else None

    def devices(self) -> list[dict]:
        return list(self.db["devices"].rows_where(order_by="id"))

    def set_status(self, device_id: str, status: str, now: float) -> None:
        with self.writing():
            self.conn.execute("UPDATE devices SET status = ?, status_at = ? WHERE id = ?",
                              (status, now, device_id))
