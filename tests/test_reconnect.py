"""Devices reconnect forever, with a capped and jittered exponential backoff (issue 12, item 6).

The backoff's limits are the link's own parameter (hall.link.Backoff): here milliseconds, so that
"many failed attempts" (an hour of the hall server being away, at the production 2 s cap) takes
seconds. The production values are hall.link.DEVICE_BACKOFF, documented in docs/kiosk.md.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from hall.client import HallClient
from hall.link import DEVICE_BACKOFF, Backoff
from hall.protocol import Board
from tests.conftest import wait_for

FAST = Backoff(0.01, 0.08)


def attempt_times(client: HallClient) -> list[float]:
    """The moments the client's failed connection attempts ended (the OS refused or could not resolve)."""
    times: list[float] = []
    hook = client.client.socket_error_hook

    def seen(err: OSError) -> None:
        times.append(time.monotonic())
        if hook:
            hook(err)
    client.client.socket_error_hook = seen
    return times


def crash_times(client: HallClient) -> list[float]:
    """The moments paho's loop ended on an exception other than a refused connect (and was started again)."""
    times: list[float] = []
    hook = client.client.crash_hook

    def seen(err: Exception) -> None:
        times.append(time.monotonic())
        if hook:
            hook(err)
    client.client.crash_hook = seen
    return times


def retries_for_good(client: HallClient, attempts: int) -> None:
    """`attempts` failed attempts go by, and the client still tries: its network thread runs on."""
    failed = attempt_times(client)
    crashed = crash_times(client)
    client.start()
    try:
        wait_for(lambda: len(failed) + len(crashed) >= attempts, timeout=20)
        assert network_thread_alive(client)
        assert client.failure is not None and client.failure.kind == "unreachable"
    finally:
        client.stop()
    assert not network_thread_alive(client)     # and stop() still ends it


def network_thread_alive(client: HallClient) -> bool:
    thread = client.client._thread
    return thread is not None and thread.is_alive()


def test_the_backoff_doubles_to_its_cap_with_jitter_and_never_ends():
    b = Backoff(0.2, 2.0, jitter=0.5)
    assert [b.wait(n, draw=lambda: 0.0) for n in range(1, 7)] == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert [b.wait(n, draw=lambda: 1.0) for n in (1, 5)] == [0.1, 1.0]
    assert b.wait(10**9) <= 2.0        # the millionth failure waits the cap, no overflow, no end
    waits = {round(b.wait(8), 6) for _ in range(50)}
    assert len(waits) > 10 and min(waits) >= 1.0 and max(waits) <= 2.0
    assert DEVICE_BACKOFF == Backoff(0.2, 2.0, 0.5)


def test_devices_come_back_after_many_failed_attempts_against_a_gone_mosquitto(hall, connect):
    kiosk_dev = hall.add_device("kiosk-1", "kiosk")
    boards: list[Board] = []
    ups: list[bool] = []
    kiosk = HallClient(kiosk_dev, backoff=FAST, on_connection=ups.append).start(wait=5)
    display = HallClient(hall.add_device("display-1", "display"), subscribe=["board"], backoff=FAST,
                         on_message=lambda topic, p: boards.append(Board.from_payload(p))).start(wait=5)
    try:
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1001"
        tries = attempt_times(kiosk)
        hall.stop_watchdog()           # or the hall server would start Mosquitto again at once
        hall.broker.stop()
        # The broker is away for 40 attempts: each refused, the wait between them growing to the cap.
        wait_for(lambda: len(tries) >= 40, timeout=30)
        assert False in ups and not kiosk.connected.is_set()
        assert kiosk.failure is not None and kiosk.failure.kind == "refused"
        gaps = [b - a for a, b in zip(tries[10:], tries[11:], strict=False)]
        assert max(gaps) < FAST.cap + 0.25          # capped (plus a connect's own time)
        assert min(gaps) >= FAST.cap * (1 - FAST.jitter) - 0.005
        assert len({round(g, 3) for g in gaps}) > 5  # jittered: not one fixed period
        assert network_thread_alive(kiosk) and network_thread_alive(display)
        boards.clear()
        hall.broker.start()
        wait_for(lambda: kiosk.connected.is_set() and display.connected.is_set(), timeout=FAST.cap + 5)
        assert ups[-1] is True
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1002"
        wait_for(lambda: boards and boards[-1].seq > 0)
    finally:
        kiosk.stop()
        display.stop()


def test_a_host_that_does_not_resolve_is_retried_for_good(hall, caplog):
    # Neither a resolver's "no such host" nor a name it cannot even encode (paho's loop ended on that
    # UnicodeError, and the device sat offline for good) stops the retries.
    caplog.set_level(logging.INFO)
    dev = hall.add_device("kiosk-1", "kiosk")
    for host in ("no-such-hall.invalid", "a" * 70 + ".lan"):
        retries_for_good(HallClient(replace(dev, host=host), backoff=FAST), attempts=15)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "motcua.client"]
    assert len(errors) == 1 and "UnicodeError" in errors[0].getMessage()   # once, not once per retry


def test_a_screen_handler_that_raises_does_not_end_the_connection_for_good(hall, connect):
    # A bug in a screen's callback (it runs on paho's thread) used to end paho's loop: the device
    # stayed offline until restarted. Now the link starts again and gets through.
    calls: list[bool] = []
    lock = threading.Lock()

    def buggy(up: bool) -> None:
        with lock:
            calls.append(up)
            if up and calls.count(True) <= 3:
                raise RuntimeError("a bug in the screen")
    client = HallClient(hall.add_device("kiosk-1", "kiosk"), backoff=FAST, on_connection=buggy)
    client.start()
    try:
        wait_for(lambda: calls.count(True) >= 4, timeout=10)
        wait_for(client.connected.is_set)
        assert network_thread_alive(client)
        assert client.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1001"
    finally:
        client.stop()
