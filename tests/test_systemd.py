"""The checked-in hall unit lints clean, and `motcua serve` speaks sd_notify to it (the other units and
every unit's exposure score: tests/test_device_units.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess

import pytest

from tests.conftest import ROOT, wait_for
from tests.hallproc import HallProcess
from tests.test_device_units import Notifications

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


# The worker hangs for real: a sitecustomize.py of the test's (on PYTHONPATH; the product has no test
# hook) makes SIGUSR1 give the hall service an inbox whose lock is already held, so the worker's next
# inbox.get() never returns — a deadlock inside the real worker loop, while the main thread (the
# one that pings) runs on. SIGSTOP would stop every thread and prove nothing about healthy().
WORKER_HANG_SITE = '''
import gc, os, queue, signal

def _hang(signum, frame):
    for obj in gc.get_objects():
        if type(obj).__name__ == "HallService":
            locked = queue.Queue()
            locked.mutex.acquire()
            obj.inbox = locked
            with open(os.environ["MOTCUA_TEST_HANG_MARK"], "w") as f:
                f.write("worker")

signal.signal(signal.SIGUSR1, _hang)
'''


def test_serve_stops_pinging_when_its_worker_hangs(tmp_path):
    from broker.service import TICK_S
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(WORKER_HANG_SITE)
    notes = Notifications(tmp_path / "notify.sock")
    mark = tmp_path / "hung"
    hall = HallProcess(tmp_path, "sd-worker")
    extra = {"NOTIFY_SOCKET": str(notes.path), "WATCHDOG_USEC": "600000", "PYTHONPATH": str(site),
             "MOTCUA_TEST_HANG_MARK": str(mark)}
    os.environ.update(extra)
    try:
        hall.start()
    finally:
        for key in extra:
            del os.environ[key]
    try:
        notes.until(lambda m: m == "READY=1", timeout=15)
        before = notes.pings_in(3.0)
        assert before >= 5
        hall.proc.send_signal(signal.SIGUSR1)
        wait_for(mark.exists, timeout=5)
        # healthy() allows the worker 10 ticks before it counts as hung; the pings may run that long.
        notes.pings_in(10 * TICK_S + 1.0)
        assert hall.proc.poll() is None
        assert (before, notes.pings_in(3.0)) == (before, 0)
    finally:
        hall.kill()      # SIGTERM would wait on the worker's inbox, which the hang holds
        hall.stop()
        notes.close()
