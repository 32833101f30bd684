"""Why a kiosk is not connected, told once in the log and plainly on its screen (issue 8, items 15/16).

Against a real Mosquitto (the hall fixture): a device whose password the broker refuses is told
"not authorised: this device is not registered on this hall server", and its screen says so
instead of promising to reconnect; a hall server that is down or on a wrong port is one WARNING
line, not silence and not one line per retry.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from hall.client import HallClient
from hall.device import DeviceConfig
from kiosk.texts import TEXTS
from tests.conftest import free_port, wait_for
from tests.kioskrun import Kiosk


def broker_refusals(hall) -> int:
    """How many logins Mosquitto has turned down: its own log says so."""
    return (hall.data_dir / "mosquitto" / "mosquitto.log").read_text(errors="replace").count("not authorised")


def client_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "motcua.client" and r.levelno == logging.WARNING]


def test_a_refused_password_says_not_registered_once_and_on_the_screen(hall, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    dev = replace(hall.add_device("kiosk-1", "kiosk"), password="not-the-password")
    with Kiosk(dev, None, tmp_path / "spool.db") as k:
        v = k.until(lambda v: v.screen == "offline" and v.body.title != TEXTS["connecting"][0], timeout=5)
        # At once, not after the 10 s of "connecting…": no waiting mends a refused login.
        assert v.body.title == "Máy lấy số chưa hoạt động. Vui lòng báo cán bộ."
        assert v.body.lines == ("Thiết bị này chưa được đăng ký với máy chủ của Bộ phận Một cửa — "
                                "vui lòng báo cán bộ kỹ thuật.",)
        assert "motcua device add" in v.body.detail
        assert TEXTS["reconnects"][0] not in v.body.lines
        failure = k.backend.client.failure
        assert failure.kind == "not_authorised" and failure.detail == "Not authorized"
        # The client keeps trying (the device may be added meanwhile) but says it once.
        before = broker_refusals(hall)
        wait_for(lambda: broker_refusals(hall) >= before + 3, timeout=15)
    warnings = client_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("kiosk-1: not authorised: this device is not registered on this hall server")
    assert "Not authorized" in warnings[0] and f"127.0.0.1:{hall.cfg.mqtt_port}" in warnings[0]


def test_a_device_the_hall_never_registered_is_told_the_same_in_english(hall, tmp_path):
    dev = replace(hall.add_device("kiosk-1", "kiosk"), id="kiosk-2")      # kiosk-2 is in no registry
    with Kiosk(dev, None, tmp_path / "spool.db") as k:
        k.model.lang = "en"
        v = k.until(lambda v: v.screen == "offline" and v.body.title != TEXTS["connecting"][1], timeout=5)
        assert v.body.title == "This kiosk is not working yet. Please ask a staff member."
        assert v.body.lines == ("This device is not registered on the one-stop office's server — "
                                "please tell the technical staff.",)
        assert k.backend.client.failure.kind == "not_authorised"


def test_server_down_or_wrong_port_is_one_warning_that_names_it(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    port = free_port()                      # nothing listens there: connection refused, as with the server down
    dev = DeviceConfig("kiosk-1", "kiosk", "secret", None, "t-nowhere", "127.0.0.1", port)
    attempts: list[str] = []
    client = HallClient(dev)
    client.client.on_log = lambda c, u, level, text: attempts.append(text) if "Connection failed" in text else None
    client.start()
    try:
        wait_for(lambda: len(attempts) >= 3, timeout=15)        # paho retried, over and over
        assert client.failure.kind == "refused" and "refused" in client.failure.detail.lower()
    finally:
        client.stop()
    warnings = client_warnings(caplog)
    assert warnings == [f"kiosk-1: cannot connect to the hall server at 127.0.0.1:{port}: Connection refused; "
                        "is motcua serve running there, and is [hall] port in the device.toml right? Retrying"]


def test_an_unreachable_host_is_its_own_kind(tmp_path, caplog):
    # A name that cannot resolve fails like a host without a route: it is the address that is wrong.
    dev = DeviceConfig("kiosk-1", "kiosk", "secret", None, "t-nowhere", "no-such-host.invalid", 1883)
    client = HallClient(dev)
    client.start()
    try:
        wait_for(lambda: client.failure is not None, timeout=15)
        assert client.failure.kind == "unreachable"
    finally:
        client.stop()
    [warning] = client_warnings(caplog)
    assert warning.startswith("kiosk-1: cannot reach the hall server at no-such-host.invalid:1883: ")
    assert "check the network and [hall] host" in warning


def test_a_good_connection_is_logged_at_info_and_a_clean_stop_is_no_warning(hall, caplog):
    caplog.set_level(logging.INFO)
    client = HallClient(hall.add_device("kiosk-1", "kiosk")).start(wait=5)
    try:
        assert client.failure is None
        assert any(r.levelno == logging.INFO and "connected to the hall server" in r.getMessage()
                   for r in caplog.records if r.name == "motcua.client")
    finally:
        client.stop()
    assert client_warnings(caplog) == []        # a clean stop is not "lost the connection"
