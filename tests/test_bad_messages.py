"""One bad message must not hurt others (issue 8, items 6-7)."""

from __future__ import annotations

import json
import signal
import threading

import pytest

from hall.client import HallClient
from hall.protocol import ProtocolError, decode, decode_request
from tests.conftest import freeze, read_db, wait_for
from tests.hallproc import HallProcess


def test_a_lone_surrogate_id_does_not_cost_the_other_requests_of_its_batch(tmp_path):
    hall = HallProcess(tmp_path, "surrogate")
    devs = hall.provision([(f"kiosk-{i}", "kiosk", None) for i in range(1, 4)] + [("display-1", "display", None)])
    hall.start()
    replies: dict[str, list[dict]] = {d: [] for d in devs}
    lock = threading.Lock()

    def collector(device):
        def on_message(topic, payload):
            with lock:
                replies[device].append(json.loads(payload))
        return on_message

    clients = {d: HallClient(dev, on_message=collector(d)).start(wait=5) for d, dev in devs.items()}
    try:
        # Frozen, the service cannot take any of them: when it wakes they come as one batch.
        freeze(hall.proc.pid)
        sent = []
        for n in range(12):
            kiosk = clients[f"kiosk-{n % 3 + 1}"]
            rid = f"t{n}"
            kiosk.publish_request("take-ticket", rid, {"service": "ho-tich"})
            sent.append((kiosk.device.id, rid))
            if n == 5:   # the bad one right in the middle, from a display
                clients["display-1"].client.publish(clients["display-1"].topics.request("display-1", "take-ticket"),
                                                    b'{"v":1,"id":"\\ud800","service":"ho-tich"}', qos=1)
        hall.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: sum(len(v) for v in replies.values()) >= 13, timeout=10)
        with lock:
            got = {(d, r["id"]): r for d, rs in replies.items() for r in rs}
        assert all(got[key]["ok"] for key in sent), "each of the 12 tickets is issued and answered"
        assert sorted(got[key]["data"]["ticket"] for key in sent) == [str(1001 + i) for i in range(12)]
        bad = replies["display-1"]
        assert len(bad) == 1 and bad[0]["id"] is None and bad[0]["error"]["code"] == "bad_json"
        assert ticket_count(hall) == 12
    finally:
        for c in clients.values():
            c.stop()
        hall.stop()


def ticket_count(hall: HallProcess) -> int:
    import sqlite3
    db = sqlite3.connect(hall.data / "hall.db")
    try:
        return db.execute("SELECT count(*) FROM tickets").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize("payload", [
    b'{"v":1,"id":"\\ud800"}', b'{"v":1,"id":"a","service":"\\udfff"}', b'{"v":1,"id":"a","x":{"\\ud800":1}}',
    b'{"v":1,"id":"a","counter":NaN}', b'{"v":1,"id":"a","counter":Infinity}', b'{"v":1,"id":"a","score":-Infinity}',
    b'{"v":1,"id":"a","counter":1e999}'])
def test_unencodable_text_and_non_json_numbers_are_bad_json(payload):
    with pytest.raises(ProtocolError) as err:
        decode(payload)
    assert err.value.code == "bad_json"


@pytest.mark.parametrize("version", [b"1.0", b"1e0", b"10e-1", b"true", b'"1"'])
def test_version_must_be_the_integer_one(version):
    with pytest.raises(ProtocolError) as err:
        decode_request("take-ticket", b'{"v":%s,"id":"r1","service":"ho-tich"}' % version)
    assert err.value.code == "bad_version" and err.value.rid == "r1"


def test_refused_versions_over_the_broker_carry_the_id_and_issue_nothing(hall, connect):
    kiosk = connect("kiosk-1", "kiosk")
    got: list[dict] = []
    kiosk.on_message = lambda t, p: got.append(json.loads(p))
    for i, v in enumerate((b"1.0", b"1e0")):
        kiosk.client.publish(kiosk.topics.request("kiosk-1", "take-ticket"),
                             b'{"v":%s,"id":"v%d","service":"ho-tich"}' % (v, i), qos=1)
    wait_for(lambda: len(got) >= 2)
    assert sorted((r["id"], r["error"]["code"]) for r in got) == [("v0", "bad_version"), ("v1", "bad_version")]
    assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1001"
    assert read_db(hall).execute("SELECT count(*) FROM tickets").fetchone()[0] == 1
