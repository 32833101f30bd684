"""Durable state in one SQLite file: how the hall's ledger and a kiosk's print spool open, migrate and write.

    conn = connect("hall.db")                      # WAL, synchronous=FULL, explicit transactions only
    migrate(conn, STEPS)                           # STEPS: [Step("jobs", ("CREATE TABLE …", …)), …]
    with transaction(conn, lock):                  # BEGIN IMMEDIATE … COMMIT (ROLLBACK on error)
        conn.execute("INSERT …")

Why not sqlite-utils' `db.atomic()` or `with db.conn:`: in sqlite-utils 4 `with db.conn:` is
the sqlite3 connection's context manager, which only commits or rolls back what is open; on
a connection in autocommit mode (isolation_level=None) it begins nothing, so each statement
inside is its own transaction. `atomic()` does begin one, but a deferred `BEGIN` that reads
before it writes fails at once with "database is locked" when another connection wrote
meanwhile (WAL cannot upgrade a stale read snapshot, and the busy timeout does not help),
and inside an open transaction it becomes a savepoint, so a block the caller believes
durable is not committed when it ends. `BEGIN IMMEDIATE` takes the write lock first and
waits its turn; a commit returns only once it is on the disk. The spool runs on kiosks that
do not install sqlite-utils at all: this module needs only the standard library.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Step:
    """One numbered schema change: its statements run in one transaction, then `PRAGMA user_version` is its number."""
    name: str
    statements: tuple[str, ...]


def connect(path: str | Path, *, busy_timeout_s: float = 10.0) -> sqlite3.Connection:
    """Open (or create) a database for durable writes, usable from several threads under the caller's lock.

    WAL lets readers go on while one writer commits; synchronous=FULL makes every commit reach the
    disk before it returns, so what was stored (a ticket issued, a print job) survives a power cut.
    isolation_level=None: Python's sqlite3 starts no transaction by itself; `transaction()` does.
    """
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection, lock: threading.RLock | None = None) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the block raises; under `lock` when the connection is shared."""
    with lock if lock is not None else nullcontext():
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def version(conn: sqlite3.Connection) -> int:
    """How many steps have run on this database (its `PRAGMA user_version`)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, steps: Sequence[Step], lock: threading.RLock | None = None) -> int:
    """Run the steps this database has not had yet, each in its own transaction; the version it is at.

    A step is never edited once released: a change to the schema is a new step at the end. A
    database from a newer program (more steps than these) is left as it is.
    """
    done = version(conn)
    for number, step in enumerate(steps[done:], start=done + 1):
        with transaction(conn, lock):
            for sql in step.statements:
                conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {number}")   # a PRAGMA takes no parameters; number is ours
    return max(done, len(steps))


__all__ = ["Step", "connect", "transaction", "migrate", "version"]
