"""The one MQTT client base (hall/link.py) that the devices' HallClient and the hall service stand on."""

from __future__ import annotations

import json
import logging
import queue
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from hall.client import HallClient
from hall.link import Login, Message, MqttLink
from hall.protocol import SERVER_ID, ProtocolError, Reply, Status, TicketIssued, Topics
from tests.conftest import wait_for

log = logging.getLogger("test.link")


def hall_login(hall, client_id: str) -> Login:
    """The hall service's user under another session name: a test's window onto every hall topic."""
    secret = (hall.data_dir / "hall.secret").read_text().strip()
    return Login("127.0.0.1", hall.cfg.mqtt_port, SERVER_ID, secret, client_id)


@contextmanager
def watching_status(hall, device_id: str, read: Callable[[Status], Any]) -> Iterator[queue.SimpleQueue]:
    """A started watcher of one device's retained status: read(status) of each one, on a queue."""
    seen: queue.SimpleQueue = queue.SimpleQueue()
    watcher = MqttLink(hall_login(hall, "t-watcher"), log, subscribe=[Topics(hall.cfg.id).status(device_id)],
                       on_message=lambda m: seen.put(read(Status.from_payload(m.payload))) if m.payload else None)
    watcher.start(wait=5)
    try:
        yield seen
    finally:
        watcher.stop()


def test_the_hall_service_and_the_devices_stand_on_the_one_link(hall, connect):
    kiosk = connect("kiosk-1", "kiosk")
    assert isinstance(kiosk, MqttLink) and isinstance(hall.service.link, MqttLink)
    for link in (kiosk, hall.service.link):
        sock = link.client.socket()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0   # small messages leave at once


def test_messages_reach_the_callers_thread_with_their_retained_flag(hall):
    t = Topics(hall.cfg.id)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    writer = MqttLink(hall_login(hall, "t-writer"), log).start(wait=5)
    writer.publish(f"{t.root}/test/kept", b"kept", retain=True).wait_for_publish(5)
    reader = MqttLink(hall_login(hall, "t-reader"), log, subscribe=[f"{t.root}/test/#"],
                      on_message=inbox.put).start(wait=5)
    try:
        assert inbox.get(timeout=5) == Message(f"{t.root}/test/kept", b"kept", True)
        writer.publish(f"{t.root}/test/now", b"now")
        assert inbox.get(timeout=5) == Message(f"{t.root}/test/now", b"now", False)
    finally:
        writer.publish(f"{t.root}/test/kept", b"", retain=True).wait_for_publish(5)
        reader.stop()
        writer.stop()


def test_a_persistent_session_keeps_what_came_while_it_was_away(hall):
    # The hall service's kind of session: requests sent while it restarts wait for it in the broker.
    t = Topics(hall.cfg.id)
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    login = hall_login(hall, "t-persistent")
    away = MqttLink(login, log, subscribe=[f"{t.root}/test/queued"], persistent=True, on_message=inbox.put)
    away.start(wait=5)
    away.stop()
    sender = MqttLink(hall_login(hall, "t-sender"), log).start(wait=5)
    sender.publish(f"{t.root}/test/queued", b"while away").wait_for_publish(5)
    sender.stop()
    back = MqttLink(login, log, subscribe=[f"{t.root}/test/queued"], persistent=True, on_message=inbox.put)
    back.start(wait=5)
    try:
        assert inbox.get(timeout=5).payload == b"while away"
    finally:
        back.stop()


def test_status_on_connect_farewell_on_stop_and_the_will_when_the_line_drops(hall):
    dev = hall.add_device("kiosk-1", "kiosk")
    with watching_status(hall, dev.id, lambda status: status.state) as seen:
        kiosk = HallClient(dev, version="9.9").start(wait=5)
        assert seen.get(timeout=5) == "online"
        kiosk.stop()
        assert seen.get(timeout=5) == "offline"               # said before leaving
        kiosk = HallClient(dev).start(wait=5)
        assert seen.get(timeout=5) == "online"
        kiosk.client.socket().shutdown(socket.SHUT_RDWR)      # the Wi-Fi drops: no goodbye
        assert seen.get(timeout=10) == "offline"              # the broker's last will says it
        assert seen.get(timeout=10) == "online"               # and it is back by itself
        wait_for(lambda: kiosk.connects >= 2)
        kiosk.stop()


def test_a_status_set_while_away_goes_out_on_connect(hall):
    dev = hall.add_device("kiosk-1", "kiosk")
    kiosk = HallClient(dev, version="9.9")
    kiosk.set_status(Status("online", "kiosk", "9.9", "paper_low"))    # before start: kept, sent on connect
    with watching_status(hall, dev.id, lambda status: status) as states:
        try:
            kiosk.start(wait=5)
            assert wait_for(lambda: states.get(timeout=5)).printer == "paper_low"
        finally:
            kiosk.stop()


def test_ask_gives_the_reply_typed_by_its_action(hall, connect):
    kiosk = connect("kiosk-1", "kiosk")
    issued = kiosk.ask("take-ticket", {"service": "ho-tich"})
    assert isinstance(issued, Reply) and issued.ok and issued.error is None
    assert isinstance(issued.data, TicketIssued)
    assert (issued.data.ticket, issued.data.service, issued.data.ahead) == ("1001", "ho-tich", 0)
    refused = kiosk.ask("take-ticket", {"service": "no-such-service"})
    assert not refused.ok and refused.data is None
    assert refused.error.code == "unknown_service" and refused.error.message == "Không có dịch vụ này."
    # The typed reply is the wire's, read: asked again with the same id, the stored reply comes back.
    wire = kiosk.request("take-ticket", {"service": "ho-tich"}, rid="same-id")
    typed = kiosk.ask("take-ticket", {"service": "ho-tich"}, rid="same-id")
    assert {"v": 1, **typed.to_dict()} == wire and typed.data.ticket == "1002"


class BadShapeReplies(HallClient):
    """A device whose replies come with their ticket data cut short (a hall server of another shape)."""

    def _on_message(self, client, userdata, msg):
        if msg.topic == self.topics.reply(self.device.id):
            reply = json.loads(msg.payload)
            reply.get("data", {}).pop("ticket_id", None)
            msg.payload = json.dumps(reply).encode()
        super()._on_message(client, userdata, msg)


def test_a_reply_that_does_not_decode_raises_a_protocol_error(hall):
    kiosk = BadShapeReplies(hall.add_device("kiosk-1", "kiosk")).start(wait=5)
    try:
        with pytest.raises(ProtocolError, match="ticket_id") as err:
            kiosk.ask("take-ticket", {"service": "ho-tich"}, timeout=5, attempts=1)
        assert err.value.code == "bad_request"
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]     # the wire-level call reads no shape
        with pytest.raises(ProtocolError, match="unknown_action"):
            kiosk.ask("no-such-action", {})
    finally:
        kiosk.stop()
