"""Exactly once, as a first real hall would test it (issue 8, items 1-5).

Each test names the item it guards. They run the real hall server and Mosquitto; the crash
between a call's commit and its publish is made with strace holding the commit's fdatasync
and a real SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from broker.datalock import DataFolderBusy
from broker.ledger import Ledger
from broker.model import Event, Outcome, Ticket
from broker.server import HallServer
from hall.client import HallClient
from hall.protocol import SERVER_ID, Board, Call, Topics
from tests.conftest import ROOT, HallClock, at, freeze, read_db, wait_for
from tests.hallproc import HallProcess
from tests.test_service import Inbox

# --- item 1: one server per data folder, and a ticket row is never overwritten -----------------

def test_second_server_on_one_data_folder_refuses_and_the_first_keeps_serving(hall, connect):
    kiosk = connect("kiosk-1", "kiosk")
    assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1001"
    with pytest.raises(DataFolderBusy) as refused:
        HallServer(hall.cfg, hall.data_dir, clock=hall.clock).start()
    assert f"pid {os.getpid()}" in str(refused.value) and str(hall.data_dir) in str(refused.value)
    # The refused one touched nothing: the first still answers on the same broker.
    assert hall.broker.alive()
    assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1002"


def test_second_serve_process_refuses_naming_the_running_pid(tmp_path):
    first = HallProcess(tmp_path, "two-serves")
    first.provision([("kiosk-1", "kiosk", None)])
    first.start()
    try:
        second = subprocess.run(
            [sys.executable, "-m", "motcua_cli.main", "serve", "--config", str(first.config),
             "--data", str(first.data)], cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        assert f"pid {first.proc.pid}" in second.stderr and "Traceback" not in second.stderr
        assert first.proc.poll() is None
    finally:
        first.stop()
    # Killed, the first leaves no stale lock: the kernel drops it with the process.
    first.log = open(tmp_path / "serve.log", "ab")
    first.start()
    first.kill()
    first.start()
    first.stop()


def test_a_ticket_row_is_never_replaced_by_another_ticket_with_its_id(tmp_path):
    ledger = Ledger(tmp_path / "hall.db")

    def issue(device: str) -> Outcome:
        t = Ticket("20261125-1001", "2026-11-25", "ho-tich", 1001, "1001", None, 1.0, 1, device, "ho-tich")
        return Outcome(tickets={t.id: t}, events=[Event("issued", 1.0, device, t.id, "ho-tich")])

    ledger.store([issue("kiosk-1")], [], {}, "2026-11-25")
    with pytest.raises(sqlite3.IntegrityError):
        ledger.store([issue("kiosk-2")], [], {}, "2026-11-25")
    rows = ledger.conn.execute("SELECT device FROM tickets").fetchall()
    assert rows == [("kiosk-1",)], "the first citizen's ticket is still there"
    assert ledger.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    ledger.close()


# --- item 2: same id, same answer, refusals included -----------------------------------------

def test_a_refused_request_delivered_again_gets_the_same_refusal(hall, connect):
    """The broker redelivers a request the hall already refused (Mosquitto reloading its autosave,
    a power cut): it must not take effect against the queue as it is now."""
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-1", "counter", 1)
    refused = counter.request("skip", {"counter": 1}, rid="press-1")
    assert refused["error"]["code"] == "no_current_ticket"
    assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]
    called = counter.request("call-next", {"counter": 1})
    assert called["data"]["ticket"] == "1001"
    again = counter.request("skip", {"counter": 1}, rid="press-1")   # the very same request, once more
    assert again == refused
    state = read_db(hall).execute("SELECT state FROM tickets WHERE label = '1001'").fetchone()[0]
    assert state == "called", "the citizen just called is not made a no-show by an old press"
    stored = read_db(hall).execute("SELECT reply FROM requests WHERE device = 'counter-1' AND id = 'press-1'")
    assert json.loads(stored.fetchone()[0]) == refused


def test_refused_ticket_request_cannot_issue_a_ticket_later(hall, connect, clock):
    kiosk = connect("kiosk-1", "kiosk")
    clock.jump(at(hour=22) - clock())
    closed = kiosk.request("take-ticket", {"service": "ho-tich"}, rid="tap-1")
    assert closed["error"]["code"] == "hall_closed"
    clock.jump(at(day=26, hour=9) - clock())
    assert kiosk.request("take-ticket", {"service": "ho-tich"}, rid="tap-1") == closed
    assert read_db(hall).execute("SELECT count(*) FROM tickets").fetchone()[0] == 0, "nobody printed it"


# --- item 3: a retained request is never run again --------------------------------------------

def _retained_on(cfg, topic: str, password: str) -> list[bytes]:
    """What the broker holds retained on `topic` (read as the hall service's own user)."""
    got: list[bytes] = []
    # The board is always retained while the hall runs, and the broker sends the retained messages
    # of one SUBSCRIBE in the order of its topics: once the board's has come, `topic`'s would have.
    board = Topics(cfg.id).board
    boards: list[bytes] = []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="retained-check")
    c.username_pw_set(SERVER_ID, password)
    c.on_connect = lambda cl, u, f, r, p: cl.subscribe([(topic, 1), (board, 1)])
    c.on_message = lambda cl, u, msg: ((boards if msg.topic == board else got).append(msg.payload)
                                       if msg.retain else None)
    c.connect("127.0.0.1", cfg.mqtt_port)
    c.loop_start()
    wait_for(lambda: boards)
    c.disconnect()
    c.loop_stop()
    return got


def test_a_request_published_with_retain_is_not_run_again_at_restart(hall_cfg, tmp_path):
    clock = HallClock(at())
    server = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    kiosk_dev = server.add_device("kiosk-1", "kiosk")
    counter_dev = server.add_device("counter-1", "counter", 1)
    kiosk = HallClient(kiosk_dev).start(wait=5)
    assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]
    # A keypad's firmware publishes its call-next with retain set.
    raw = HallClient(counter_dev).start(wait=5)
    topic = raw.topics.request("counter-1", "call-next")
    raw.client.publish(topic, json.dumps({"v": 1, "id": "key-1", "counter": 1}).encode(), qos=1, retain=True)
    wait_for(lambda: read_db(server).execute("SELECT count(*) FROM tickets WHERE state = 'called'").fetchone()[0])
    raw.stop()
    kiosk.stop()

    def restart(s: HallServer) -> HallServer:
        s.stop()
        return HallServer(hall_cfg, tmp_path / "data", clock=clock).start()

    # A week later its stored reply is forgotten; the broker, though, still has it retained.
    clock.jump(7 * 24 * 3600 + 60)
    server = restart(server)
    # No wait for the retained request here: whenever it reaches this service, it must not run. Run
    # after the ticket below, it would call it, and the check after the next restart would see that.
    kiosk = HallClient(kiosk_dev).start(wait=5)
    assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1001"
    kiosk.stop()
    server = restart(server)
    try:
        # Wait for the positive sign that the restarted service has handled its first messages.
        wait_for(lambda: server.service.handled or server.service.board_seq > 0)
        states = read_db(server).execute("SELECT state FROM tickets WHERE day = '2026-12-02'").fetchall()
        assert states == [("waiting",)], "no key was pressed: nobody is called"
        from broker.server import server_secret
        assert _retained_on(hall_cfg, topic, server_secret(tmp_path / "data")) == []
    finally:
        server.stop()


# --- item 4: a committed call reaches the displays after a crash ------------------------------

@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is installed by ./motcua")
def test_call_committed_just_before_a_crash_is_announced_after_restart(tmp_path):
    hall = HallProcess(tmp_path, "unsent-call")
    devs = hall.provision([("kiosk-1", "kiosk", None), ("counter-1", "counter", 1), ("display-1", "display", None)])
    hall.start()
    calls = Inbox()
    display = HallClient(devs["display-1"], subscribe=["called"], on_message=calls).start(wait=5)
    kiosk = HallClient(devs["kiosk-1"]).start(wait=5)
    counter = HallClient(devs["counter-1"]).start(wait=5)
    tracer = None
    try:
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]
        # Hold every fdatasync of the hall service for 5 s after it has returned (the data is on
        # disk), and kill the service inside that window: committed, never published.
        trace_log = tmp_path / "strace.log"
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-p", str(hall.proc.pid), "-o", str(trace_log),
                                   "-e", "trace=fdatasync,fsync", "-e", "inject=fdatasync,fsync:delay_exit=5000000"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: "TracerPid:\t0" not in Path(f"/proc/{hall.proc.pid}/status").read_text(), timeout=5)
        time.sleep(0.3)   # strace attaches the other threads right after the first
        counter.publish_request("call-next", "press-1", {"counter": 1})
        # strace writes the line when the fdatasync has returned and its 5 s hold begins.
        wait_for(lambda: "(DELAYED)" in trace_log.read_text(), timeout=5)
        hall.kill()
        assert read_db_file(hall.data, "SELECT state FROM tickets") == [("called",)], "the call was committed"
        tracer.wait(5)
        assert calls.on(display.topics.called) == [], "the crash came between the commit and the publish"

        hall.log = open(tmp_path / "serve.log", "ab")
        hall.start()
        heard = wait_for(lambda: calls.on(display.topics.called), timeout=10)
        call = Call.from_payload(heard[0])
        assert (call.ticket, call.counter, call.seq) == ("1001", 1, 1)
        reply = counter.request("call-next", {"counter": 1}, rid="press-1", timeout=1, attempts=10)
        assert reply["ok"] and reply["data"]["ticket"] == "1001", "the retry gets the stored reply"
        # Confirmed by the broker now: the next restart does not send it again.
        wait_for(lambda: read_db_file(hall.data, "SELECT value FROM meta WHERE key = 'call_acked'") == [(1,)])
    finally:
        if tracer and tracer.poll() is None:
            tracer.kill()
        for c in (display, kiosk, counter):
            c.stop()
        hall.stop()


def read_db_file(data: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(data / "hall.db")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# --- item 5: the day reached is kept, ticket or not; old replies pruned at start ---------------

def test_the_day_reached_without_any_ticket_never_goes_back(hall_cfg, tmp_path):
    clock = HallClock(at(month=12, day=25, hour=9))
    first = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    dev = first.add_device("kiosk-1", "kiosk")
    first.stop()
    clock.jump(at(month=12, day=21, hour=9) - clock())   # the Pi boots with an old time
    again = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    kiosk = HallClient(dev).start(wait=5)
    try:
        reply = kiosk.request("take-ticket", {"service": "ho-tich"})
        assert reply["data"]["ticket_id"] == "20261225-1001" and reply["data"]["day"] == "2026-12-25"
    finally:
        kiosk.stop()
        again.stop()


def test_week_old_replies_are_pruned_at_start(hall_cfg, tmp_path):
    clock = HallClock(at())
    first = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    kiosk = HallClient(first.add_device("kiosk-1", "kiosk")).start(wait=5)
    assert kiosk.request("take-ticket", {"service": "ho-tich"}, rid="old")["ok"]
    kiosk.stop()
    first.stop()
    clock.jump(8 * 24 * 3600)
    again = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    try:
        # Read at once: the service's first tick (where a rollover would prune) is a second away.
        assert read_db(again).execute("SELECT id FROM requests").fetchall() == []
    finally:
        again.stop()


def test_board_of_a_restarted_hall_keeps_the_day(hall_cfg, tmp_path):
    """The board says the day the hall is on, as the kiosks and displays show it."""
    clock = HallClock(at(month=12, day=25, hour=9))
    HallServer(hall_cfg, tmp_path / "data", clock=clock).start().stop()
    clock.jump(-4 * 24 * 3600)
    again = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    boards = Inbox()
    display = HallClient(again.add_device("display-1", "display"), subscribe=["board"], on_message=boards).start(5)
    try:
        board = Board.from_payload(wait_for(lambda: boards.on(Topics(hall_cfg.id).board))[-1])
        assert board.day == "2026-12-25"
    finally:
        display.stop()
        again.stop()



def test_a_refusal_redelivered_by_a_restarted_broker_does_not_take_effect(tmp_path):
    """Issue 8 item 2 as it happened: Mosquitto saves its database while a request is in flight to
    the (frozen) hall service, the service refuses it, a citizen is called, Mosquitto crashes and
    its restart delivers the old request again."""
    hall = HallProcess(tmp_path, "redelivered")
    devs = hall.provision([("kiosk-1", "kiosk", None), ("counter-1", "counter", 1)])
    hall.start()
    topics = Topics(hall.cfg.id)
    replies: list[dict] = []
    # The counter keeps a persistent session, so a reply sent while it reconnects still reaches it.
    counter = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="counter-1", clean_session=False)
    counter.username_pw_set("counter-1", devs["counter-1"].password)
    subscribed: list[int] = []
    counter.on_connect = lambda c, u, f, r, p: c.subscribe(topics.reply("counter-1"), 1)
    counter.on_subscribe = lambda *a: subscribed.append(1)
    counter.on_message = lambda c, u, msg: replies.append(json.loads(msg.payload))
    counter.reconnect_delay_set(0.1, 0.5)
    counter.connect("127.0.0.1", hall.port)
    counter.loop_start()
    kiosk = HallClient(devs["kiosk-1"]).start(wait=5)
    db_file = hall.data / "mosquitto" / "mosquitto.db"
    try:
        wait_for(lambda: subscribed)                       # its SUBACK: the replies will reach it
        freeze(hall.proc.pid)
        skip = json.dumps({"v": 1, "id": "press-1", "counter": 1}).encode()
        counter.publish(topics.request("counter-1", "skip"), skip, qos=1).wait_for_publish(5)
        before = db_file.stat().st_mtime_ns if db_file.exists() else 0
        os.kill(hall.broker_pid(), signal.SIGUSR1)          # Mosquitto writes its database now
        wait_for(lambda: db_file.exists() and db_file.stat().st_mtime_ns != before)
        saved = db_file.read_bytes()    # press-1 in flight to the hall service
        hall.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: [r for r in replies if r["id"] == "press-1"])
        assert replies[0]["error"]["code"] == "no_current_ticket"
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]
        call = json.dumps({"v": 1, "id": "press-2", "counter": 1}).encode()
        counter.publish(topics.request("counter-1", "call-next"), call, qos=1)
        wait_for(lambda: [r for r in replies if r["id"] == "press-2"])
        # Mosquitto autosaves every 5 s (broker/mosquitto.py): on a busy machine a later save, without
        # press-1, could be the one its restart loads. Frozen first, it saves nothing more; the file
        # is then the save above, as when the crash comes within those 5 s.
        broker = hall.broker_pid()
        freeze(broker)
        db_file.write_bytes(saved)
        os.kill(broker, signal.SIGKILL)                      # its restart reloads the saved database
        # The positive signal: the old request did come back, and was answered again.
        again = wait_for(lambda: [r for r in replies if r["id"] == "press-1"][1:], timeout=15)
        assert again[0] == replies[0], "the same refusal, not a late skip"
        state = read_db_file(hall.data, "SELECT state FROM tickets")
        assert state == [("called",)], "the citizen just called is still called, not a no-show"
    finally:
        hall.proc.send_signal(signal.SIGCONT)
        counter.loop_stop()
        kiosk.stop()
        hall.stop()
