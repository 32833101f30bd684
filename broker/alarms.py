"""What the hall server warns its staff of: a disk almost full, a read-only file system, an old backup.

A Pi's SD card fills up or turns read-only (ext4 remounts itself read-only on errors) without anyone
looking at it; the hall must not lose data silently. The hall service polls these checks in its idle
tick, puts the alarms in its retained status (`device/hall/status`, so a dashboard can show them),
on every clerk's page, and `motcua status` prints them.

    alarms = HallAlarms(data_dir, checks=[backup_check(cfg.zone)])
    if alarms.poll(now):                   # True when the set of alarms changed
        publish(alarms.current)            # a tuple of hall.payloads.Alarm
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from broker.ledger import LOW_SPACE
from hall.payloads import Alarm

log = logging.getLogger("motcua.alarms")

# Below this the clerks are told the disk is almost full: a busy day stores about 2 MB of events
# (docs/hall-server.md), so 100 MB leaves weeks to act, and a 16 GB card reaches it only when full of
# something else (logs of another program, backups on the card itself).
DISK_LOW = 100 * 1024 * 1024
POLL_S = 30.0

Check = Callable[[Path, float], Sequence[Alarm]]


def storage_alarms(data_dir: Path, now: float = 0.0) -> list[Alarm]:
    """The data folder's file system: read-only, full, or almost full."""
    try:
        st = os.statvfs(data_dir)
    except OSError as exc:
        return [Alarm("storage_missing", f"Không đọc được thư mục dữ liệu của máy chủ ({exc.strerror}). "
                      "Báo người quản trị ngay.", f"cannot stat the data folder {data_dir}: {exc}")]
    if st.f_flag & os.ST_RDONLY:
        return [Alarm("read_only", "Thẻ nhớ của máy chủ đã chuyển sang chỉ đọc: không lưu được số mới. "
                      "Báo người quản trị ngay (có thể thẻ nhớ sắp hỏng).",
                      f"the file system of {data_dir} is read-only (an SD card failing?): nothing can be stored")]
    free = st.f_bavail * st.f_frsize
    mb = free // (1024 * 1024)
    if free < LOW_SPACE:
        return [Alarm("disk_full", "Ổ lưu trữ của máy chủ đã đầy: tạm ngưng cấp số. Báo người quản trị "
                      "để giải phóng dung lượng.", f"the disk of {data_dir} is full ({free // 1024} KB free)")]
    if free < DISK_LOW:
        return [Alarm("disk_low", f"Ổ lưu trữ của máy chủ sắp đầy (còn {mb} MB). Báo người quản trị "
                      "để giải phóng dung lượng.", f"the disk of {data_dir} is almost full ({mb} MB free)")]
    return []


def backup_check(zone: ZoneInfo) -> Check:
    """The nightly backup (broker/backup_schedule.py): an alarm when the last good one is over 2 days old."""
    def check(data_dir: Path, now: float) -> list[Alarm]:
        from broker.backup_schedule import backup_status  # the backup modules only when the hall runs
        status = backup_status(data_dir, now)
        vi, en = status.warning_vi(zone), status.warning_en(zone)
        return [Alarm("backup_stale", vi, en or "")] if vi else []
    return check


class HallAlarms:
    """The current alarms, polled every POLL_S by the hall service's worker; read from any thread."""

    def __init__(self, data_dir: str | Path, checks: Sequence[Check] = (), poll_s: float = POLL_S):
        self.data_dir = Path(data_dir)
        self.checks: list[Check] = [storage_alarms, *checks]
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._current: tuple[Alarm, ...] = ()
        self._polled_at: float | None = None
        self.storage_failed = False   # a write failed for the disk's sake; the worker clears it once one works

    @property
    def current(self) -> tuple[Alarm, ...]:
        with self._lock:
            return self._current

    def poll(self, now: float, force: bool = False) -> bool:
        """Run the checks when due (or `force`d: a write just failed); True if the alarms changed."""
        if not force and self._polled_at is not None and now - self._polled_at < self.poll_s:
            return False
        self._polled_at = now
        found: list[Alarm] = []
        for check in self.checks:
            try:
                found.extend(check(self.data_dir, now))
            except Exception:
                # A broken check must not stop the others, nor the hall.
                log.exception("an alarm check failed")
        new = tuple(found)
        with self._lock:
            old, self._current = self._current, new
        if new == old:
            return False
        for a in new:
            if a not in old:
                log.warning("alarm %s: %s", a.code, a.detail)
        for a in old:
            if a.code not in {n.code for n in new}:
                log.info("alarm %s is over", a.code)
        return True
