"""The hall server warns its staff (broker/alarms.py): a disk almost full or full, read-only storage.

Real file systems: small tmpfs mounts of our own (root only, as CI runs), one mounted read-only,
and a real `motcua serve` whose clerk's page shows the alarm. The full disk's refusals, the alarm
in the retained status and the recovery are in tests/test_first_hall.py.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess

import pytest
from playwright.sync_api import expect

from broker.alarms import DISK_LOW, HallAlarms, storage_alarms
from broker.ledger import storage_failure
from hall.payloads import Alarm
from tests.conftest import unique_hall_id
from tests.disks import fill, mount_tmpfs, umount
from tests.test_clerk_page import LAN, Clerk, Hall, browser  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a file system needs root (CI runs as root)")


@pytest.fixture
def small(tmp_path):
    yield mount_tmpfs(tmp_path / "small", "4m")
    umount(tmp_path / "small")


def test_a_small_disk_is_almost_full_and_a_full_one_full(small, tmp_path):
    assert [a.code for a in storage_alarms(small)] == ["disk_low"]
    assert "sắp đầy" in storage_alarms(small)[0].message and "MB free" in storage_alarms(small)[0].detail
    fill(small)
    (full,) = storage_alarms(small)
    assert full.code == "disk_full" and "đã đầy" in full.message
    (small / "filler").unlink()
    assert [a.code for a in storage_alarms(small)] == ["disk_low"]
    # This machine's own disk has room to spare (or the test cannot say anything about it).
    if os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize > 2 * DISK_LOW:
        assert storage_alarms(tmp_path) == []


def test_read_only_storage_is_said_and_its_sqlite_error_is_known(tmp_path):
    disk = mount_tmpfs(tmp_path / "card", "4m")
    try:
        db = sqlite3.connect(disk / "hall.db")
        db.execute("CREATE TABLE t(x)")
        db.commit()
        db.close()
        # What ext4 does to a failing SD card (errors=remount-ro); no file is open, so it may.
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        (alarm,) = storage_alarms(disk)
        assert alarm.code == "read_only" and "chỉ đọc" in alarm.message
        db = sqlite3.connect(disk / "hall.db")
        with pytest.raises(sqlite3.Error) as err:
            db.execute("INSERT INTO t VALUES (1)")
            db.commit()
        assert storage_failure(err.value) == "read_only"
        with pytest.raises(OSError) as oserr:
            (disk / "x").write_text("x")
        assert storage_failure(oserr.value) == "read_only"
        db.close()
    finally:
        umount(disk)


def test_other_errors_are_not_storage_trouble(tmp_path):
    db = sqlite3.connect(tmp_path / "x.db")
    with pytest.raises(sqlite3.Error) as err:
        db.execute("SELECT * FROM nowhere")
    assert storage_failure(err.value) is None
    assert storage_failure(ValueError("full of beans")) is None
    assert storage_failure(FileNotFoundError(2, "gone")) is None


def test_alarms_are_polled_when_due_or_forced_and_say_only_changes(small, caplog):
    caplog.set_level(logging.INFO, logger="motcua")
    found: list[list[Alarm]] = [[]]
    alarms = HallAlarms(small, checks=[lambda d, now: found[0]], poll_s=30)
    assert alarms.poll(0.0) and [a.code for a in alarms.current] == ["disk_low"]
    assert not alarms.poll(10.0), "nothing changed"
    found[0] = [Alarm("backup_stale", "Chưa sao lưu", "no backup")]
    assert not alarms.poll(20.0), "not due yet"
    assert alarms.poll(20.0, force=True) and [a.code for a in alarms.current] == ["disk_low", "backup_stale"]
    found[0] = []
    assert alarms.poll(60.0) and [a.code for a in alarms.current] == ["disk_low"]
    assert "alarm backup_stale is over" in caplog.text


def test_a_broken_check_does_not_hide_the_others(small, caplog):
    def broken(d, now):
        raise RuntimeError("oops")
    alarms = HallAlarms(small, checks=[broken])
    assert alarms.poll(0.0) and [a.code for a in alarms.current] == ["disk_low"]
    assert "an alarm check failed" in caplog.text


@pytest.mark.browser
def test_the_clerks_page_shows_the_alarm_band(tmp_path, request, browser):  # noqa: F811
    # A hall whose data lives on a 16 MB card: almost full from the start, as the page must say.
    disk = mount_tmpfs(tmp_path / "card", "16m")
    hall = Hall(disk, unique_hall_id(request.node.name))
    try:
        lan = Clerk(browser, hall.base, "lan")
        lan.login(LAN)
        band = lan.page.locator("#alarms")
        expect(band).to_be_visible()
        expect(band).to_contain_text("Ổ lưu trữ của máy chủ sắp đầy")
        lan.choose(1)
        expect(band).to_be_visible()
        lan.shot("alarm-disk-low")
        lan.page.click("#s-main .js-logout")
        expect(band).to_be_hidden()
        assert not lan.errors
    finally:
        hall.stop()
        umount(disk)
