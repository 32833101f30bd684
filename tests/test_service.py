"""The hall service over a real Mosquitto: contract v1 requests, replies, board and calls."""

from __future__ import annotations

import threading

from hall.client import HallClient
from hall.protocol import Board, Call
from tests.conftest import read_db, wait_for


class Inbox:
    """Collects messages a test client receives (paho's thread) for the test's thread."""

    def __init__(self):
        self.items: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes) -> None:
        with self.lock:
            self.items.append((topic, payload))

    def on(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p in self.items if t == topic]


def test_take_ticket_then_call_over_mqtt(hall, connect):
    inbox = Inbox()
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-1", "counter", 1, subscribe=["board", "called"], on_message=inbox)
    first = kiosk.request("take-ticket", {"service": "ho-tich"})
    second = kiosk.request("take-ticket", {"service": "ho-tich"})
    assert first["ok"] and first["data"]["ticket"] == "1001" and first["data"]["ahead"] == 0
    assert second["data"]["ticket"] == "1002" and second["data"]["ahead"] == 1
    called = counter.request("call-next", {"counter": 1})
    assert called["ok"] and called["data"]["ticket"] == "1001"
    calls = wait_for(lambda: inbox.on(kiosk.topics.called))
    call = Call.from_payload(calls[0])
    assert (call.ticket, call.counter, call.recall) == ("1001", 1, False)
    board = wait_for(lambda: [Board.from_payload(p) for p in inbox.on(kiosk.topics.board)
                              if Board.from_payload(p).counters[0].ticket == "1001"])[-1]
    assert board.services[0].waiting == 1
    seqs = [Board.from_payload(p).seq for p in inbox.on(kiosk.topics.board)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_retried_request_gets_stored_reply_and_changes_nothing(hall, connect):
    kiosk = connect("kiosk-1", "kiosk")
    first = kiosk.request("take-ticket", {"service": "chung-thuc"}, rid="same-id")
    again = kiosk.request("take-ticket", {"service": "chung-thuc"}, rid="same-id")
    assert first == again
    rows = read_db(hall).execute("SELECT count(*) FROM tickets").fetchone()[0]
    events = read_db(hall).execute("SELECT count(*) FROM events").fetchone()[0]
    assert (rows, events) == (1, 1)
    third = kiosk.request("take-ticket", {"service": "chung-thuc"})
    assert third["data"]["ticket"] == "2002"


def test_clock_set_back_across_a_restart_never_reopens_an_earlier_day(hall_cfg, tmp_path):
    # A Pi without a real-time clock may boot with yesterday's time: numbers must not restart.
    from broker.server import HallServer
    from tests.conftest import HallClock, at
    clock = HallClock(at(day=26, hour=9))
    first = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    dev = first.add_device("kiosk-1", "kiosk")
    kiosk = HallClient(dev).start(wait=5)
    assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket_id"] == "20261126-1001"
    kiosk.stop()
    first.stop()
    clock.jump(at(day=25, hour=9) - clock())
    again = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    kiosk = HallClient(dev).start(wait=5)
    reply = kiosk.request("take-ticket", {"service": "ho-tich"})
    kiosk.stop()
    again.stop()
    assert reply["data"]["ticket_id"] == "20261126-1002" and reply["data"]["day"] == "2026-11-26"
