"""hall.store, the one SQLite helper of the ledger and the print spool: migrations, transactions, and files
made by the code before it (a `_migrations` table in the ledger, `executescript` steps in the spool)."""

from __future__ import annotations

import sqlite3
import stat
import time

import pytest

from broker.ledger import MIGRATIONS as LEDGER_STEPS
from broker.ledger import Ledger
from broker.model import Device
from hall import store
from printer.config import check_printer
from printer.spool import Spool

STEPS = [store.Step("a", ("CREATE TABLE a (x INTEGER)",)),
         store.Step("b", ("CREATE TABLE b (y INTEGER)", "INSERT INTO b VALUES (1)"))]


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_each_step_runs_once_and_the_version_is_its_number(tmp_path):
    conn = store.connect(tmp_path / "x.db")
    assert store.migrate(conn, STEPS[:1]) == 1 and store.version(conn) == 1
    assert store.migrate(conn, STEPS) == 2 and store.migrate(conn, STEPS) == 2
    assert tables(conn) == {"a", "b"} and conn.execute("SELECT count(*) FROM b").fetchone()[0] == 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2     # FULL


def test_a_failing_step_leaves_nothing_of_itself(tmp_path):
    conn = store.connect(tmp_path / "x.db")
    bad = [STEPS[0], store.Step("broken", ("CREATE TABLE c (z)", "INSERT INTO nowhere VALUES (1)"))]
    with pytest.raises(sqlite3.OperationalError, match="no such table: nowhere"):
        store.migrate(conn, bad)
    assert store.version(conn) == 1 and tables(conn) == {"a"}


def test_a_transaction_commits_or_rolls_back_whole(tmp_path):
    conn = store.connect(tmp_path / "x.db")
    store.migrate(conn, STEPS[:1])
    with store.transaction(conn):
        conn.execute("INSERT INTO a VALUES (1)")
    with pytest.raises(ZeroDivisionError), store.transaction(conn):
        conn.execute("INSERT INTO a VALUES (2)")
        _ = 1 / 0
    assert conn.execute("SELECT x FROM a").fetchall() == [(1,)] and not conn.in_transaction
    other = store.connect(tmp_path / "x.db")         # committed means another connection sees it
    assert other.execute("SELECT x FROM a").fetchall() == [(1,)]


def test_a_transaction_takes_the_write_lock_first(tmp_path):
    conn, other = store.connect(tmp_path / "x.db"), store.connect(tmp_path / "x.db", busy_timeout_s=0.1)
    store.migrate(conn, STEPS[:1])
    with store.transaction(conn):
        # BEGIN IMMEDIATE: another writer cannot start, even before this one has written anything.
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")


def _old_ledger(path) -> None:
    """A ledger as the code before hall.store made it: its steps recorded in a `_migrations` table."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations "
                 "(id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for sql in LEDGER_STEPS[0].statements:      # a released step is never edited: these are the old ones
        conn.execute(sql)
    conn.execute("INSERT INTO _migrations VALUES (1, ?, datetime('now'))", (LEDGER_STEPS[0].name,))
    conn.execute("INSERT INTO devices (id, role, counter, password_hash, created_at) "
                 "VALUES ('kiosk-1', 'kiosk', NULL, 'h', 1.0)")
    conn.execute("INSERT INTO meta VALUES ('day', 20261125)")
    conn.execute("COMMIT")
    conn.close()


def test_a_ledger_made_before_hall_store_opens_with_its_data(tmp_path):
    path = tmp_path / "hall.db"
    _old_ledger(path)
    ledger = Ledger(path)
    try:
        assert ledger.device("kiosk-1") == Device("kiosk-1", "kiosk", None)
        assert ledger.day_reached() == "2026-11-25"
        assert store.version(ledger.conn) == len(LEDGER_STEPS) and "_migrations" not in tables(ledger.conn)
    finally:
        ledger.close()
    again = Ledger(path)                       # and opens again: nothing is run twice
    try:
        assert again.device("kiosk-1") is not None and store.version(again.conn) == len(LEDGER_STEPS)
    finally:
        again.close()


def test_a_new_ledger_and_its_wal_files_are_private(tmp_path):
    ledger = Ledger(tmp_path / "hall.db")       # it holds the devices' password hashes
    try:
        ledger.set_meta("day", 20261125)       # a write: the -wal file has content now
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    finally:
        ledger.close()
    assert modes == {"hall.db": 0o600, "hall.db-wal": 0o600, "hall.db-shm": 0o600}


# The spool's schema as the code before hall.store ran it: one script, PRAGMA user_version in it.
OLD_SPOOL_SCRIPT = """CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, ticket_id TEXT NOT NULL, label TEXT NOT NULL,
        data BLOB NOT NULL, image_png BLOB, reprint INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL, state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '', done_at REAL);
    CREATE UNIQUE INDEX jobs_one_original ON jobs(ticket_id) WHERE reprint = 0;
    CREATE INDEX jobs_state ON jobs(state);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"""


def test_a_spool_made_before_hall_store_prints_the_job_it_kept(tmp_path):
    path = tmp_path / "spool.db"
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(f"BEGIN; {OLD_SPOOL_SCRIPT}; PRAGMA user_version=1; COMMIT;")
    conn.execute("INSERT INTO jobs (ticket_id, label, data, created, state) VALUES (?,?,?,?,?)",
                 ("20261125-1001", "1001", b"\x1b@ticket\x1dVB\x00", time.time(), "printing"))
    conn.close()
    cfg = check_printer({"transport": "preview", "folder": str(tmp_path / "out")})
    sp = Spool.for_printer(str(path), cfg, poll_s=0.05)
    try:
        # Found `printing` (the kiosk stopped while sending it): sent again, whole.
        assert sp.handle(1).wait(3, until=("printed", "failed")) == "printed"
        assert (tmp_path / "out" / "20261125-1001-1.bin").read_bytes() == b"\x1b@ticket\x1dVB\x00"
        assert store.version(sp.db) == 1
    finally:
        sp.close()
