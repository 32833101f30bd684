"""Reading a motcua backup file (broker.backup writes them): its manifest, and its members checked.

    m = read_manifest(path)               # cheap: hall id, time, members (for `backup list`, restore)
    with unpacked(path, staging) as files: …   # name → file, each checked: sha256, integrity_check

A backup is a zip: hall.db and staff.db (SQLite backup-API copies), hall.secret, catalog.json
when there was one, and manifest.json (hall id and name, time, motcua version, schema version
and sha256 of each member). A damaged file, a member that differs from the manifest, a database
failing `PRAGMA integrity_check`, or a schema newer than this motcua knows is a BackupError.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from broker import ledger, staff

MANIFEST = "manifest.json"
FORMAT = "motcua-backup"
FORMAT_VERSION = 1
# The databases and how many schema steps this program knows for each (a newer backup is refused).
DATABASES = {"hall.db": len(ledger.MIGRATIONS), "staff.db": len(staff.MIGRATIONS)}
FILES = ("hall.secret", "catalog.json")
REQUIRED = ("hall.db", "hall.secret")


class BackupError(RuntimeError):
    """A backup or a restore that cannot be done; str() is English (logs), `vi` is for the staff."""

    def __init__(self, code: str, message: str, vi: str):
        super().__init__(message)
        self.code, self.vi = code, vi


@dataclass(frozen=True)
class Member:
    name: str
    sha256: str
    size: int
    schema: int | None = None     # PRAGMA user_version of a database; None for a plain file


@dataclass(frozen=True)
class Manifest:
    hall_id: str
    hall_name: str
    taken_at: float               # epoch seconds
    taken_local: str              # the hall's wall-clock time, ISO 8601 with offset
    version: str                  # motcua's version that took it
    members: tuple[Member, ...]
    tickets: int                  # rows in hall.db's tickets, for `backup list`
    events: int

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)

    def to_json(self) -> bytes:
        d = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}
        return json.dumps(d, ensure_ascii=False, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Manifest:
        try:
            d = json.loads(data)
            if d.get("format") != FORMAT or d.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"not a {FORMAT} v{FORMAT_VERSION} manifest")
            members = tuple(Member(str(m["name"]), str(m["sha256"]), int(m["size"]),
                                   None if m.get("schema") is None else int(m["schema"])) for m in d["members"])
            return cls(str(d["hall_id"]), str(d["hall_name"]), float(d["taken_at"]), str(d["taken_local"]),
                       str(d["version"]), members, int(d["tickets"]), int(d["events"]))
        except (ValueError, KeyError, TypeError) as err:
            raise damaged(where, f"its manifest is not readable ({err})") from None


def damaged(path: str | Path, why: str) -> BackupError:
    return BackupError("damaged", f"the backup {path} is damaged: {why}",
                       f"Bản sao lưu {path} bị hỏng ({why}); hãy dùng một bản khác.")


@contextmanager
def open_checked(path: Path) -> Iterator[sqlite3.Connection]:
    """A fresh connection to a database copy that passed PRAGMA integrity_check, or BackupError."""
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as err:
            rows = [str(err)]
        if rows != ["ok"]:
            raise BackupError("integrity", f"{path.name} fails PRAGMA integrity_check: {'; '.join(rows[:3])}",
                              f"{path.name} không qua được kiểm tra toàn vẹn (integrity_check).")
        yield conn
    finally:
        conn.close()


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(path: str | Path) -> Manifest:
    """The manifest of a backup file, without unpacking it; BackupError when it is no readable backup."""
    try:
        with zipfile.ZipFile(path) as zf:
            data = zf.read(MANIFEST)
    except FileNotFoundError:
        raise BackupError("no_file", f"there is no file {path}", f"Không có tệp {path}.") from None
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as err:
        raise damaged(path, f"it is not a readable motcua backup ({err})") from None
    return Manifest.from_json(data, str(path))


@contextmanager
def unpacked(path: str | Path, staging: Path) -> Iterator[dict[str, Path]]:
    """Unpack a backup into `staging` (made here, removed after) with every member checked: name → file."""
    manifest = read_manifest(path)
    missing = [n for n in REQUIRED if manifest.member(n) is None]
    if missing:
        raise damaged(path, f"it has no {', '.join(missing)}")
    staging.mkdir(mode=0o700)
    try:
        out = {}
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist()) - {MANIFEST}
            if names != {m.name for m in manifest.members}:
                raise damaged(path, f"its files {sorted(names)} are not the ones its manifest lists")
            for m in manifest.members:
                if m.name not in DATABASES and m.name not in FILES:
                    raise damaged(path, f"it holds an unknown file {m.name!r}")
                target = staging / m.name        # a known plain name: nothing can land outside staging
                try:
                    with zf.open(m.name) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)    # zipfile checks the CRC at the end
                except (zipfile.BadZipFile, OSError, EOFError) as err:
                    raise damaged(path, f"{m.name} cannot be read ({err})") from None
                if sha256_of(target) != m.sha256:
                    raise damaged(path, f"{m.name} is not what was backed up (sha256 differs)")
                if m.name in DATABASES:
                    try:
                        with open_checked(target):
                            pass
                    except BackupError as err:
                        raise damaged(path, str(err)) from None
                    if (m.schema or 0) > DATABASES[m.name]:
                        raise BackupError("newer", f"{path}: its {m.name} has schema version {m.schema}, newer "
                                          f"than this motcua knows ({DATABASES[m.name]}); update motcua first",
                                          "Bản sao lưu này do một phiên bản motcua mới hơn tạo ra; hãy cập nhật "
                                          "motcua trước khi khôi phục.")
                out[m.name] = target
        yield out
    finally:
        shutil.rmtree(staging, ignore_errors=True)
