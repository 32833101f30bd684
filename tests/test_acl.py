"""Mosquitto's generated auth and ACL: no anonymous access, and no device can speak for another."""

from __future__ import annotations

import threading
from dataclasses import replace

import paho.mqtt.client as mqtt

from hall.client import HallClient
from hall.protocol import Board, Topics, encode
from tests.conftest import read_db, wait_for


def _raw_client(dev, protocol=mqtt.MQTTv5):
    """A bare paho v5 client, to see the broker's own reason codes."""
    events = {"connect": None, "published": {}, "messages": []}
    done = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"raw-{dev.id}", protocol=protocol)
    if dev.password is not None:
        c.username_pw_set(dev.id, dev.password)

    def on_connect(client, userdata, flags, reason, props):
        events["connect"] = reason
        done.set()

    def on_publish(client, userdata, mid, reason, props):
        events["published"][mid] = reason

    c.on_connect = on_connect
    c.on_publish = on_publish
    c.on_message = lambda cl, u, msg: events["messages"].append((msg.topic, msg.payload))
    c.connect(dev.host, dev.port)
    c.loop_start()
    done.wait(5)
    return c, events


def _counts(hall):
    q = read_db(hall).execute
    return tuple(q(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("tickets", "events", "requests"))


def test_wrong_password_and_anonymous_are_refused(hall):
    dev = hall.add_device("kiosk-1", "kiosk")
    bad, events = _raw_client(replace(dev, password="not-the-password"))
    assert events["connect"] is not None and events["connect"].is_failure
    assert events["connect"].value in (134, 135)  # bad user name or password / not authorized
    bad.loop_stop()
    anon, events = _raw_client(replace(dev, id="nobody", password=None))
    assert events["connect"] is not None and events["connect"].is_failure
    anon.loop_stop()
    good, events = _raw_client(dev)
    assert not events["connect"].is_failure
    good.disconnect()
    good.loop_stop()


def test_kiosk_cannot_speak_for_another_device_or_write_the_board(hall, connect):
    counter = connect("counter-1", "counter", 1)
    kiosk_dev = hall.add_device("kiosk-1", "kiosk")
    t = Topics(hall.cfg.id)
    # A real ticket waits, so a forged call-next would change something if it got through.
    own = HallClient(kiosk_dev).start(wait=5)
    assert own.request("take-ticket", {"service": "ho-tich"})["ok"]
    own.stop()
    board_before = wait_for(lambda: hall.service and hall.service.board_seq)
    before = _counts(hall)

    raw, events = _raw_client(kiosk_dev)
    raw.subscribe(t.reply("counter-1"))
    forged = raw.publish(t.request("counter-1", "call-next"), encode({"id": "forged-1", "counter": 1}), qos=1)
    board = raw.publish(t.board, encode({"seq": 10**9, "day": "x", "at": 0, "open": True}), qos=1, retain=True)
    wait_for(lambda: forged.mid in events["published"] and board.mid in events["published"])
    assert events["published"][forged.mid].value == 135   # not authorized
    assert events["published"][board.mid].value == 135

    # The broker dropped both: nothing changed, and the real counter still gets its citizen.
    assert _counts(hall) == before
    reply = counter.request("call-next", {"counter": 1})
    assert reply["ok"] and reply["data"]["ticket"] == "1001"
    assert not [m for m in events["messages"] if m[0] == t.reply("counter-1")]  # cannot read others' replies
    raw.disconnect()
    raw.loop_stop()

    boards = []
    reader = HallClient(hall.add_device("display-1", "display"), subscribe=["board"],
                        on_message=lambda topic, p: boards.append(Board.from_payload(p))).start(wait=5)
    latest = wait_for(lambda: boards)[-1]
    assert latest.seq < 10**9 and latest.seq >= board_before
    reader.stop()


def test_device_added_while_running_can_connect_at_once(hall):
    # `device add` rewrites passwd/acl and sends SIGHUP; no broker restart is needed.
    dev = hall.add_device("kiosk-9", "kiosk")
    client = HallClient(dev).start(wait=5)
    assert client.request("take-ticket", {"service": "tra-ket-qua"})["data"]["ticket"] == "6001"
    client.stop()


def test_only_the_hall_service_may_write_the_retained_hall_topics():
    # One writer per retained topic: no device role, and no other user, may write config, catalog, board.
    from broker.mosquitto import acl_text
    from hall.protocol import ROLES, SERVER_ID
    t = Topics("dang-kang")
    devices = [{"id": f"{role}-1"} for role in ROLES]
    users: dict[str, list[tuple[str, str]]] = {}
    for line in acl_text("dang-kang", devices).splitlines():
        words = line.split()
        if words[:1] == ["user"]:
            user = users.setdefault(words[1], [])
        elif words[:1] == ["topic"]:
            user.append((words[1], words[2]))
    assert set(users) == {SERVER_ID, *(d["id"] for d in devices)}
    for name, rules in users.items():
        if name == SERVER_ID:
            continue
        writable = [pattern for access, pattern in rules if "write" in access]
        for topic in (t.config, t.catalog, t.board, t.called, t.server_status):
            assert not [p for p in writable if mqtt.topic_matches_sub(p, topic)], (name, topic, writable)
    assert (("readwrite", f"{t.root}/#")) in users[SERVER_ID]


def test_a_device_cannot_write_the_retained_catalog(hall, connect):
    catalogs: list[bytes] = []
    connect("kiosk-1", "kiosk", subscribe=["catalog"],
            on_message=lambda topic, p: catalogs.append(p) if topic.endswith("/catalog") else None)
    raw, events = _raw_client(hall.add_device("display-1", "display"))
    t = Topics(hall.cfg.id)
    forged = raw.publish(t.catalog, encode({"version": "forged", "name": "x", "fields": [], "procedures": []}),
                         qos=1, retain=True)
    wait_for(lambda: forged.mid in events["published"])
    assert events["published"][forged.mid].value == 135     # not authorized: the broker dropped it
    raw.disconnect()
    raw.loop_stop()
    assert catalogs == []
