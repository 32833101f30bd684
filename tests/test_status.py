"""`motcua status`, and the backup alarm of a running hall (issue 12 §4, §6): a real `motcua serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from hall.client import HallClient
from hall.protocol import Status, Topics
from tests.conftest import ROOT, unique_hall_id, wait_for
from tests.hallproc import HallProcess


def status(hall: HallProcess) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motcua_cli.main", "status", "--config", str(hall.config),
                           "--data", str(hall.data)], cwd=ROOT, capture_output=True, text=True, timeout=60)


def backup(hall: HallProcess, to) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motcua_cli.main", "backup", "now", "--config", str(hall.config),
                           "--data", str(hall.data), "--to", str(to)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


def age(hall: HallProcess, days: float) -> None:
    """Make the hall `days` old: the backup status dates a hall by its hall.secret."""
    then = time.time() - days * 86400
    os.utime(hall.data / "hall.secret", (then, then))


@pytest.fixture
def hall(tmp_path, request):
    h = HallProcess(tmp_path, unique_hall_id(request.node.name))
    h.provision([("kiosk-1", "kiosk", None)])
    yield h
    h.stop()


def test_status_says_serving_devices_and_the_backup_then_warns_when_it_is_old(hall, tmp_path):
    hall.start()
    out = status(hall)
    assert f"hall {hall.cfg.id!r} (UBND xã Dang Kang)" in out.stdout
    assert f"serving (pid {hall.proc.pid})" in out.stdout
    assert "kiosk-1 kiosk never seen" in out.stdout and "none yet (motcua backup now)" in out.stdout
    assert "MB free" in out.stdout and "Traceback" not in out.stderr
    assert out.returncode == (0 if "alarms    none" in out.stdout else 1)
    # A hall three days old with no backup: the alarm, in English and Vietnamese, and exit 1.
    age(hall, 3)
    old = status(hall)
    assert old.returncode == 1 and "backup_stale: no backup of the hall has been taken yet" in old.stdout
    assert "Chưa có bản sao lưu dữ liệu nào" in old.stdout
    # A backup taken now ends it.
    made = backup(hall, tmp_path / "stick")
    assert made.returncode == 0, made.stderr
    after = status(hall)
    assert "backup_stale" not in after.stdout and "last good" in after.stdout
    assert str(tmp_path / "stick") in after.stdout


def test_status_of_a_stopped_hall_says_so(hall):
    hall.start()
    hall.stop()
    out = status(hall)
    assert out.returncode == 1 and "NOT RUNNING" in out.stdout and "Traceback" not in out.stderr


def test_a_running_hall_puts_the_old_backup_in_its_retained_status(hall, tmp_path):
    (hall.data).mkdir(parents=True, exist_ok=True)
    age(hall, 3)
    hall.start()
    heard: list[Status] = []
    topic = Topics(hall.cfg.id).server_status
    devices = hall.provision([("display-1", "display", None)])
    display = HallClient(devices["display-1"], subscribe=["server_status"],
                         on_message=lambda t, p: heard.append(Status.from_payload(p)) if t == topic else None)
    display.start(wait=5)
    try:
        got = wait_for(lambda: next((s for s in heard if any(a.code == "backup_stale" for a in s.alarms)), None),
                       timeout=10)
        (alarm,) = [a for a in got.alarms if a.code == "backup_stale"]
        assert "sao lưu" in alarm.message and alarm.detail.startswith("no backup")
    finally:
        display.stop()
