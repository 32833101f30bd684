"""A hall device's MQTT client: its status, its requests and their replies, on the one MqttLink.

    c = HallClient(device_cfg, subscribe=["board"], on_message=handle)  # handle runs on paho's thread
    c.start()                                  # connects in the background, reconnects by itself
    reply = c.ask("take-ticket", {"service": "ho-tich"})   # a Reply: reply.ok, reply.data.ticket, reply.error.code
    c.stop()

`ask` is what devices use: the reply typed by its action (hall.protocol.ACTIONS). `request` is
the wire-level call under it, the reply as the JSON object it came in (tests read the wire with it).

It publishes a retained `online` status on every connect and leaves a retained
`offline` as its last will. Kivy apps wrap `on_message` with Clock.schedule_once.

When it cannot connect, `c.failure` says why (a ConnectionFailure: `refused`, `unreachable`,
`not_authorised` or `rejected`, with the OS error or the broker's reason), the log gets one
WARNING per kind of failure (not one per retry), and `on_connection(False)` is called each
time the kind changes, so a screen can tell "not registered on this hall server" (no retry
will help) from "the server is down" (it comes back by itself):

    def on_connection(up):                       # paho's thread
        if not up and c.failure and c.failure.kind == "not_authorised": ...
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt

from hall.device import DeviceConfig
from hall.link import DEVICE_BACKOFF, Backoff, ConnectionFailure, Login, MqttLink, Retained
from hall.protocol import ACTIONS, Fields, ProtocolError, Reply, Status, Topics, encode

log = logging.getLogger("motcua.client")

Handler = Callable[[str, bytes], None]

__all__ = ["ConnectionFailure", "HallClient", "RequestTimeout", "read_reply"]


class RequestTimeout(TimeoutError):
    """The hall server did not answer: the device must say so, not pretend."""


def read_reply(action: str, reply: dict[str, Any]) -> Reply:
    """A reply object as request() gives it, its data typed by ACTIONS[action].reply; ProtocolError on a bad shape."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise ProtocolError("unknown_action", action[:64])
    return Reply.from_dict(Fields(reply, "reply"), spec.reply)


class HallClient(MqttLink):
    def __init__(self, device: DeviceConfig, subscribe: Sequence[str] = (), on_message: Handler | None = None,
                 on_connection: Callable[[bool], None] | None = None, version: str = "",
                 protocol: mqtt.MQTTProtocolVersion = mqtt.MQTTv311, backoff: Backoff = DEVICE_BACKOFF):
        self.device = device
        self.topics = Topics(device.hall)
        self.on_message = on_message    # (topic, payload) on paho's thread; replies to requests excepted
        self._version = version
        self._pending: dict[str, tuple[threading.Event, list]] = {}
        self._lock = threading.Lock()
        # Unique per device across restarts: a fresh prefix each run, then a counter.
        self._ids = (f"{uuid.uuid4().hex[:10]}-{n}" for n in itertools.count(1))
        subscriptions = [getattr(self.topics, name) if hasattr(self.topics, name) else name
                         for name in subscribe] + [self.topics.reply(device.id)]
        super().__init__(Login(device.host, device.port, device.id, device.password), log, subscribe=subscriptions,
                         will=self._status_message("offline"), status=self._status_message("online"),
                         farewell=self._status_message("offline"),
                         protocol=protocol, backoff=backoff, explain=self._explain, on_connection=on_connection)

    def _status_message(self, state: str) -> Retained:
        return Retained(self.topics.status(self.device.id), Status(state, self.device.role, self._version).to_payload())

    # --- lifecycle ------------------------------------------------------------

    def set_status(self, status: Status) -> None:
        """Publish a new retained status (e.g. printer state); it is resent on every reconnect.

        Safe before start() and while disconnected: the status is kept and sent on connect.
        """
        self._version = status.version     # the farewell `offline` names the version last said online
        self.farewell = self._status_message("offline")
        self.publish_status(Retained(self.topics.status(self.device.id), status.to_payload()))

    def _explain(self, failure: ConnectionFailure) -> str:
        d, where, detail = self.device, self.login.where, failure.detail
        return {
            "refused": f"{d.id}: cannot connect to the hall server at {where}: {detail}; is motcua serve "
                       "running there, and is [hall] port in the device.toml right? Retrying",
            "unreachable": f"{d.id}: cannot reach the hall server at {where}: {detail}; check the network "
                           "and [hall] host in the device.toml. Retrying",
            "not_authorised": f"{d.id}: not authorised: this device is not registered on this hall server "
                              f"(the broker at {where} said: {detail}); add it on the hall server with "
                              f"'motcua device add {d.id}' and copy the new device.toml here (or check its "
                              "[hall] host and port). Retrying",
            "rejected": f"{d.id}: the hall server at {where} refused the connection: {detail}. Retrying",
        }[failure.kind]

    # --- messages (paho's thread) -----------------------------------------------

    def _on_message(self, client, userdata, msg):
        if msg.topic == self.topics.reply(self.device.id):
            try:
                reply = json.loads(msg.payload)
                waiter = self._pending.get(reply.get("id"))
            except (ValueError, AttributeError):
                waiter = None
            if waiter:
                waiter[1].append(reply)
                waiter[0].set()
                return
        if self.on_message:
            self.on_message(msg.topic, msg.payload)

    # --- requests -------------------------------------------------------------

    def new_id(self) -> str:
        return next(self._ids)

    def publish_request(self, action: str, rid: str, args: dict[str, Any]) -> None:
        self.publish(self.topics.request(self.device.id, action), encode({"id": rid, **args}))

    def request(self, action: str, args: dict[str, Any] | None = None, *, timeout: float = 2.0,
                attempts: int = 3, rid: str | None = None) -> dict[str, Any]:
        """The wire-level call: send a request, wait for its reply and return it as the decoded JSON object
        (untyped), resending with the same id on timeout; RequestTimeout when none comes. Devices use ask()."""
        rid = rid or self.new_id()
        done = threading.Event()
        box: list = []
        with self._lock:
            self._pending[rid] = (done, box)
        try:
            for _ in range(attempts):
                self.publish_request(action, rid, args or {})
                if done.wait(timeout):
                    return box[0]
            raise RequestTimeout(f"{self.device.id}: no reply to {action} {rid}")
        finally:
            with self._lock:
                self._pending.pop(rid, None)

    def ask(self, action: str, args: dict[str, Any] | None = None, *, timeout: float = 2.0, attempts: int = 3,
            rid: str | None = None) -> Reply:
        """request(), its reply typed by the action: ProtocolError if it does not decode; RequestTimeout."""
        if action not in ACTIONS:    # checked before sending: a reply no type can read is not worth asking for
            raise ProtocolError("unknown_action", action[:64])
        return read_reply(action, self.request(action, args, timeout=timeout, attempts=attempts, rid=rid))
