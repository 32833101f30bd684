"""The checked-in systemd unit lints clean, and `motcua serve` speaks sd_notify to it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import pytest

from tests.conftest import ROOT
from tests.hallproc import HallProcess

UNIT = ROOT / "systemd" / "motcua-hall.service"


def _verify(unit_text: str, tmp_path) -> str:
    # Point the unit at this checkout so verify can check ExecStart and EnvironmentFile exist.
    path = tmp_path / "motcua-hall.service"
    path.write_text(unit_text.replace("/opt/motcua", str(ROOT)).replace(
        "EnvironmentFile=/etc/default/motcua-hall", f"EnvironmentFile={ROOT / 'systemd' / 'motcua-hall.env'}"))
    res = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True)
    return (res.stdout + res.stderr).strip()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is part of Debian's systemd")
def test_unit_verifies_without_warnings(tmp_path):
    assert (ROOT / ".venv" / "bin" / "motcua").exists()
    assert _verify(UNIT.read_text(), tmp_path) == ""
    # The check can fail: an unknown key is only a warning, and a warning counts here.
    assert "Unknown key" in _verify(UNIT.read_text().replace("[Service]", "[Service]\nBogusKey=1"), tmp_path)


def test_serve_reports_ready_and_pings_the_watchdog(tmp_path):
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(15)
    hall = HallProcess(tmp_path, "sd-notify")
    os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"] = str(sock_path), "400000"
    try:
        hall.start()
    finally:
        del os.environ["NOTIFY_SOCKET"], os.environ["WATCHDOG_USEC"]
    try:
        got = [sock.recv(100).decode() for _ in range(3)]
        assert got == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"]
    finally:
        hall.stop()
        sock.close()
