"""The one MQTT connection every motcua program opens to its hall's Mosquitto.

    link = MqttLink(Login("127.0.0.1", 1883, "kiosk-1", password), log,
                    will=Retained(topics.status("kiosk-1"), offline), subscribe=[topics.board],
                    on_message=inbox.put)            # paho's thread: hand the Message over, or handle it
    link.start()                                     # connects in the background, reconnects by itself
    link.publish(topics.request("kiosk-1", "take-ticket"), payload)
    link.stop()             # publishes `farewell=` (retained) first when given; else the broker sends the will

The devices' HallClient (hall/client.py) and the hall service (broker/service.py) stand on it.
For both it logs in with the program's own user, leaves the last will with the broker, reconnects
with a backoff, subscribes again on every connect (a clean session forgets subscriptions; a
persistent one, the hall service's, keeps the requests that arrive while it is away), sends small
messages at once (TCP_NODELAY), and never gives up: it waits a capped, jittered exponential Backoff
between attempts (DEVICE_BACKOFF: 0.2 s doubling up to 2 s) for as long as it runs, and paho's
network thread, which ends on any exception but a refused connect, is started again. It says why it
cannot connect: `link.failure` is a ConnectionFailure (`refused`, `unreachable`, `not_authorised`,
`rejected`), logged as one WARNING per kind of failure, not one per retry, and
`on_connection(False)` is called each time the kind changes. `on_connection(True)` follows every
successful connect, after the subscriptions and the retained `status` (when the link has one) went
out. The broker is left with the latest status: an older one still in flight when the line dropped,
which paho resends after the reconnect, is followed by the latest again.
"""

from __future__ import annotations

import collections
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Self

import paho.mqtt.client as mqtt
from paho.mqtt.client import _ConnectionState

# paho's connection states this module looks at (paho-mqtt is pinned in requirements/).
_CONNECTED = _ConnectionState.MQTT_CS_CONNECTED
_CONNECT_ASYNC = _ConnectionState.MQTT_CS_CONNECT_ASYNC
_STOPPED = (_ConnectionState.MQTT_CS_DISCONNECTING, _ConnectionState.MQTT_CS_DISCONNECTED)

# MQTT 5 reason codes (paho maps MQTT 3.1.1's CONNACK 4 and 5 onto them): the broker refused the login.
NOT_AUTHORISED_CODES = (134, 135)    # bad user name or password, not authorized


@dataclass(frozen=True)
class Login:
    """Where the hall's Mosquitto is and who this program is on it."""
    host: str
    port: int
    username: str
    password: str
    client_id: str = ""      # the broker's session name; the user name when empty

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Retained:
    """A retained message: a status, a last will."""
    topic: str
    payload: bytes


@dataclass(frozen=True)
class Message:
    """A message as the broker delivered it."""
    topic: str
    payload: bytes
    retained: bool


@dataclass(frozen=True)
class ConnectionFailure:
    """Why the program cannot connect to the hall server now (MqttLink.failure)."""
    kind: str      # refused: nothing listens on host:port (server down, wrong port) · unreachable: no route,
    #                timed out, unknown host name · not_authorised: the broker refused the login
    #                (not registered on this hall server, removed, wrong password) · rejected: any other refusal
    detail: str    # English: the OS error or the broker's reason, as they said it


def generic_explanation(name: str, login: Login, failure: ConnectionFailure) -> str:
    """The WARNING a failure kind gets when the program has nothing better to say."""
    where, detail = login.where, failure.detail
    return {
        "refused": f"{name}: cannot connect to the hall's Mosquitto at {where}: {detail}. Retrying",
        "unreachable": f"{name}: cannot reach the hall's Mosquitto at {where}: {detail}. Retrying",
        "not_authorised": f"{name}: the hall's Mosquitto at {where} refused the login of user "
                          f"{login.username!r}: {detail}. Retrying",
        "rejected": f"{name}: the hall's Mosquitto at {where} refused the connection: {detail}. Retrying",
    }[failure.kind]


Explain = Callable[[ConnectionFailure], str]


@dataclass(frozen=True)
class Backoff:
    """The wait between two connection attempts: doubles from `first` up to `cap`, each wait drawn at
    random in [(1 - jitter) x, x], so that a hall's devices do not all knock at once when the server
    comes back. It never gives up: a device retries for as long as it runs (hours, days)."""
    first: float
    cap: float
    jitter: float = 0.5

    def wait(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        """The wait before retry number `attempt` (1, 2, ...) of a run of failures."""
        full = min(self.cap, self.first * 2 ** min(attempt - 1, 60))
        return full * (1 - self.jitter * draw())


# The devices' (kiosk, wall display, counter pad): on a hall's LAN a retry costs one TCP handshake, and a
# screen should be back within seconds of the hall server. The hall service's own is in broker/service.py.
DEVICE_BACKOFF = Backoff(0.2, 2.0)


class _PahoClient(mqtt.Client):
    """paho's client, but it tells why a connection attempt failed (paho's loop swallows the OSError),
    waits with motcua's Backoff (paho's has no jitter), and its network thread never ends by itself."""
    socket_error_hook: Callable[[OSError], None] | None = None
    crash_hook: Callable[[Exception], None] | None = None
    backoff: Backoff = DEVICE_BACKOFF
    _failures = 0        # attempts failed since the last successful connect

    def reconnect(self):
        try:
            return super().reconnect()
        except OSError as err:
            if self.socket_error_hook:
                self.socket_error_hook(err)
            raise

    def _handle_connack(self):
        # paho resets its own delay on a successful CONNACK; so does this backoff.
        rc = super()._handle_connack()
        if self._state == _CONNECTED:
            self._failures = 0
        return rc

    def _reconnect_wait(self) -> None:
        self._failures += 1
        deadline = time.monotonic() + self.backoff.wait(self._failures)
        # In short steps, as paho's own: stop() must not wait out a long backoff.
        while not self._thread_terminate and self._state not in _STOPPED:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.5))

    def _thread_main(self) -> None:
        # paho's loop ends on any exception but an OSError from connect: a host name the resolver cannot
        # even encode (UnicodeError), an exception in a callback (ours or the screen's). The device would
        # then sit disconnected for good, saying nothing. So the loop starts again, after a backoff.
        try:
            while not self._thread_terminate:
                try:
                    self.loop_forever(retry_first_connection=True)
                    return          # disconnect() or loop_stop(): asked to end
                except Exception as err:
                    if self._thread_terminate or self._state in _STOPPED:
                        return
                    try:
                        if self.crash_hook:
                            self.crash_hook(err)
                    except Exception:   # noqa: S110 - the hook's own failure must not end the loop either
                        pass
                    self._reconnect_wait()
                    if self._thread_terminate or self._state in _STOPPED:
                        return      # stop() came during the wait: a disconnect() is not undone
                    self._state = _CONNECT_ASYNC     # so loop_forever connects afresh (reconnect closes the socket)
        finally:
            self._thread = None


def no_delay(client, userdata, sock) -> None:
    """paho's on_socket_open: small request/reply messages must not wait for Nagle's algorithm."""
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class MqttLink:
    """One program's connection to the hall's Mosquitto; paho's callbacks run on paho's thread."""

    def __init__(self, login: Login, log: logging.Logger, *, name: str = "", peer: str = "the hall server",
                 subscribe: Sequence[str] = (), will: Retained | None = None, status: Retained | None = None,
                 farewell: Retained | None = None, persistent: bool = False,
                 protocol: mqtt.MQTTProtocolVersion = mqtt.MQTTv311,
                 backoff: Backoff | tuple[float, float] = DEVICE_BACKOFF,
                 max_inflight: int | None = None, explain: Explain | None = None,
                 on_message: Callable[[Message], None] | None = None,
                 on_connection: Callable[[bool], None] | None = None):
        self.login = login
        self.log = log
        self.name = name or login.username
        self.peer = peer            # what the log calls the other end
        self.subscriptions = list(subscribe)
        self.status = status        # republished, retained, on every connect (publish_status changes it)
        self.farewell = farewell    # published, retained, by a clean stop(); the will covers the rest
        self.deliver = on_message
        self.on_connection = on_connection
        self.explain = explain or (lambda failure: generic_explanation(self.name, login, failure))
        self.connected = threading.Event()
        # The retained status goes out only while connected, and the latest one at each connect. paho sends
        # the messages queued while disconnected only after on_connect has run, so a status queued then
        # (the kiosk's first, before its printer answered) could go out after a newer one published as
        # the connection came up, and the hall would keep the stale one. Taking the status and handing it
        # to paho is one step under this lock, on paho's thread and on the device's alike.
        self._status_lock = threading.Lock()
        self._status_live = False     # connected: publish_status sends at once (else on_connect will)
        # A status still waiting for its PUBACK when the line drops is resent by paho after the reconnect
        # (every QoS 1 message is, clean session or not), and after on_connect has run, so after the newer
        # status on_connect sent: the broker would keep the older one. So each status handed to paho gets
        # a number, and when the broker acknowledges one older than a status it already acknowledged (it
        # acknowledges in the order it takes them), it holds that older one now, and the latest goes
        # again (_take_acks). Under _status_lock.
        self._status_handed = 0       # statuses handed to paho so far
        self._status_acked = 0        # the number of the newest of them the broker acknowledged
        self._status_unacked: dict[int, tuple[int, Retained]] = {}   # paho's mid → (number, status)
        # paho calls on_publish holding its own lock, the one publish() takes, and publish_status holds
        # _status_lock while it publishes: on_publish waiting for _status_lock could deadlock. It leaves
        # (mid, landed) here and takes the queue only if the lock is free; a thread that held the lock
        # takes the queue after letting go of it, so none is left (_take_acks).
        self._acks: collections.deque[tuple[int, bool]] = collections.deque()
        self.connects = 0   # how many times a connection was made (reconnects show here)
        self.failure: ConnectionFailure | None = None   # why the last attempt failed; None once connected
        self._stopping = False
        self._crashed = ""    # the last exception paho's loop ended on (logged with its traceback once)
        # MQTT 5 has clean start instead; only 3.1.1 takes clean_session.
        self.client = _PahoClient(mqtt.CallbackAPIVersion.VERSION2, client_id=login.client_id or login.username,
                                  protocol=protocol, clean_session=None if protocol == mqtt.MQTTv5 else not persistent)
        self.client.socket_error_hook = self._on_socket_error
        self.client.crash_hook = self._on_crash
        self.client.username_pw_set(login.username, login.password)
        if will is not None:
            self.client.will_set(will.topic, will.payload, qos=1, retain=True)
        self.client.backoff = backoff if isinstance(backoff, Backoff) else Backoff(*backoff)
        if max_inflight is not None:
            self.client.max_inflight_messages_set(max_inflight)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.on_socket_open = no_delay

    # --- lifecycle ------------------------------------------------------------

    def start(self, wait: float | None = None) -> Self:
        """Connect in the background; with `wait`, raise ConnectionError unless connected within it."""
        self.client.connect_async(self.login.host, self.login.port, keepalive=10)
        self.client.loop_start()
        if wait is not None and not self.connected.wait(wait):
            why = f" ({self.failure.kind}: {self.failure.detail})" if self.failure else ""
            raise ConnectionError(f"{self.name}: no connection to {self.login.where}{why}")
        return self

    def stop(self, wait: float = 1.0) -> None:
        """Leave: publish the farewell (retained) first when connected, then disconnect."""
        self._stopping = True
        farewell = self.farewell
        if farewell is not None and self.connected.is_set():
            try:
                self.client.publish(farewell.topic, farewell.payload, qos=1, retain=True).wait_for_publish(wait)
            except (RuntimeError, ValueError):
                pass  # the connection dropped meanwhile: the broker sends the last will instead
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> mqtt.MQTTMessageInfo:
        """QoS 1, as everything in the hall; queued by paho while disconnected."""
        return self.client.publish(topic, payload, qos=1, retain=retain)

    def publish_status(self, status: Retained) -> None:
        """Publish a new retained status now when connected (else at the connect), and on every reconnect."""
        with self._status_lock:
            self.status = status
            if self._status_live:
                self._hand_status(status)
        self._take_acks(wait=True)    # the PUBACKs on_publish left while this thread held the lock

    def _hand_status(self, status: Retained) -> None:
        # Under _status_lock. A message paho could not keep (its queue full) is not waited for.
        info = self.client.publish(status.topic, status.payload, qos=1, retain=True)
        if info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):    # NO_CONN: kept, sent on connect
            self._status_handed += 1
            self._status_unacked[info.mid] = (self._status_handed, status)

    def _take_acks(self, wait: bool) -> None:
        """Handle the PUBACKs on_publish queued; wait=False (paho's thread) leaves them to the lock's holder."""
        while self._acks:
            if not self._status_lock.acquire(blocking=wait):
                return
            try:
                while self._acks:
                    mid, landed = self._acks.popleft()
                    sent = self._status_unacked.pop(mid, None)
                    if sent is None or not landed:
                        continue        # not a status, or refused (an MQTT 5 PUBACK can say so)
                    number, status = sent
                    if number > self._status_acked:
                        self._status_acked = number
                    elif status != self.status and self._status_live and self.status is not None:
                        # An older status reached the broker after a newer one: paho's resend after a
                        # reconnect. The latest goes again, so it is the last one the broker gets.
                        self._hand_status(self.status)
            finally:
                self._status_lock.release()

    # --- paho's callbacks (paho's thread) ---------------------------------------

    def _on_connect(self, client, userdata, flags, reason, properties=None):
        if reason.is_failure:
            self._failed("not_authorised" if reason.value in NOT_AUTHORISED_CODES else "rejected", str(reason))
            return
        if self.failure is not None or not self.connects:
            self.log.info("%s: connected to %s at %s", self.name, self.peer, self.login.where)
        self.failure = None
        if self.subscriptions:
            client.subscribe([(t, 1) for t in self.subscriptions])
        with self._status_lock:
            self._status_live = True
            if self.status is not None:
                self._hand_status(self.status)
        self.connects += 1
        self.connected.set()
        if self.on_connection:
            self.on_connection(True)

    def _on_disconnect(self, client, userdata, flags, reason, properties=None):
        with self._status_lock:
            self._status_live = False
        was = self.connected.is_set()
        self.connected.clear()
        if was and not self._stopping:
            self.log.warning("%s: lost the connection to %s at %s (%s); reconnecting",
                             self.name, self.peer, self.login.where, reason)
        if was and self.on_connection:
            self.on_connection(False)

    def _on_publish(self, client, userdata, mid, reason, properties=None):
        # A link with no status (the hall service's) has no PUBACK to check. self.status is set before any
        # status is handed over, so no status's PUBACK comes before this says so.
        if self.status is not None:
            self._acks.append((mid, not reason.is_failure))
            self._take_acks(wait=False)

    def _on_message(self, client, userdata, msg):
        if self.deliver:
            self.deliver(Message(msg.topic, msg.payload, bool(msg.retain)))

    def _on_socket_error(self, err: OSError) -> None:
        self._failed("refused" if isinstance(err, ConnectionRefusedError) else "unreachable",
                     err.strerror or str(err) or type(err).__name__)

    def _on_crash(self, err: Exception) -> None:
        # An ERROR with its traceback, once per distinct exception (not per retry): a bug, or a host name
        # no resolver takes, not a server that is down. The connection, if any, went with paho's loop.
        with self._status_lock:
            self._status_live = False
        was = self.connected.is_set()
        self.connected.clear()
        detail = f"{type(err).__name__}: {err}"
        if detail != self._crashed:
            self.log.error("%s: the connection to %s at %s broke on %s; retrying", self.name, self.peer,
                           self.login.where, detail, exc_info=err)
        self._crashed = detail
        if was and self.on_connection:
            self.on_connection(False)
        self._failed("unreachable", detail)

    def _failed(self, kind: str, detail: str) -> None:
        # Retries come every few seconds for as long as the problem lasts: one line per kind, not per retry.
        new = self.failure is None or self.failure.kind != kind
        self.failure = ConnectionFailure(kind, detail)
        if not new:
            return
        self.log.warning(self.explain(self.failure))
        if self.on_connection:
            self.on_connection(False)
