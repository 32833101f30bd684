"""kill -9 of the hall service under load: no ticket lost, none issued twice, every request answered."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time

from broker.model import EVENT_STATE
from hall.client import HallClient, RequestTimeout
from tests.hallproc import HallProcess

KIOSKS = ("kiosk-1", "kiosk-2", "kiosk-3")
COUNTERS = (("counter-1", 1), ("counter-3", 3))
SERVICES = ("ho-tich", "chung-thuc", "dat-dai", "tra-ket-qua")


class Device(threading.Thread):
    """A kiosk or counter that retries each request with the same id until the hall answers."""

    def __init__(self, dev, stop: threading.Event, seed: int):
        super().__init__(daemon=True)
        self.dev, self.stop_flag, self.rng = dev, stop, random.Random(seed)
        self.client = HallClient(dev)
        self.answered: dict[str, dict] = {}   # request id -> reply
        self.unanswered: list[str] = []

    def next_request(self) -> tuple[str, dict]:
        if self.dev.role == "kiosk":
            return "take-ticket", {"service": self.rng.choice(SERVICES)}
        action = self.rng.choice(("call-next", "call-next", "finish", "skip", "recall"))
        return action, {"counter": self.dev.counter}

    def run(self) -> None:
        self.client.start()
        while not self.stop_flag.is_set():
            action, args = self.next_request()
            rid = self.client.new_id()
            # Keep retrying the same id across the outage: the hall must answer it exactly once.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    self.answered[rid] = self.client.request(action, args, rid=rid, timeout=0.5, attempts=1)
                    break
                except RequestTimeout:
                    continue
            else:
                self.unanswered.append(rid)
            time.sleep(self.rng.uniform(0, 0.01))
        self.client.stop()


def test_kill_minus_9_under_load_loses_and_duplicates_nothing(tmp_path):
    hall = HallProcess(tmp_path, "crash-test")
    devs = hall.provision([(k, "kiosk", None) for k in KIOSKS] + [(c, "counter", n) for c, n in COUNTERS])
    hall.start()
    stop = threading.Event()
    threads = [Device(devs[name], stop, seed) for seed, name in enumerate(devs)]
    for t in threads:
        t.start()
    try:
        for _ in range(4):
            time.sleep(random.uniform(0.8, 1.5))
            hall.kill()
            time.sleep(random.uniform(0.05, 0.4))
            hall.start()
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(40)
        hall.stop()

    db = sqlite3.connect(tmp_path / "data" / "hall.db")
    kiosk_replies = {(t.dev.id, rid): r for t in threads if t.dev.role == "kiosk" for rid, r in t.answered.items()}
    assert all(not t.unanswered for t in threads), "every request gets an answer"
    assert len(kiosk_replies) > 50, "the load actually ran"

    # Every acknowledged ticket is in the ledger, exactly as the kiosk was told.
    tickets = {row[0]: row for row in db.execute("SELECT id, service, number, label FROM tickets")}
    acked = [r["data"] for r in kiosk_replies.values() if r["ok"]]
    for data in acked:
        assert tickets[data["ticket_id"]][3] == data["ticket"]
    # ... and no number was issued twice: one ticket per acknowledged request, no extras.
    assert len(acked) == len({d["ticket_id"] for d in acked}) == len(tickets)
    numbers = db.execute("SELECT day, service, number, count(*) FROM tickets GROUP BY 1, 2, 3 HAVING count(*) > 1")
    assert numbers.fetchall() == []

    # The stored reply of each request is what the device received (retries got the same answer).
    for (device, rid), reply in kiosk_replies.items():
        if reply["ok"]:
            stored = db.execute("SELECT reply FROM requests WHERE device = ? AND id = ?", (device, rid)).fetchone()
            assert json.loads(stored[0]) == reply

    # The event log replays to the ticket states the ledger holds.
    replayed: dict[str, str] = {}
    for ticket, kind in db.execute("SELECT ticket, kind FROM events WHERE ticket IS NOT NULL ORDER BY id"):
        if EVENT_STATE[kind]:
            replayed[ticket] = EVENT_STATE[kind]
    assert replayed == {tid: state for tid, state in db.execute("SELECT id, state FROM tickets")}
    issued = db.execute("SELECT count(*) FROM events WHERE kind = 'issued'").fetchone()[0]
    assert issued == len(tickets)
    # A counter's current ticket is one it called and has not closed.
    for counter, current in db.execute("SELECT id, current FROM counters WHERE current IS NOT NULL"):
        state, at_counter = db.execute("SELECT state, counter FROM tickets WHERE id = ?", (current,)).fetchone()
        assert state in ("called", "serving") and at_counter == counter
    calls = [json.loads(d)["call_seq"] for (d,) in db.execute(
        "SELECT data FROM events WHERE kind IN ('called', 'recalled') ORDER BY id")]
    assert calls == sorted(calls) and len(set(calls)) == len(calls), "call seq only grows"
