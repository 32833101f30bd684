"""Taking backups as the hall needs them: now, or nightly; and whether the last good one is too old.

    done = backup_now(data_dir, cfg, now)              # a BackupResult: backup, place, deleted
    s = backup_status(data_dir, now)                   # BackupStatus: last_good_at, file, age_s, stale …
    s.warning_vi(cfg.zone)                             # the pages' line when stale, else None
    schedule = BackupSchedule(data_dir, cfg, hour=2)   # the hall server's backup thread:
    threading.Thread(target=schedule.loop, args=(stop_event, clock), daemon=True).start()

The data folder keeps DATA/backup-state.json (written whole: temp, fsync, rename): the last good
backup (time, file, place) and the last failed attempt. Reading it is one small file, so
`motcua status` and every clerk page can ask.

Nightly means: once per day after `hour` (local), as soon as the server is up. A hall whose Pi
is switched off at night backs up when it is switched on in the morning; a hall server that
was down for a week backs up at once. A failed attempt is tried again an hour later.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from broker.backup import Backup, BackupError, rotate, take_backup
from broker.backup_place import MOUNTS, USB_ROOTS, destination
from broker.durable import write_durably
from hall.config import HallConfig

log = logging.getLogger("motcua.backup")

STATE_FILE = "backup-state.json"
STALE_AFTER_S = 2 * 86400
RETRY_S = 3600


@dataclass(frozen=True)
class BackupState:
    last_good_at: float | None = None
    last_good_file: str | None = None
    last_good_place: str | None = None     # "usb" or "folder"
    last_attempt_at: float | None = None
    last_error: str | None = None          # English, of the last attempt when it failed
    last_error_vi: str | None = None


def read_state(data_dir: str | Path) -> BackupState:
    try:
        d = json.loads((Path(data_dir) / STATE_FILE).read_text(encoding="utf-8"))
        return BackupState(**{k: d.get(k) for k in BackupState.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return BackupState()


def write_state(data_dir: str | Path, state: BackupState) -> None:
    # 0644: no secret in it, and the service's user must read what root's `backup now` wrote. A temp
    # name per process and thread: the server's nightly backup and a `backup now` may write at once.
    write_durably(Path(data_dir) / STATE_FILE, json.dumps(state.__dict__, ensure_ascii=False, indent=1).encode(),
                  0o644, tmp=f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}")


@dataclass(frozen=True)
class BackupStatus:
    """What the pages and `motcua status` show about backups."""
    last_good_at: float | None     # epoch seconds of the last good backup; None: never
    file: str | None               # where it was written
    place: str | None              # "usb" (a stick) or "folder" (the server's own disk, or --to)
    age_s: float | None            # now − last_good_at
    stale: bool                    # older than 2 days (or none, on a hall older than 2 days)
    last_error: str | None = None  # the last attempt's failure, English (logs, `status`)
    last_error_vi: str | None = None

    def warning_vi(self, zone: ZoneInfo) -> str | None:
        """The line a clerk's or the head's page shows when the backup is stale, else None."""
        if not self.stale:
            return None
        if self.last_good_at is None or self.age_s is None:
            text = "Chưa có bản sao lưu dữ liệu nào của Bộ phận Một cửa."
        else:
            when = datetime.fromtimestamp(self.last_good_at, zone).strftime("%H:%M ngày %d/%m/%Y")
            text = f"Đã {int(self.age_s // 86400)} ngày chưa sao lưu dữ liệu (lần cuối lúc {when})."
        why = f" Lỗi lần gần nhất: {self.last_error_vi}" if self.last_error_vi else ""
        return text + why + " Hãy cắm thẻ nhớ USB sao lưu vào máy chủ hoặc báo cán bộ kỹ thuật."

    def warning_en(self, zone: ZoneInfo) -> str | None:
        if not self.stale:
            return None
        if self.last_good_at is None or self.age_s is None:
            text = "no backup of the hall has been taken yet"
        else:
            when = datetime.fromtimestamp(self.last_good_at, zone).strftime("%Y-%m-%d %H:%M")
            text = f"the last good backup is {self.age_s / 86400:.1f} days old ({when}, {self.file})"
        return text + (f"; last attempt failed: {self.last_error}" if self.last_error else "")


def backup_status(data_dir: str | Path, now: float) -> BackupStatus:
    """The last good backup of the data folder and whether it is stale (older than 2 days)."""
    st = read_state(data_dir)
    if st.last_good_at is None:
        # A hall installed this morning has had no night yet: stale once the hall is 2 days old
        # (hall.secret is written once, when the hall is made).
        try:
            born = os.stat(Path(data_dir) / "hall.secret").st_mtime
        except OSError:
            born = now
        return BackupStatus(None, None, None, None, now - born > STALE_AFTER_S, st.last_error, st.last_error_vi)
    age = now - st.last_good_at
    return BackupStatus(st.last_good_at, st.last_good_file, st.last_good_place, age, age > STALE_AFTER_S,
                        st.last_error, st.last_error_vi)


@dataclass(frozen=True)
class BackupResult:
    backup: Backup
    place: str
    deleted: list[Path] = field(default_factory=list)


def backup_now(data_dir: str | Path, cfg: HallConfig, now: float, to: str | Path | None = None,
               folder: str | Path | None = None, mounts: str | Path = MOUNTS,
               roots: tuple[str, ...] = USB_ROOTS) -> BackupResult:
    """Back up to the stick (or the folder), rotate that folder, and note it in backup-state.json."""
    dest, place = destination(data_dir, to, folder, mounts, roots)
    before = read_state(data_dir)
    try:
        made = take_backup(data_dir, cfg, dest, now)
    except BackupError as err:
        if err.code != "no_hall":
            write_state(data_dir, BackupState(before.last_good_at, before.last_good_file, before.last_good_place,
                                              now, str(err), err.vi))
        raise
    write_state(data_dir, BackupState(now, str(made.path), place, now))
    local = datetime.fromtimestamp(now, cfg.zone).replace(tzinfo=None)
    return BackupResult(made, place, rotate(dest, cfg.id, local))


class BackupSchedule:
    """The nightly backup: `due(now)` once a day after `hour`, `run(now)` takes it and never raises."""

    def __init__(self, data_dir: str | Path, cfg: HallConfig, folder: str | Path | None = None, hour: int = 2,
                 retry_s: float = RETRY_S, mounts: str | Path = MOUNTS, roots: tuple[str, ...] = USB_ROOTS):
        self.data_dir, self.cfg, self.folder, self.hour = Path(data_dir), cfg, folder, hour
        self.retry_s, self.mounts, self.roots = retry_s, mounts, roots

    def slot(self, now: float) -> float:
        """The start of the current backup day: today's `hour`, or yesterday's before it."""
        local = datetime.fromtimestamp(now, self.cfg.zone)
        start = local.replace(hour=self.hour, minute=0, second=0, microsecond=0)
        if local < start:
            start = (start - timedelta(days=1)).replace(hour=self.hour)
        return start.timestamp()

    def due(self, now: float) -> bool:
        st = read_state(self.data_dir)
        slot = self.slot(now)
        good = st.last_good_at
        if good is not None and slot <= good <= now + 3600:   # one from the future: a clock that was wrong
            return False
        tried = st.last_attempt_at
        return not (tried is not None and slot <= tried <= now and now - tried < self.retry_s)

    def run(self, now: float) -> BackupResult | None:
        try:
            done = backup_now(self.data_dir, self.cfg, now, folder=self.folder, mounts=self.mounts, roots=self.roots)
        except BackupError as err:
            log.error("nightly backup failed: %s", err)
            return None
        except Exception as err:
            log.exception("nightly backup failed")
            try:     # noted, so the next try is an hour later, not a minute
                st = read_state(self.data_dir)
                write_state(self.data_dir, BackupState(st.last_good_at, st.last_good_file, st.last_good_place,
                                                       now, repr(err), "lỗi không lường trước (xem nhật ký)"))
            except OSError:
                pass
            return None
        log.info("nightly backup written to %s (%s), %d old ones deleted", done.backup.path, done.place,
                 len(done.deleted))
        return done

    def loop(self, stop: threading.Event, clock=time.time, every_s: float = 60.0) -> None:
        """The backup thread: look once a minute; the first look is a minute after start."""
        while not stop.wait(every_s):
            now = clock()
            if self.due(now):
                self.run(now)
