"""The hall's staff: clerks who serve at counters and leaders who read the head's pages, with their PINs.

    staff = Staff(data_dir / "staff.db")                       # migrates on open
    lan = staff.add("Nguyễn Thị Lan", "clerk", "4821", counters=(1, 2), hall_counters=(1, 2, 3, 4))
    staff.verify("nguyễn thị lan", "4821")                     # → StaffMember, or None
    staff.disable(lan.id); staff.reset_pin("Nguyễn Thị Lan", "73920145")

Its own SQLite file, `staff.db` beside the ledger's `hall.db`, not a table in the ledger, because:
- the web login writes a failure on every wrong PIN; in its own file that write never waits for,
  nor delays, the hall worker's commits (one write lock per SQLite file);
- the ledger is what reports are computed from and what gets copied off the hall; PIN hashes
  need not travel with it, and a ledger restored from a backup does not bring back a PIN that
  was reset or a clerk that was disabled since;
- its schema steps (`hall.store`, `PRAGMA user_version`) are its own, independent of the ledger's.

PINs are hashed with scrypt from the standard library's `hashlib` (OpenSSL): no new dependency on
the hall server, and memory-hard, so guessing the 10^4–10^8 PINs of a stolen staff.db on a GPU
costs memory per guess, not only time. `SCRYPT` (n=2^15, r=8, p=1: 32 MiB per check) was chosen by
measuring on the development machine (2 cores, 2026-12): one check takes 97 ms median (97–112 ms
over 7 runs; n=2^14 took 45 ms, n=2^14 with p=2 84 ms). A Raspberry Pi 4 is about 2–3× slower,
so a login there costs ~0.2–0.3 s, once per service day. The parameters and the salt are stored
with each hash (`scrypt$n=…,r=…,p=…$salt$hash`), so they can be raised later: a successful
`verify` re-hashes a PIN stored with weaker parameters than the store's. The comparison is
constant-time (hmac.compare_digest), and an unknown name costs the same scrypt run as a known one.

Lockout is the web login's to build: each wrong PIN counts in `failures` with `last_failure_at`,
and a right one sets `failures` back to 0. Errors carry an English message (str(), for the
command and the logs) and a Vietnamese one (`vi`, for a clerk's page).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from hall import store

Role = Literal["clerk", "leader"]
ROLES: tuple[Role, ...] = ("clerk", "leader")
MAX_NAME = 60
MAX_PASSWORD = 128

MIGRATIONS: list[store.Step] = [
    store.Step("staff", (
        # name_key: the name NFC-normalised and case-folded, so 'Nguyễn Thị Lan' typed with
        # decomposed diacritics or in capitals is the same person. Ids are never reused
        # (AUTOINCREMENT): the event log names the clerk by id.
        """CREATE TABLE staff (
            id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, name_key TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL CHECK (role IN ('clerk', 'leader')), counters TEXT NOT NULL,
            pin_hash TEXT NOT NULL, created_at REAL NOT NULL, pin_changed_at REAL NOT NULL,
            disabled_at REAL, failures INTEGER NOT NULL DEFAULT 0, last_failure_at REAL)""",
    )),
    # The web login's (broker.web.sessions): a session's token is kept only as its SHA-256, so
    # a copied staff.db opens no session; failures by address count apart from the member's.
    store.Step("web sessions and login failures by address", (
        """CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY, staff INTEGER NOT NULL REFERENCES staff (id), csrf TEXT NOT NULL,
            day TEXT NOT NULL, address TEXT NOT NULL, created_at REAL NOT NULL, ended_at REAL)""",
        """CREATE TABLE address_failures (
            address TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at REAL NOT NULL)""",
    )),
]


class StaffError(ValueError):
    """A staff change refused; str() is English (command, logs), `vi` is for a clerk's page."""

    def __init__(self, code: str, message: str, vi: str):
        super().__init__(message)
        self.code = code
        self.vi = vi


@dataclass(frozen=True)
class StaffMember:
    """One member of staff as stored (never their PIN or its hash)."""
    id: int
    name: str
    role: Role
    counters: tuple[int, ...]     # the counters a clerk may act for; () for a clerk: every counter
    disabled: bool
    created_at: float
    pin_changed_at: float
    failures: int = 0             # wrong PINs since the last right one (for the web login's lockout)
    last_failure_at: float | None = None

    def may_act_for(self, counter: int) -> bool:
        """A clerk at one of their counters (any, when none are named); a leader only at a named one."""
        if self.disabled:
            return False
        if self.role == "clerk" and not self.counters:
            return True
        return counter in self.counters


@dataclass(frozen=True)
class Scrypt:
    """scrypt's cost: n (CPU/memory, a power of 2), r (block size), p (parallel runs); 128·n·r bytes."""
    n: int = 2 ** 15
    r: int = 8
    p: int = 1

    def derive(self, pin: str, salt: bytes) -> bytes:
        # OpenSSL refuses more than 32 MiB unless told: allow what these parameters need.
        return hashlib.scrypt(pin.encode(), salt=salt, n=self.n, r=self.r, p=self.p, dklen=32,
                              maxmem=128 * self.r * (self.n + self.p + 2) + (1 << 20))

    def weaker_than(self, other: Scrypt) -> bool:
        return (self.n, self.r, self.p) != (other.n, other.r, other.p) and \
            self.n <= other.n and self.r <= other.r and self.p <= other.p


SCRYPT = Scrypt()
_HASH = re.compile(r"scrypt\$n=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)")


@dataclass(frozen=True)
class PinHash:
    """A stored PIN: the parameters and salt it was hashed with, and the hash."""
    kdf: Scrypt
    salt: bytes
    digest: bytes

    @classmethod
    def make(cls, pin: str, kdf: Scrypt) -> PinHash:
        salt = secrets.token_bytes(16)
        return cls(kdf, salt, kdf.derive(pin, salt))

    @classmethod
    def parse(cls, text: str) -> PinHash:
        m = _HASH.fullmatch(text)
        if not m:
            raise ValueError("not a scrypt PIN hash")
        n, r, p = (int(g) for g in m.groups()[:3])
        return cls(Scrypt(n, r, p), base64.b64decode(m.group(4)), base64.b64decode(m.group(5)))

    def text(self) -> str:
        k = self.kdf
        return (f"scrypt$n={k.n},r={k.r},p={k.p}${base64.b64encode(self.salt).decode()}"
                f"${base64.b64encode(self.digest).decode()}")

    def matches(self, pin: str) -> bool:
        return hmac.compare_digest(self.kdf.derive(pin, self.salt), self.digest)


def name_key(name: str) -> str:
    """What two names are compared by: NFC, case-folded, spaces collapsed."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", " ".join(name.split())).casefold())


def clean_name(name: str) -> str:
    """The name as stored and shown (NFC, spaces collapsed), or StaffError."""
    text = unicodedata.normalize("NFC", " ".join(name.split()))
    if not text or len(text) > MAX_NAME or not any(ch.isalpha() for ch in text) \
            or not all(ch.isprintable() for ch in text):
        raise StaffError("bad_name", f"a name is 1-{MAX_NAME} printable characters with at least one letter",
                         f"Tên cán bộ dài 1–{MAX_NAME} ký tự và phải có chữ cái.")
    return text


def clean_pin(pin: str) -> str:
    """The PIN as hashed (NFC: a phone may type diacritics either way), or StaffError for a bad shape.

    Only digits: a PIN for the numeric pad, 4-8 of them. Anything else is a password, 8 or more.
    """
    text = unicodedata.normalize("NFC", pin)
    digits = text.isascii() and text.isdigit()
    ok = 4 <= len(text) <= 8 if digits else (
        8 <= len(text) <= MAX_PASSWORD and text.isprintable() and text == text.strip())
    if not ok:
        raise StaffError("bad_pin", "a PIN is 4-8 digits, or a password of 8-128 printable characters that "
                         "are not all digits and do not start or end with a space",
                         "Mã PIN gồm 4–8 chữ số, hoặc mật khẩu dài ít nhất 8 ký tự (không chỉ gồm chữ số).")
    return text


def check_counters(counters: Iterable[int], hall_counters: Collection[int]) -> tuple[int, ...]:
    """The counters, sorted and once each, if every one is a counter of the hall; else StaffError naming it."""
    wanted = tuple(sorted(set(counters)))
    for c in wanted:
        if c not in hall_counters:
            known = ", ".join(str(k) for k in sorted(hall_counters))
            raise StaffError("unknown_counter", f"counter {c} is not in hall.toml (its counters: {known})",
                             f"Không có quầy {c} trong cấu hình của bộ phận một cửa (các quầy: {known}).")
    return wanted


def _not_found(who: str | int) -> StaffError:
    return StaffError("not_found", f"no staff member {who!r}", f"Không tìm thấy cán bộ “{who}”.")


_COLUMNS = "id, name, role, counters, disabled_at, created_at, pin_changed_at, failures, last_failure_at"


def _member(row: tuple) -> StaffMember:
    sid, name, role, counters, disabled_at, created, changed, failures, failed_at = row
    return StaffMember(sid, name, cast(Role, role), tuple(json.loads(counters)), disabled_at is not None,
                       created, changed, failures, failed_at)


class Staff:
    """The staff store: one SQLite file, opened through hall.store (WAL, synchronous=FULL, BEGIN IMMEDIATE)."""

    def __init__(self, path: str | Path, kdf: Scrypt = SCRYPT, clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.kdf = kdf
        self.clock = clock
        if not self.path.exists():
            # It holds PIN hashes: private before SQLite creates its -wal and -shm, which take its mode.
            self.path.touch(0o600)
            os.chmod(self.path, 0o600)
            folder = os.stat(self.path.parent)
            if os.geteuid() == 0 and folder.st_uid != 0:
                # Made by `sudo motcua staff add`: it belongs to the data folder's owner (the
                # service's user), who must read it. SQLite gives its -wal/-shm the same owner.
                os.chown(self.path, folder.st_uid, folder.st_gid)
        self.conn = store.connect(self.path)
        store.migrate(self.conn, MIGRATIONS)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Staff:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading ------------------------------------------------------------

    def members(self) -> list[StaffMember]:
        """Everyone, disabled members included, by id."""
        return [_member(r) for r in self.conn.execute(f"SELECT {_COLUMNS} FROM staff ORDER BY id")]

    def member(self, who: str | int) -> StaffMember | None:
        """By id (an int, or a string of digits: names always have a letter) or by name, any case or NFC form."""
        row = self._row(who, _COLUMNS)
        return _member(row) if row else None

    def _row(self, who: str | int, columns: str) -> tuple | None:
        if isinstance(who, int) or who.strip().isdigit():
            return self.conn.execute(f"SELECT {columns} FROM staff WHERE id = ?", (int(who),)).fetchone()
        return self.conn.execute(f"SELECT {columns} FROM staff WHERE name_key = ?", (name_key(who),)).fetchone()

    def get(self, who: str | int) -> StaffMember:
        """Like member(), but StaffError ('not_found') when there is no such member."""
        found = self.member(who)
        if found is None:
            raise _not_found(who)
        return found

    # --- changes ------------------------------------------------------------

    def add(self, name: str, role: str, pin: str, *, counters: Iterable[int] = (),
            hall_counters: Collection[int]) -> StaffMember:
        """A new member; refused (StaffError) for a bad name, role, PIN or counter, or a name already there."""
        shown = clean_name(name)
        if role not in ROLES:
            raise StaffError("bad_role", f"role must be one of {', '.join(ROLES)}",
                             "Vai trò phải là cán bộ một cửa (clerk) hoặc lãnh đạo (leader).")
        allowed = check_counters(counters, hall_counters)
        hashed = PinHash.make(clean_pin(pin), self.kdf).text()   # outside the write lock: ~0.1 s
        now = self.clock()
        with store.transaction(self.conn):
            same = self.conn.execute("SELECT id, name FROM staff WHERE name_key = ?", (name_key(shown),)).fetchone()
            if same:
                raise StaffError("name_taken", f"staff member {same[0]} '{same[1]}' already has that name",
                                 f"Đã có cán bộ tên “{same[1]}”.")
            cur = self.conn.execute(
                "INSERT INTO staff (name, name_key, role, counters, pin_hash, created_at, pin_changed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (shown, name_key(shown), role, json.dumps(allowed), hashed, now, now))
            sid = cur.lastrowid
        return self.get(cast(int, sid))

    def disable(self, who: str | int) -> StaffMember:
        """They can no longer log in; their history stays (their id is never given to anyone else)."""
        member = self.get(who)
        with store.transaction(self.conn):
            self.conn.execute("UPDATE staff SET disabled_at = coalesce(disabled_at, ?) WHERE id = ?",
                              (self.clock(), member.id))
        return self.get(member.id)

    def reset_pin(self, who: str | int, pin: str) -> StaffMember:
        """A new PIN (the old one stops working) and the failure count back to 0."""
        member = self.get(who)
        hashed = PinHash.make(clean_pin(pin), self.kdf).text()
        with store.transaction(self.conn):
            self.conn.execute("UPDATE staff SET pin_hash = ?, pin_changed_at = ?, failures = 0, "
                              "last_failure_at = NULL WHERE id = ?", (hashed, self.clock(), member.id))
        return self.get(member.id)

    # --- login --------------------------------------------------------------

    def verify(self, who: str | int, pin: str) -> StaffMember | None:
        """The member if `pin` is theirs and they are not disabled; else None (a wrong PIN is counted)."""
        text = unicodedata.normalize("NFC", pin)
        row = self._row(who, "id, pin_hash, disabled_at")
        if row is None:
            # The same scrypt run as for a known name, so timing does not tell which names exist.
            PinHash(self.kdf, bytes(16), bytes(32)).matches(text)
            return None
        sid, stored_text, disabled_at = row
        stored = PinHash.parse(stored_text)
        right = stored.matches(text)
        if disabled_at is not None:
            return None
        now = self.clock()
        # Raised parameters take effect at each member's next login; hashed before the write lock.
        rehashed = PinHash.make(text, self.kdf).text() if right and stored.kdf.weaker_than(self.kdf) else None
        with store.transaction(self.conn):
            if not right:
                self.conn.execute("UPDATE staff SET failures = failures + 1, last_failure_at = ? WHERE id = ?",
                                  (now, sid))
                return None
            self.conn.execute("UPDATE staff SET failures = 0 WHERE id = ?", (sid,))
            if rehashed:
                # Only if the PIN was not reset meanwhile: the new hash is of the PIN checked here.
                self.conn.execute("UPDATE staff SET pin_hash = ? WHERE id = ? AND pin_hash = ?",
                                  (rehashed, sid, stored_text))
        return self.get(sid)


__all__ = ["MIGRATIONS", "ROLES", "SCRYPT", "PinHash", "Role", "Scrypt", "Staff", "StaffError", "StaffMember",
           "check_counters", "clean_name", "clean_pin", "name_key"]
