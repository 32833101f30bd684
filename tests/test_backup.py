"""Backups of a running hall (issue 12 §4): taken while tickets are issued, they restore every acknowledged ticket.

A real `motcua serve` (tests/hallproc.py) issues tickets to two kiosks' threads through its real
Mosquitto; this test process takes backups of the live data folder meanwhile, as
`motcua backup now` does from another process, then restores each into a fresh folder.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from broker.backup import BackupError
from broker.backup_schedule import backup_now
from broker.restore import restore
from hall.client import HallClient, RequestTimeout
from tests.conftest import unique_hall_id, wait_for
from tests.hallproc import HallProcess

SERVICES = ("ho-tich", "chung-thuc")


class Kiosk(threading.Thread):
    """Takes tickets one after another; notes each acknowledged ticket id, in the order acknowledged."""

    def __init__(self, dev, acked: list[str], lock: threading.Lock, stop: threading.Event):
        super().__init__(daemon=True)
        self.client, self.acked, self.lock, self.stop_flag = HallClient(dev), acked, lock, stop
        self.errors: list[dict] = []

    def run(self) -> None:
        self.client.start(wait=5)
        n = 0
        while not self.stop_flag.is_set():
            n += 1
            try:
                reply = self.client.request("take-ticket", {"service": SERVICES[n % 2]}, timeout=2)
            except RequestTimeout:
                continue
            if reply["ok"]:
                with self.lock:
                    self.acked.append(reply["data"]["ticket_id"])
            else:
                self.errors.append(reply)
        self.client.stop()


def more_than(acked: list[str], n: int):
    return lambda: len(acked) >= n


def tickets_and_check(db_path: Path) -> tuple[set[str], list[str]]:
    conn = sqlite3.connect(db_path)
    try:
        return ({r[0] for r in conn.execute("SELECT id FROM tickets")},
                [r[0] for r in conn.execute("PRAGMA integrity_check")])
    finally:
        conn.close()


def test_backup_taken_while_tickets_are_issued_restores_every_acknowledged_ticket(tmp_path):
    hall = HallProcess(tmp_path, unique_hall_id("backup-live"))
    devs = hall.provision([("kiosk-1", "kiosk", None), ("kiosk-2", "kiosk", None)])
    hall.start()
    acked: list[str] = []
    lock, stop = threading.Lock(), threading.Event()
    kiosks = [Kiosk(devs[k], acked, lock, stop) for k in ("kiosk-1", "kiosk-2")]
    taken = []     # (backup, the ticket ids acknowledged before it started)
    try:
        for k in kiosks:
            k.start()
        wait_for(lambda: len(acked) >= 30, timeout=20)
        for i in range(4):
            with lock:
                before = set(acked)
            done = backup_now(hall.data, hall.cfg, time.time(), to=tmp_path / f"stick-{i}")
            taken.append((done.backup, before))
            # The hall goes on issuing between (and during) the backups.
            wait_for(more_than(acked, len(acked) + 20), timeout=20)

        # While the server runs on the folder, a restore into it is refused and touches nothing.
        with pytest.raises(BackupError) as refused:
            restore(taken[-1][0].path, hall.data, hall.cfg, time.time())
        assert refused.value.code == "running" and "systemctl stop" in refused.value.vi
        assert not list(hall.data.glob("*.before-restore-*"))
    finally:
        stop.set()
        for k in kiosks:
            k.join(20)
        hall.stop()
    assert not any(k.errors for k in kiosks), [k.errors for k in kiosks]
    assert len(acked) > len(taken[-1][1]) + 20, "tickets kept being issued after the last backup began"

    for i, (backup, before) in enumerate(taken):
        fresh = tmp_path / f"restored-{i}"
        restore(backup.path, fresh, hall.cfg, time.time())
        ids, check = tickets_and_check(fresh / "hall.db")
        assert check == ["ok"]
        missing = before - ids
        assert not missing, f"backup {i} lacks {len(missing)} tickets acknowledged before it began"
        assert backup.manifest.tickets == len(ids) >= len(before)
        assert (fresh / "hall.secret").read_bytes() == (hall.data / "hall.secret").read_bytes()
    counts = [b.manifest.tickets for b, _ in taken]
    assert counts == sorted(counts) and counts[0] < counts[-1], counts

    # The hall serves again from a restored folder: the devices' passwords came back with the ledger.
    restore(taken[1][0].path, hall.data, hall.cfg, time.time())
    assert len(list(hall.data.glob("hall.db.before-restore-*"))) == 1
    hall.log = open(tmp_path / "serve.log", "ab")
    hall.start()
    client = HallClient(devs["kiosk-1"]).start(wait=5)
    try:
        reply = client.request("take-ticket", {"service": "ho-tich"}, timeout=3)
        assert reply["ok"], reply
    finally:
        client.stop()
        hall.stop()
    ids, check = tickets_and_check(hall.data / "hall.db")
    assert check == ["ok"] and taken[1][1] <= ids and reply["data"]["ticket_id"] in ids
