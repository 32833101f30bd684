"""Thousands of bad requests over the real broker: each gets an error reply, the queue does not change.

Each refusal is stored with its request (same id, same answer: issue 8), so only the stored
replies grow, and each holds exactly the refusal the device received.
"""

from __future__ import annotations

import itertools
import json
import threading

import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall.client import HallClient
from hall.protocol import ACTIONS, ERRORS, Topics
from tests.conftest import at, read_db, wait_for

SERVICES = ["ho-tich", "chung-thuc", "dat-dai", "xa-hoi", "khac", "tra-ket-qua", "HO-TICH", "", "ho tich"]
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)
# A topic segment MQTT accepts (no '/', '+', '#'; Mosquitto also refuses control characters and
# non-characters, by disconnecting the client) that names no real action.
unknown_action = st.text(st.characters(blacklist_characters="/+#", blacklist_categories=("Cs", "Cc", "Cn")),
                         min_size=1, max_size=40).filter(lambda a: a not in ACTIONS)


_ids = itertools.count(1)
# Text no UTF-8 encoder accepts: lone surrogates, as JSON's \\ud800 escapes can carry (issue 8 item 6).
unencodable = st.sampled_from(["\ud800", "\udfff", "a\udc80b", "\ud83d"]) | st.text(
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=4)


def envelope(**fields):
    """A v1 request with an id of its own: a repeated id would get the first one's stored answer."""
    return json.dumps({"v": 1, "id": f"fuzz-{next(_ids)}", **fields}).encode()


@st.composite
def bad_request(draw) -> tuple[str, str, bytes]:
    """(device, action, payload) that the hall must refuse whatever the state of the queue."""
    kind = draw(st.sampled_from(["bytes", "json", "version", "unknown", "kiosk", "counter", "display",
                                 "large", "types", "surrogate", "numbers"]))
    device = draw(st.sampled_from(["kiosk-1", "counter-1", "display-1"]))
    action = draw(st.sampled_from(sorted(ACTIONS)))
    if kind == "bytes":
        return device, action, draw(st.binary(max_size=200))
    if kind == "json":   # any JSON at all, without the v1 envelope
        value = draw(json_values)
        if isinstance(value, dict):
            value.pop("v", None)
        return device, action, json.dumps(value).encode()
    if kind == "version":
        v = draw(st.sampled_from(["0", "2", '"1"', "1.5", "null", "true", "[1]", "1.0", "1e0", "10e-1"]))
        return device, action, ('{"v":' + v + f',"id":"x-{next(_ids)}","service":"ho-tich","counter":1}}').encode()
    if kind == "surrogate":   # unencodable text in the id or in any field, from any device
        field_name = draw(st.sampled_from(["id", "service", "priority", "ticket", "counter", "pad"]))
        value = draw(unencodable)
        obj = {"v": 1, "id": f"fuzz-{next(_ids)}", "service": "ho-tich", "counter": 1, field_name: value}
        return device, action, json.dumps(obj).encode()   # ensure_ascii: sent as \\udXXX escapes
    if kind == "numbers":   # NaN, Infinity and overflowing numbers are not JSON (RFC 8259)
        bad = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999"]))
        where = draw(st.sampled_from(["v", "counter", "score"]))
        obj = {"v": "1", "id": f'"fuzz-{next(_ids)}"', "counter": "1", "score": "3", where: bad}
        return device, action, ("{" + ",".join(f'"{k}":{v}' for k, v in obj.items()) + "}").encode()
    if kind == "unknown":
        return device, draw(unknown_action), envelope(service="ho-tich", counter=1)
    if kind == "kiosk":
        # The hall is closed during this test, so even a well-formed ticket request is refused.
        return "kiosk-1", draw(st.sampled_from(sorted(ACTIONS))), envelope(
            service=draw(st.sampled_from(SERVICES) | st.text(max_size=70)),
            priority=draw(st.none() | st.sampled_from(["elderly", "vip", ""])), counter=1)
    if kind == "counter":  # acting for another counter, or for nothing that exists
        other = draw(st.sampled_from([2, 3, 4]) | st.integers().filter(lambda n: n != 1)
                     | json_scalars.filter(lambda v: not isinstance(v, int)))
        return "counter-1", action, envelope(counter=other, ticket="20261125-1001", score=3, service="ho-tich")
    if kind == "display":   # a display may not act at all
        return "display-1", action, envelope(service="ho-tich", counter=1, ticket="x", score=1)
    if kind == "large":
        return device, action, envelope(service="ho-tich", pad="x" * draw(st.integers(64 * 1024, 100 * 1024)))
    # right keys, wrong types
    value = draw(json_scalars | st.lists(json_scalars, max_size=2))
    return device, action, envelope(service=value if not isinstance(value, str) else [value],
                                    counter=str(value), ticket=1, score="3")


QUEUE_TABLES = ("tickets", "events", "counters")


def snapshot(hall) -> dict:
    db = read_db(hall)
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in (*QUEUE_TABLES, "requests")}


def test_fuzzed_requests_change_nothing_and_service_keeps_answering(hall, clock):
    clock.jump(at(hour=22) - clock())                 # closed: no request may issue a ticket
    devices = {d: hall.add_device(d, role, counter) for d, role, counter in
               [("kiosk-1", "kiosk", None), ("counter-1", "counter", 1), ("display-1", "display", None)]}
    topics = Topics(hall.cfg.id)
    replies: list[dict] = []
    lock = threading.Lock()
    raw = {}
    connects: list[str] = []

    def on_message(client, userdata, msg):
        with lock:
            replies.append({**json.loads(msg.payload), "_device": userdata})

    def on_connect(client, name, flags, reason, props):
        connects.append(name)
        client.subscribe(topics.reply(name), qos=1)

    for name, dev in devices.items():
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=name, userdata=name)
        c.username_pw_set(dev.id, dev.password)
        c.on_message, c.on_connect = on_message, on_connect
        c.connect(dev.host, dev.port)
        c.loop_start()
        raw[name] = c
    wait_for(lambda: all(c.is_connected() for c in raw.values()))
    before = snapshot(hall)
    sent = [0]
    # One of each refusal first, so every kind is surely covered whatever hypothesis draws.
    fixed = [("kiosk-1", "take-ticket", envelope(service="ho-tich")),                 # hall_closed
             ("kiosk-1", "call-next", envelope(counter=1)),                           # forbidden
             ("counter-1", "call-next", envelope(counter=2)),                         # wrong_counter
             ("counter-1", "call-next", envelope(counter=7)),                         # unknown_counter
             ("counter-1", "call-next", envelope()),                                  # bad_request
             ("kiosk-1", "take-ticket", b"{"),                                        # bad_json
             ("kiosk-1", "take-ticket", json.dumps({"v": 2, "id": "x"}).encode()),   # bad_version
             ("kiosk-1", "dance", envelope()),                                        # unknown_action
             ("kiosk-1", "take-ticket", envelope(pad="x" * 70000)),                   # too_large
             ("display-1", "take-ticket", b'{"v":1,"id":"\\ud800"}'),                 # bad_json (lone surrogate)
             ("kiosk-1", "take-ticket", b'{"v":1.0,"id":"y"}'),                       # bad_version, not 1
             ("kiosk-1", "take-ticket", b'{"v":1,"id":"z","service":NaN}')]           # bad_json (NaN)
    for device, action, payload in fixed:
        raw[device].publish(topics.request(device, action), payload, qos=1)
    sent[0] += len(fixed)
    wait_for(lambda: len(replies) >= len(fixed))
    # (devices' replies may interleave) Errors carry the request's id whenever it can be read.
    assert sorted((r["error"]["code"], (r["id"] or "").split("-")[0]) for r in replies) == sorted([
        ("hall_closed", "fuzz"), ("forbidden", "fuzz"), ("wrong_counter", "fuzz"), ("unknown_counter", "fuzz"),
        ("bad_request", "fuzz"), ("bad_json", ""), ("bad_version", "x"), ("unknown_action", "fuzz"),
        ("too_large", ""), ("bad_json", ""), ("bad_version", "y"), ("bad_json", "")])

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
    @given(st.lists(bad_request(), min_size=20, max_size=60))
    def throw(batch):
        for device, action, payload in batch:
            raw[device].publish(topics.request(device, action), payload, qos=1)
        sent[0] += len(batch)
        wait_for(lambda: len(replies) >= sent[0], timeout=20)

    throw()
    assert sent[0] >= 1000, "thousands of payloads were thrown"
    assert len(connects) == len(raw), "the broker never had to drop a client"
    assert len(replies) == sent[0], "one reply per request, none lost, none doubled"
    assert all(r["ok"] is False for r in replies)
    codes = {r["error"]["code"] for r in replies}
    assert codes <= set(ERRORS) and "internal" not in codes
    vietnamese = "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹáàãéèíìóòõúùýÁÀĐ"
    for r in replies:   # every refusal says what is wrong in Vietnamese
        assert r["error"]["message"] and any(ch in r["error"]["message"] for ch in vietnamese)
    after = snapshot(hall)
    assert {t: after[t] for t in QUEUE_TABLES} == {t: before[t] for t in QUEUE_TABLES}, "the queue did not change"
    # Every refusal with a readable id is stored, as the device received it (same id, same answer).
    stored = {(dev, rid): json.loads(reply) for dev, rid, _action, _at, reply in after["requests"]}
    assert before["requests"] == []
    received = {(r["_device"], r["id"]): r for r in replies if r["id"] is not None}
    assert stored.keys() == received.keys()
    assert all(stored[k] == {f: v for f, v in received[k].items() if f != "_device"} for k in stored)

    for c in raw.values():
        c.disconnect()
        c.loop_stop()
    # ... and the service still answers: once open, the kiosk gets the first number of the day.
    clock.jump(at(hour=9) - clock())
    kiosk = HallClient(devices["kiosk-1"]).start(wait=5)
    assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1001"
    kiosk.stop()
