"""Put a backup back into a hall's data folder, keeping the current files aside.

    done = restore("/media/usb/motcua-backup/motcua-dang-kang-20261202-020003.zip", data_dir, cfg, now)
    done.put       # ["hall.db", "hall.secret", …]: the backup's files now in place
    done.aside     # [data/hall.db.before-restore-20261202-093000, …]: what was there before

Refused, with nothing changed (BackupError: English str(), Vietnamese `vi`):
- `other_hall`: the backup's manifest names another hall than hall.toml's id — a stick from the
  next commune must never replace this hall's memory;
- `damaged`: not a readable backup, a member whose sha256 differs from the manifest's, a
  database that fails PRAGMA integrity_check; `newer`: a schema this motcua does not know;
- `running`: a hall server serves the folder (broker.datalock). Everything is checked first
  (unpacked into DATA/.restore-staging-PID, removed after); then the folder's lock is held
  while the files are put in place, so no `serve` can start on a half-restored folder.

hall.db and hall.secret are always restored together: the page codes printed on the ledger's
tickets derive from the secret. staff.db and catalog.json are restored only when the folder
has none (a new Pi after the old SD card died), or with `everything=True`: otherwise the
current ones are newer (broker/staff.py: a restored ledger must not bring back a clerk who was
disabled or a PIN that was reset since the backup). Staff ids are never reused, so an older
ledger beside a newer staff.db still names the right clerks.

Each current file is first hard-linked to NAME.before-restore-<local time>, then replaced by the
backup's in one rename, so the folder never lacks its hall.db (a `serve` would start an empty
ledger). The current ledger's WAL is checkpointed first (or moved aside with it as
hall.db.before-restore-…-wal, the name SQLite looks for), so the old WAL is never read with the
new file. If a restore is cut short (power cut), run it again.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from broker.backup_archive import DATABASES, BackupError, Manifest, read_manifest, unpacked
from broker.datalock import DataFolderBusy, DataLock
from broker.durable import fsync_dir
from hall.config import HallConfig

log = logging.getLogger("motcua.backup")

ALWAYS = ("hall.db", "hall.secret")
IF_ABSENT = ("staff.db", "catalog.json")
PRIVATE = {"hall.db", "staff.db", "hall.secret"}


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    put: list[str]            # the backup's files now in the data folder
    aside: list[Path]         # the files that were there, under their before-restore names
    kept: list[str]           # the folder's own files the backup also has, left as they were


def check_hall(manifest: Manifest, file: str | Path, cfg: HallConfig) -> None:
    """Refuse a backup of another hall (BackupError `other_hall`)."""
    if manifest.hall_id != cfg.id:
        raise BackupError(
            "other_hall",
            f"refused: {file} is a backup of hall '{manifest.hall_id}' ({manifest.hall_name}), not of this "
            f"hall '{cfg.id}' ({cfg.name}); nothing was changed",
            f"Từ chối khôi phục: {file} là bản sao lưu của {manifest.hall_name} (mã '{manifest.hall_id}'), "
            f"không phải của {cfg.name} (mã '{cfg.id}'). Không có gì bị thay đổi.")


def restore(file: str | Path, data_dir: str | Path, cfg: HallConfig, now: float,
            everything: bool = False) -> Restored:
    """Check the backup and put it in place of the data folder's files (the current ones kept aside)."""
    data = Path(data_dir)
    try:
        check_hall(read_manifest(file), file, cfg)
    except BackupError as err:
        _log_refusal(file, err)
        raise
    data.mkdir(parents=True, exist_ok=True)
    if DataLock(data).holder() is not None:     # asked first: no need to unpack a big file to refuse
        _refuse_running(file, data)
    for stale in data.glob(".restore-staging-*"):      # left by a restore cut short
        shutil.rmtree(stale, ignore_errors=True)
    try:
        # Everything checked before the lock is taken or a file touched: a refused backup changes nothing.
        with unpacked(file, data / f".restore-staging-{os.getpid()}") as files:
            manifest = read_manifest(file)
            try:
                lock = DataLock(data).acquire()
            except DataFolderBusy:               # a server started meanwhile
                _refuse_running(file, data)
            try:
                put, aside, kept = _put_in_place(data, files, now, cfg, everything)
            finally:
                lock.release()
    except BackupError as err:
        if err.code != "running":
            _log_refusal(file, err)
        raise
    log.warning("restored hall %s from %s (taken %s, %d tickets): %s in place; the files before are kept as %s",
                cfg.id, file, manifest.taken_local, manifest.tickets, ", ".join(put),
                ", ".join(p.name for p in aside) or "(none: the folder was empty)")
    return Restored(manifest, put, aside, kept)


def _log_refusal(file: str | Path, err: BackupError) -> None:
    text = str(err)
    log.error("restore of %s: %s", file, text if text.startswith("refused") else f"refused: {text}")


def _refuse_running(file: str | Path, data: Path) -> NoReturn:
    pid = DataLock(data).holder()
    message = (f"refused: a hall server (pid {pid or '?'}) is serving {data}; stop it first (sudo systemctl stop "
               f"motcua-hall, or Ctrl+C where it runs), then run the restore again; nothing was changed")
    log.error("restore of %s: %s", file, message)
    raise BackupError("running", message,
                      "Từ chối khôi phục: máy chủ của Bộ phận Một cửa đang chạy trên thư mục dữ liệu này. "
                      "Hãy dừng nó trước (sudo systemctl stop motcua-hall) rồi chạy lại lệnh.")


def _put_in_place(data: Path, files: dict[str, Path], now: float, cfg: HallConfig,
                  everything: bool) -> tuple[list[str], list[Path], list[str]]:
    stamp = datetime.fromtimestamp(now, cfg.zone).strftime("%Y%m%d-%H%M%S")
    put, aside, kept = [], [], []
    for name in (*ALWAYS, *IF_ABSENT):
        if name not in files:
            continue
        if name in IF_ABSENT and (data / name).exists() and not everything:
            kept.append(name)
            continue
        aside += _set_aside(data, name, stamp)
        if name in PRIVATE:
            os.chmod(files[name], 0o600)
        os.replace(files[name], data / name)
        put.append(name)
    fsync_dir(data)
    return put, aside, kept


def _set_aside(data: Path, name: str, stamp: str) -> list[Path]:
    """Keep the current file as NAME.before-restore-STAMP (a hard link: NAME stays until replaced)."""
    current = data / name
    if not current.exists():
        return []
    base = f"{name}.before-restore-{stamp}"
    n = 1
    while (data / base).exists():          # two restores in one second
        n += 1
        base = f"{name}.before-restore-{stamp}-{n}"
    out = [data / base]
    if name in DATABASES:
        _checkpoint(current)
    os.link(current, data / base)
    if name in DATABASES:
        # What the checkpoint could not fold in goes with its file, under the name SQLite looks for.
        for suffix in ("-wal", "-shm"):
            side = data / f"{name}{suffix}"
            if side.exists():
                os.replace(side, data / f"{base}{suffix}")
                out.append(data / f"{base}{suffix}")
    return out


def _checkpoint(db: Path) -> None:
    # The folder is locked, so no server writes it: fold the WAL into the file that is set aside.
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error as err:
        log.warning("cannot checkpoint %s before setting it aside (%s); its WAL is set aside with it", db, err)
