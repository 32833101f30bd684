"""A backup of the hall's data folder: one zip file, taken while the hall keeps running.

    b = take_backup(data_dir, cfg, Path("/media/usb/motcua-backup"))   # a Backup: path, manifest
    m = read_manifest(b.path)             # broker.backup_archive: reading one back, every member checked
    rotate(folder, cfg.id, now_local)     # delete what broker.backup_rotation does not keep

One file per backup, not a folder: a backup is whole or absent (written under a temp name,
fsynced, renamed), a clerk can see and copy it as one thing, and rotation deletes one file.
Zip rather than tar.gz: each member is compressed on its own and has its CRC, so the manifest
is read without unpacking the ledger, and a damaged member is named.

Members: hall.db and staff.db, each a copy made with SQLite's backup API (`Connection.backup`,
one step: a consistent snapshot of one read transaction; in WAL mode the hall's writer never
waits for it, and a file copy of a live database could catch a half-written page), checked
with `PRAGMA integrity_check` before the archive is called good; hall.secret (the ticket page
codes printed on the ledger's tickets and the service's MQTT password derive from it, so it
travels with the ledger); catalog.json when there is one; and manifest.json (hall id and name,
time, motcua version, schema version and sha256 of each member). Mosquitto's files are not in
it: `serve` writes them again from the ledger's device registry at every start.

The archive holds device password hashes, staff PIN hashes and hall.secret: it is made 0600
(where the file system keeps modes: not FAT32) and docs/backup.md says to keep the stick locked away.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from broker.backup_archive import (
    DATABASES,
    FILES,
    MANIFEST,
    BackupError,
    Manifest,
    Member,
    damaged,
    open_checked,
    read_manifest,
    sha256_of,
    unpacked,
)
from broker.backup_rotation import backup_name, parse_name, to_keep
from broker.durable import fsync_dir
from broker.ledger import free_bytes
from hall.config import HallConfig
from hall.runtime import software_version

log = logging.getLogger("motcua.backup")

__all__ = ["Backup", "BackupError", "Manifest", "backups_in", "copy_database", "damaged", "read_manifest",
           "rotate", "take_backup", "unpacked"]

LOCK_FILE = "backup.lock"
STAGING = ".motcua-staging-"     # DEST/.motcua-staging-HALL-PID/: the copies before they are zipped
PREFIX_TMP = "motcua-tmp-"       # DEST/.motcua-tmp-HALL-PID.zip: the archive until it is whole
# On the data folder's own disk a backup leaves at least this much free: the ledger must go on
# committing tickets, and a full disk stops the hall (broker.server.DiskFull).
RESERVE = 256 * 1024 * 1024


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: Manifest


@contextmanager
def backup_lock(data_dir: Path) -> Iterator[None]:
    """One backup of a data folder at a time (the nightly one and `motcua backup now`)."""
    # Read-only is enough for flock, and 0644: a lock file made by root's `backup now` must not
    # keep the service's user (motcua) from taking the nightly backup.
    fd = os.open(Path(data_dir) / LOCK_FILE, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError("busy", f"another backup of {data_dir} is being taken right now; try again "
                              "in a minute", "Đang có một bản sao lưu khác được tạo; thử lại sau một phút.") from None
        yield
    finally:
        os.close(fd)


def take_backup(data_dir: str | Path, cfg: HallConfig, dest: str | Path, now: float) -> Backup:
    """Copy the data folder's databases (backup API), check them, write DEST/motcua-<hall>-<time>.zip whole."""
    data, dest = Path(data_dir), Path(dest)
    if not (data / "hall.db").is_file():
        raise BackupError("no_hall", f"no hall server data in {data} (no hall.db there)",
                          f"Không có dữ liệu của máy chủ trong {data} (không có hall.db).")
    local = datetime.fromtimestamp(now, cfg.zone)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _cannot_write(dest, err) from None
    with backup_lock(data):
        _clear_staging(dest, cfg.id)   # left by a backup cut short (power cut): we hold the lock, no one's
        staging = dest / f"{STAGING}{cfg.id}-{os.getpid()}"
        try:
            _check_space(data, dest)
            staging.mkdir(mode=0o700)
            members, tickets, events = _gather(data, staging)
            manifest = Manifest(cfg.id, cfg.name, now, local.isoformat(timespec="seconds"),
                                software_version() or "0.1.0", tuple(members), tickets, events)
            name = _free_name(dest, cfg.id, local.replace(tzinfo=None))
            path = _write_zip(dest, name, staging, manifest, f".{PREFIX_TMP}{cfg.id}-{os.getpid()}.zip")
        except OSError as err:
            raise _cannot_write(dest, err) from None
        except sqlite3.Error as err:
            raise BackupError("cannot_read", f"cannot copy the databases of {data}: {err}",
                              f"Không đọc được cơ sở dữ liệu trong {data} ({err}).") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    log.info("backup of hall %s written to %s (%d tickets)", cfg.id, path, tickets)
    return Backup(path, manifest)


def _cannot_write(dest: Path, err: OSError) -> BackupError:
    return BackupError("cannot_write", f"cannot write the backup in {dest}: {err.strerror or err}",
                       f"Không ghi được bản sao lưu vào {dest} ({err.strerror or err}): thẻ nhớ USB đầy, "
                       "bị rút ra hoặc chỉ cho đọc?")


def _clear_staging(dest: Path, hall_id: str) -> None:
    for old in dest.glob(f"{STAGING}{hall_id}-*"):
        shutil.rmtree(old, ignore_errors=True)
    for old in dest.glob(f".{PREFIX_TMP}{hall_id}-*"):
        old.unlink(missing_ok=True)


def _check_space(data: Path, dest: Path) -> None:
    """Refuse a backup on the data folder's own disk that would leave the ledger too little room."""
    if os.stat(dest).st_dev != os.stat(data).st_dev:
        return          # a stick: a full stick fails the backup, never the hall
    need = 2 * sum((data / n).stat().st_size for n in DATABASES if (data / n).is_file()) + RESERVE
    free = free_bytes(dest)
    if free < need:
        raise BackupError("low_space", f"not backing up into {dest}: {free // 2**20} MB free on the hall "
                          f"server's own disk, a backup there needs {need // 2**20} MB and would leave the ledger "
                          "too little room; plug in the prepared USB stick",
                          f"Không sao lưu vào {dest}: thẻ nhớ của máy chủ chỉ còn {free // 2**20} MB trống. "
                          "Hãy cắm thẻ nhớ USB sao lưu.")


def _gather(data: Path, staging: Path) -> tuple[list[Member], int, int]:
    members, tickets, events = [], 0, 0
    for name in DATABASES:
        if not (data / name).is_file():
            continue            # staff.db appears with the first `serve`: a hall may have none yet
        copy = staging / name
        schema = copy_database(data / name, copy)
        members.append(Member(name, sha256_of(copy), copy.stat().st_size, schema))
        if name == "hall.db":
            with open_checked(copy) as conn:
                tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
                events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    for name in FILES:
        if (data / name).is_file():
            shutil.copyfile(data / name, staging / name)
            members.append(Member(name, sha256_of(staging / name), (staging / name).stat().st_size))
    return members, tickets, events


def copy_database(src: Path, dst: Path) -> int:
    """A consistent copy of a live SQLite database through the backup API, checked; its schema version."""
    # mode=ro: never creates the source, never writes to it (the hall's own connection does that).
    source = sqlite3.connect(f"file:{quote(str(src))}?mode=ro", uri=True, timeout=10)
    try:
        target = sqlite3.connect(dst)
        try:
            source.backup(target)   # pages=-1: one step, so one snapshot, never restarted by the hall's writes
            target.execute("PRAGMA journal_mode=DELETE")   # one self-contained file; the ledger turns WAL on again
        finally:
            target.close()
    finally:
        source.close()
    with open_checked(dst) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _free_name(dest: Path, hall_id: str, local: datetime) -> str:
    for n in range(1000):
        name = backup_name(hall_id, local, n)
        if not (dest / name).exists():
            return name
    raise BackupError("busy", f"too many backups in {dest} in one second", "Quá nhiều bản sao lưu trong một giây.")


def _write_zip(dest: Path, name: str, staging: Path, manifest: Manifest, tmp_name: str) -> Path:
    # Temp name, fsync, rename, fsync the folder: a power cut leaves the whole file or none.
    tmp = dest / tmp_name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
                for m in manifest.members:
                    zf.write(staging / m.name, m.name)
                zf.writestr(MANIFEST, manifest.to_json())
            f.flush()
            os.fsync(f.fileno())
        final = dest / name
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dest)
    return final


def backups_in(folder: str | Path, hall_id: str | None = None) -> list[tuple[Path, str, datetime]]:
    """The backup files in a folder (of one hall, when given), newest first: (path, hall id, local time)."""
    out = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return []
    for p in entries:
        parsed = parse_name(p.name)
        if parsed and (hall_id is None or parsed[0] == hall_id) and p.is_file():
            out.append((p, *parsed))
    return sorted(out, key=lambda b: b[2], reverse=True)


def rotate(folder: str | Path, hall_id: str, now_local: datetime) -> list[Path]:
    """Delete this hall's backups in `folder` that the rotation does not keep; the deleted files."""
    found = backups_in(folder, hall_id)
    keep = to_keep([(p.name, when) for p, _, when in found], now_local)
    gone = []
    for p, _, _ in found:
        if p.name not in keep:
            try:
                p.unlink()
                gone.append(p)
            except OSError as err:
                log.warning("cannot delete the old backup %s: %s", p, err)
    if gone:
        log.info("rotation deleted %d old backups of hall %s in %s", len(gone), hall_id, folder)
    return gone
