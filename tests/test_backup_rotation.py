"""Rotation over a simulated year, the nightly schedule, the stale-backup warning, and finding the USB stick."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from broker.backup import BackupError, rotate
from broker.backup_place import MARKER, NotAStick, destination, prepare_usb, usb_folder
from broker.backup_rotation import backup_name, parse_name, to_keep
from broker.backup_schedule import (
    STALE_AFTER_S,
    BackupSchedule,
    BackupState,
    backup_now,
    backup_status,
    read_state,
    write_state,
)
from broker.ledger import Ledger
from broker.server import server_secret
from hall.config import load_hall
from tests.conftest import EXAMPLE, at, wait_for

CFG = load_hall(EXAMPLE)
HALL = CFG.id


def name(stamp: str) -> str:
    return f"motcua-{HALL}-{stamp}.zip"


def test_names_round_trip_and_other_files_are_not_backups():
    t = datetime(2026, 12, 2, 2, 0, 3)
    assert backup_name("dang-kang", t) == "motcua-dang-kang-20261202-020003.zip"
    assert parse_name("motcua-dang-kang-20261202-020003.zip") == ("dang-kang", t)
    assert parse_name("motcua-xa-2-b-20261202-020003-2.zip") == ("xa-2-b", t.replace(microsecond=2))
    for other in ("photo.jpg", "motcua-dang-kang-20261399-020003.zip", ".motcua-tmp-12.zip",
                  "motcua-dang-kang-20261202-020003.zip.part"):
        assert parse_name(other) is None


def test_rotation_over_a_simulated_year_keeps_exactly_7_daily_5_weekly_12_monthly(tmp_path):
    """A nightly backup at 02:00 all of 2026, a manual one on Wednesdays at 10:30, the server off
    20–28 February (Tết); rotation runs after every backup, as `backup now` and the nightly one do."""
    folder = tmp_path / "stick"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(b"not ours")
    (folder / "motcua-xa-ben-canh-20260105-020000.zip").write_bytes(b"another hall's")
    day = datetime(2026, 1, 1, 2, 0)
    while day <= datetime(2026, 12, 31, 2, 0):
        if not (datetime(2026, 2, 20) <= day < datetime(2026, 3, 1)):
            times = [day] + ([day.replace(hour=10, minute=30)] if day.weekday() == 2 else [])
            for t in times:
                if t <= datetime(2026, 12, 31, 2, 0):
                    (folder / backup_name(HALL, t)).write_bytes(b"zip")
                    rotate(folder, HALL, t)
        day += timedelta(days=1)

    daily = ["20261225-020000", "20261226-020000", "20261227-020000", "20261228-020000",
             "20261229-020000", "20261230-103000", "20261231-020000"]     # Wed 30th: its newest, 10:30
    weekly = ["20261206-020000", "20261213-020000", "20261220-020000"]   # + 27th (W52) and 31st (W53), daily
    monthly = ["20260131-020000", "20260219-020000",                     # February's last is the 19th: Tết
               "20260331-020000", "20260430-020000", "20260531-020000", "20260630-020000",
               "20260731-020000", "20260831-020000", "20260930-103000", "20261031-020000",
               "20261130-020000"]                                         # + December's 31st, daily
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted([name(s) for s in daily + weekly + monthly]
                          + ["motcua-xa-ben-canh-20260105-020000.zip", "photo.jpg"])


def test_a_gap_never_costs_the_backups_that_are_left():
    """The server off for the last 10 days: the 7 newest days that have a backup are all kept."""
    backups = [(name(f"202612{d:02d}-020000"), datetime(2026, 12, d, 2)) for d in range(1, 22)]
    keep = to_keep(backups, now=datetime(2026, 12, 31, 12))
    assert {n for n, _ in backups[-7:]} <= keep
    assert name("20261214-020000") not in keep     # the 8th newest day, not the newest of its week
    # A file from a wrong clock (2030) is kept and takes no slot: still 7 daily ones besides it.
    future = (name("20300101-020000"), datetime(2030, 1, 1, 2))
    keep2 = to_keep([*backups, future], now=datetime(2026, 12, 31, 12))
    assert keep2 == keep | {future[0]}


@pytest.fixture
def data(tmp_path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    Ledger(d / "hall.db").close()
    server_secret(d)
    return d


def test_backup_status_is_stale_after_two_days(data):
    now = at(2026, 12, 2, 9)
    os.utime(data / "hall.secret", (now - 3600, now - 3600))
    s = backup_status(data, now)
    assert (s.last_good_at, s.stale) == (None, False), "a hall made an hour ago has had no night yet"
    assert s.warning_vi(CFG.zone) is None
    os.utime(data / "hall.secret", (now - 3 * 86400, now - 3 * 86400))
    s = backup_status(data, now)
    assert s.stale and "Chưa có bản sao lưu" in s.warning_vi(CFG.zone)

    write_state(data, BackupState(now - STALE_AFTER_S + 60, "/media/usb/motcua-backup/x.zip", "usb", now))
    s = backup_status(data, now)
    assert (s.stale, s.file, s.place) == (False, "/media/usb/motcua-backup/x.zip", "usb")
    assert s.age_s == pytest.approx(STALE_AFTER_S - 60)
    write_state(data, BackupState(now - STALE_AFTER_S - 60, "/media/usb/motcua-backup/x.zip", "usb", now))
    s = backup_status(data, now)
    assert s.stale
    assert s.warning_vi(CFG.zone).startswith("Đã 2 ngày chưa sao lưu dữ liệu (lần cuối lúc 08:59 ngày 30/11/2026)")
    assert "2.0 days old" in s.warning_en(CFG.zone)


def test_a_failed_backup_is_noted_and_the_last_good_one_stays(data, tmp_path):
    now = at(2026, 12, 2, 2)
    good = backup_now(data, CFG, now, to=tmp_path / "folder")
    blocked = tmp_path / "a-file"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(BackupError) as failed:
        backup_now(data, CFG, now + 86400, to=blocked)
    assert failed.value.code == "cannot_write" and "Không ghi được" in failed.value.vi
    s = backup_status(data, now + 3 * 86400)
    assert s.file == str(good.backup.path) and s.stale
    assert "cannot write" in s.last_error and "Lỗi lần gần nhất" in s.warning_vi(CFG.zone)


def test_the_nightly_schedule_runs_once_a_day_after_its_hour_and_retries_a_failure(data, tmp_path):
    folder = tmp_path / "backups"
    sched = BackupSchedule(data, CFG, folder=folder, hour=2, mounts=tmp_path / "no-mounts")
    assert sched.due(at(2026, 12, 2, 1, 0)), "never backed up: due at once"
    assert sched.run(at(2026, 12, 2, 1, 0)) is not None
    assert not sched.due(at(2026, 12, 2, 1, 59)), "this backup day began yesterday at 02:00"
    assert sched.due(at(2026, 12, 2, 2, 0))
    sched.run(at(2026, 12, 2, 2, 0))
    assert not sched.due(at(2026, 12, 2, 23, 59))
    assert sched.due(at(2026, 12, 3, 2, 0))
    # A Pi switched off at night backs up when it is switched on in the morning.
    assert sched.due(at(2026, 12, 5, 7, 30))
    assert len(list(folder.glob("motcua-*.zip"))) == 1, "two backups of one day: rotation kept the newest"

    shutil.rmtree(folder)
    folder.write_text("a file where the folder should be")
    t = at(2026, 12, 5, 7, 30)
    assert sched.run(t) is None                         # logged, never raised into the server
    assert read_state(data).last_attempt_at == t and read_state(data).last_error
    assert not sched.due(t + 60), "a failure is not tried again every minute"
    assert sched.due(t + 3600), "... but an hour later"


def test_the_schedule_loop_backs_up_on_its_own_and_stops(data, tmp_path):
    sched = BackupSchedule(data, CFG, folder=tmp_path / "backups", mounts=tmp_path / "no-mounts")
    stop = threading.Event()
    thread = threading.Thread(target=sched.loop, args=(stop, time.time, 0.01), daemon=True)
    thread.start()
    try:
        wait_for(lambda: list((tmp_path / "backups").glob("motcua-*.zip")), timeout=10)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert read_state(data).last_good_place == "folder"


@pytest.fixture
def other_disk(tmp_path):
    """A folder on another file system than tmp_path (tmpfs /dev/shm), as a USB stick is."""
    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system to stand for the stick")
    base = Path("/dev/shm") / f"motcua-test-{uuid.uuid4().hex[:8]}"
    base.mkdir()
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_the_stick_is_found_only_when_prepared_and_on_another_disk(data, tmp_path, other_disk):
    stick = other_disk / "media" / "usb stick"            # a space: /proc/mounts writes it \040
    stick.mkdir(parents=True)
    sd_mount = tmp_path / "media" / "sd"                  # a mount point left empty, on the SD card
    (sd_mount / MARKER).mkdir(parents=True)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 {str(stick).replace(' ', chr(92) + '040')} vfat rw 0 0\n"
                      f"/dev/mmcblk0p2 {sd_mount} ext4 rw 0 0\n")
    roots = (str(other_disk / "media"), str(tmp_path / "media"))
    assert usb_folder(data, mounts, roots) is None, "a stick without the marker, a marker on the SD card"
    assert destination(data, mounts=mounts, roots=roots) == (data / "backups", "folder")

    with pytest.raises(NotAStick):
        prepare_usb(sd_mount, data)
    folder = prepare_usb(stick, data)
    assert folder == stick / MARKER and "sao lưu" in (folder / "DOC-TOI.txt").read_text(encoding="utf-8")
    assert usb_folder(data, mounts, roots) == folder
    done = backup_now(data, CFG, at(2026, 12, 2, 2), mounts=mounts, roots=roots)
    assert done.place == "usb" and done.backup.path.parent == folder
    assert backup_status(data, at(2026, 12, 2, 3)).place == "usb"
    # --to wins over the stick; a stick not listed as mounted is not used.
    assert destination(data, to=tmp_path / "x", mounts=mounts, roots=roots) == (tmp_path / "x", "folder")
    mounts.write_text("")
    assert usb_folder(data, mounts, roots) is None


def test_a_backup_on_the_servers_own_disk_leaves_the_ledger_room(tmp_path, monkeypatch):
    import broker.backup
    odd = tmp_path / "dữ liệu ?#%"          # a URI would read '?' and '#': the copy must not
    odd.mkdir()
    Ledger(odd / "hall.db").close()
    server_secret(odd)
    monkeypatch.setattr(broker.backup, "RESERVE", 1 << 60)
    with pytest.raises(BackupError) as refused:
        backup_now(odd, CFG, at(2026, 12, 2, 2))
    assert refused.value.code == "low_space" and "USB" in refused.value.vi
    assert not list((odd / "backups").iterdir())
    monkeypatch.setattr(broker.backup, "RESERVE", 0)
    done = backup_now(odd, CFG, at(2026, 12, 2, 2))
    assert done.backup.path.parent == odd / "backups" and done.backup.manifest.member("hall.db")
