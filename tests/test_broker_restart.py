"""Mosquitto dies mid-run: the hall server starts it again, every client reconnects, the board is current."""

from __future__ import annotations

import threading
import time

from hall.client import HallClient
from hall.protocol import Board
from tests.conftest import wait_for


def test_broker_restart_mid_run(hall, connect):
    boards: list[Board] = []
    display = connect("display-1", "display", subscribe=["board"],
                      on_message=lambda t, p: boards.append(Board.from_payload(p)))
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-2", "counter", 2)
    for _ in range(3):
        assert kiosk.request("take-ticket", {"service": "chung-thuc"})["ok"]
    old_pid = hall.broker.pid

    # A kiosk keeps issuing across the outage, retrying each request with its id.
    replies: list[dict] = []

    def keep_issuing():
        for _ in range(5):
            replies.append(kiosk.request("take-ticket", {"service": "chung-thuc"}, timeout=0.5, attempts=40))

    worker = threading.Thread(target=keep_issuing)
    worker.start()
    killed_at = time.monotonic()
    hall.broker.kill()

    # Within 5 s of the crash: a new broker, every client back, and a display that connects
    # only now is handed the current board, retained by the new broker.
    wait_for(lambda: hall.broker.pid != old_pid and hall.broker.alive(), timeout=5)
    for client in (display, kiosk, counter):
        wait_for(lambda c=client: c.connects >= 2 and c.connected.is_set(), timeout=5)
    late: list[Board] = []
    fresh = HallClient(hall.add_device("display-2", "display"), subscribe=["board"],
                       on_message=lambda t, p: late.append(Board.from_payload(p))).start(wait=5)
    issued = lambda b: b.services[1].last_issued  # noqa: E731 (chung-thuc)
    wait_for(lambda: late and issued(late[-1]) is not None, timeout=5)
    assert time.monotonic() - killed_at < 5
    worker.join(30)
    assert [r["data"]["ticket"] for r in replies] == ["2004", "2005", "2006", "2007", "2008"]

    # Life goes on: a call reaches both displays' boards.
    assert counter.request("call-next", {"counter": 2})["data"]["ticket"] == "2001"

    def current(board: Board) -> bool:
        waiting = {s.id: s.waiting for s in board.services}
        return board.counters[1].ticket == "2001" and waiting["chung-thuc"] == 7 and issued(board) == "2008"

    wait_for(lambda: boards and current(boards[-1]), timeout=5)
    wait_for(lambda: late and current(late[-1]), timeout=5)
    fresh.stop()
