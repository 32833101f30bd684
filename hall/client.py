"""The one MQTT client helper every hall device uses.

    c = HallClient(device_cfg, subscribe=["board"], on_message=handle)  # handle runs on paho's thread
    c.start()                                  # connects in the background, reconnects by itself
    reply = c.request("take-ticket", {"service": "ho-tich"})   # retried with the same id
    c.stop()

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
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import paho.mqtt.client as mqtt

from hall.device import DeviceConfig
from hall.protocol import Status, Topics, encode

log = logging.getLogger("motcua.client")

Handler = Callable[[str, bytes], None]


class RequestTimeout(TimeoutError):
    """The hall server did not answer: the device must say so, not pretend."""


# MQTT 5 reason codes (paho maps MQTT 3.1.1's CONNACK 4 and 5 onto them): the broker refused the login.
_NOT_AUTHORISED = (134, 135)    # bad user name or password, not authorized


@dataclass(frozen=True)
class ConnectionFailure:
    """Why the device cannot connect to the hall server now (HallClient.failure)."""
    kind: str      # refused: nothing listens on host:port (server down, wrong port) · unreachable: no route,
    #                timed out, unknown host name · not_authorised: the broker refused the device's login
    #                (not registered on this hall server, removed, wrong password) · rejected: any other refusal
    detail: str    # English: the OS error or the broker's reason, as they said it


class _Client(mqtt.Client):
    """paho's client, but it tells why a connection attempt failed: paho's loop swallows the OSError."""
    socket_error_hook: Callable[[OSError], None] | None = None

    def reconnect(self):
        try:
            return super().reconnect()
        except OSError as err:
            if self.socket_error_hook:
                self.socket_error_hook(err)
            raise


class HallClient:
    def __init__(self, device: DeviceConfig, subscribe: list[str] = (), on_message: Handler | None = None,
                 on_connection: Callable[[bool], None] | None = None, version: str = "",
                 protocol: int = mqtt.MQTTv311):
        self.device = device
        self.topics = Topics(device.hall)
        self.on_message = on_message
        self.on_connection = on_connection
        self.connected = threading.Event()
        self.connects = 0   # how many times a connection was made (reconnects show here)
        self.failure: ConnectionFailure | None = None   # why the last attempt failed; None once connected
        self._status = Status("online", device.role, version)
        self._subscriptions = [getattr(self.topics, name) if hasattr(self.topics, name) else name
                               for name in subscribe] + [self.topics.reply(device.id)]
        self._pending: dict[str, tuple[threading.Event, list]] = {}
        self._lock = threading.Lock()
        self._stopping = False
        # Unique per device across restarts: a fresh prefix each run, then a counter.
        self._ids = (f"{uuid.uuid4().hex[:10]}-{n}" for n in itertools.count(1))
        session = {} if protocol == mqtt.MQTTv5 else {"clean_session": True}
        self.client = _Client(mqtt.CallbackAPIVersion.VERSION2, client_id=device.id, protocol=protocol, **session)
        self.client.socket_error_hook = self._on_socket_error
        self.client.username_pw_set(device.id, device.password)
        self.client.will_set(self.topics.status(device.id), Status("offline", device.role, version).to_payload(),
                             qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=0.2, max_delay=2)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_socket_open = _no_delay

    # --- lifecycle ------------------------------------------------------------

    def start(self, wait: float | None = None) -> "HallClient":
        self.client.connect_async(self.device.host, self.device.port, keepalive=10)
        self.client.loop_start()
        if wait is not None and not self.connected.wait(wait):
            why = f" ({self.failure.kind}: {self.failure.detail})" if self.failure else ""
            raise ConnectionError(f"{self.device.id}: no connection to {self._where}{why}")
        return self

    def stop(self) -> None:
        self._stopping = True
        if self.connected.is_set():
            try:
                self.client.publish(self.topics.status(self.device.id),
                                    Status("offline", self.device.role, self._status.version).to_payload(),
                                    qos=1, retain=True).wait_for_publish(1)
            except (RuntimeError, ValueError):
                pass  # the connection dropped meanwhile: the broker sends our last will instead
        self.client.disconnect()
        self.client.loop_stop()

    def set_status(self, status: Status) -> None:
        """Publish a new retained status (e.g. printer state); it is resent on every reconnect.

        Safe before start() and while disconnected: the status is kept and sent on connect.
        """
        self._status = status
        self.client.publish(self.topics.status(self.device.id), status.to_payload(), qos=1, retain=True)

    # --- paho callbacks (paho's thread) ---------------------------------------

    def _on_connect(self, client, userdata, flags, reason, properties=None):
        if reason.is_failure:
            self._failed("not_authorised" if reason.value in _NOT_AUTHORISED else "rejected", str(reason))
            return
        if self.failure is not None or not self.connects:
            log.info("%s: connected to the hall server at %s", self.device.id, self._where)
        self.failure = None
        client.subscribe([(t, 1) for t in self._subscriptions])
        client.publish(self.topics.status(self.device.id), self._status.to_payload(), qos=1, retain=True)
        self.connects += 1
        self.connected.set()
        if self.on_connection:
            self.on_connection(True)

    def _on_disconnect(self, client, userdata, flags, reason, properties=None):
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self._stopping:
            log.warning("%s: lost the connection to the hall server at %s (%s); reconnecting",
                        self.device.id, self._where, reason)
        if was and self.on_connection:
            self.on_connection(False)

    def _on_socket_error(self, err: OSError) -> None:
        self._failed("refused" if isinstance(err, ConnectionRefusedError) else "unreachable",
                     err.strerror or str(err) or type(err).__name__)

    def _failed(self, kind: str, detail: str) -> None:
        # Retries come every 2 s for as long as the problem lasts: one line per kind, not one per retry.
        new = self.failure is None or self.failure.kind != kind
        self.failure = ConnectionFailure(kind, detail)
        if not new:
            return
        d, where = self.device, self._where
        log.warning({
            "refused": f"{d.id}: cannot connect to the hall server at {where}: {detail}; is motcua serve "
                       "running there, and is [hall] port in the device.toml right? Retrying",
            "unreachable": f"{d.id}: cannot reach the hall server at {where}: {detail}; check the network "
                           "and [hall] host in the device.toml. Retrying",
            "not_authorised": f"{d.id}: not authorised: this device is not registered on this hall server "
                              f"(the broker at {where} said: {detail}); add it on the hall server with "
                              f"'motcua device add {d.id}' and copy the new device.toml here (or check its "
                              "[hall] host and port). Retrying",
            "rejected": f"{d.id}: the hall server at {where} refused the connection: {detail}. Retrying",
        }[kind])
        if self.on_connection:
            self.on_connection(False)

    @property
    def _where(self) -> str:
        return f"{self.device.host}:{self.device.port}"

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
        self.client.publish(self.topics.request(self.device.id, action), encode({"id": rid, **args}), qos=1)

    def request(self, action: str, args: dict[str, Any] | None = None, *, timeout: float = 2.0,
                attempts: int = 3, rid: str | None = None) -> dict[str, Any]:
        """Send a request and wait for its reply, resending with the same id on timeout."""
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


def _no_delay(client, userdata, sock) -> None:
    # Small request/reply messages must not wait for Nagle's algorithm.
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
