"""The clerks' web login: sessions for the service day, a CSRF token each, and a growing lockout.

    sessions = Sessions(Staff(data_dir / "staff.db"))
    nonce = sessions.nonce()                                  # one login form, used once
    s = sessions.login(7, "4821", nonce, "192.168.1.20", day="2026-12-02", now=t)   # or LoginRefused
    sessions.find(token, day)                                 # the Session, or None (ended, another day)

A session lasts the service day it began in (or until logout): the cookie carries a random
token, staff.db keeps only its SHA-256. Each session has a CSRF token the page reads from
/api/me (a foreign page cannot: same-origin policy) and sends back in a header with every
state-changing request.

Lockout: after LOCK_AFTER wrong PINs for one member, or from one address, every further try is
refused for a time that doubles with each further failure: 1, 2, 4 … minutes, at most an hour.
A refused try runs no scrypt and counts nothing. The member's count is staff.db's own
(broker.staff.verify counts it); the address's is kept beside it.

All of staff.db is touched under one lock: its connection is shared by uvicorn's threads.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from broker.staff import Staff, StaffMember
from hall import store

LOCK_AFTER = 5
FIRST_LOCK_S = 60
LONGEST_LOCK_S = 3600
NONCE_S = 600          # a login form older than this is asked to reload its nonce
MAX_NONCES = 10_000    # a flood of forms cannot fill memory


class LoginRefused(Exception):
    """A login refused: `code` and HTTP `status` for the API, `vi` for the page, `minutes` when locked."""

    def __init__(self, code: str, status: int, vi: str, detail: str, minutes: int | None = None,
                 tries_left: int | None = None):
        super().__init__(detail)
        self.code, self.status, self.vi, self.minutes, self.tries_left = code, status, vi, minutes, tries_left


@dataclass(frozen=True)
class Session:
    token_hash: str
    staff: int
    csrf: str
    day: str
    address: str
    created_at: float


def lock_left(failures: int, last_failure_at: float | None, now: float) -> float:
    """Seconds a member or an address is still locked out for (0: free to try)."""
    if failures < LOCK_AFTER or last_failure_at is None:
        return 0.0
    lock = min(LONGEST_LOCK_S, FIRST_LOCK_S * 2 ** (failures - LOCK_AFTER))
    return max(0.0, last_failure_at + lock - now)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _locked(left: float) -> LoginRefused:
    minutes = max(1, math.ceil(left / 60))
    return LoginRefused("locked", 429, f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
                        f"locked out for {left:.0f} s", minutes=minutes)


class Sessions:
    def __init__(self, staff: Staff, clock: Callable[[], float] = time.time):
        self.staff = staff
        self.clock = clock
        self.lock = threading.Lock()
        self._nonces: dict[str, float] = {}
        with self.lock:
            rows = staff.conn.execute("SELECT token_hash, staff, csrf, day, address, created_at FROM sessions "
                                      "WHERE ended_at IS NULL").fetchall()
        self._live = {r[0]: Session(*r) for r in rows}

    # --- the login form -----------------------------------------------------

    def nonce(self) -> str:
        now = self.clock()
        with self.lock:
            if len(self._nonces) >= MAX_NONCES:
                self._nonces = {n: t for n, t in self._nonces.items() if now - t < NONCE_S}
                while len(self._nonces) >= MAX_NONCES:
                    self._nonces.pop(next(iter(self._nonces)))
            token = secrets.token_urlsafe(16)
            self._nonces[token] = now
            return token

    def members(self) -> list[StaffMember]:
        """Who may log in, for the page's list of names."""
        with self.lock:
            return [m for m in self.staff.members() if not m.disabled]

    def member(self, staff_id: int) -> StaffMember | None:
        with self.lock:
            return self.staff.member(staff_id)

    def login(self, staff_id: int, pin: str, nonce: str, address: str, day: str) -> tuple[str, Session]:
        """(cookie token, session) for a right PIN; LoginRefused otherwise. Runs scrypt (~0.1 s): not on a loop."""
        now = self.clock()
        with self.lock:
            issued = self._nonces.pop(nonce, None)
            if issued is None or now - issued > NONCE_S:
                raise LoginRefused("login_expired", 409, "Trang đăng nhập đã cũ. Vui lòng nhập lại mã PIN.",
                                   "unknown, used or expired login nonce")
            row = self.staff.conn.execute("SELECT failures, last_failure_at FROM address_failures WHERE address = ?",
                                          (address,)).fetchone()
            by_address = row or (0, None)
            left = lock_left(by_address[0], by_address[1], now)
            if left:
                raise _locked(left)
            member = self.staff.member(staff_id)
            if member is None or member.disabled:
                raise LoginRefused("no_such_staff", 403, "Tài khoản này không còn dùng được. Vui lòng hỏi lãnh đạo.",
                                   f"staff {staff_id} unknown or disabled")
            left = lock_left(member.failures, member.last_failure_at, now)
            if left:
                raise _locked(left)
            if self.staff.verify(member.id, pin) is None:
                failures = by_address[0] + 1
                with store.transaction(self.staff.conn):
                    self.staff.conn.execute("INSERT OR REPLACE INTO address_failures VALUES (?, ?, ?)",
                                            (address, failures, now))
                after = self.staff.get(member.id).failures
                worst = max(after, failures)
                if worst >= LOCK_AFTER:
                    raise _locked(lock_left(worst, now, now))
                tries = LOCK_AFTER - worst
                raise LoginRefused("wrong_pin", 401, f"Mã PIN không đúng. Còn {tries} lần thử.", "wrong PIN",
                                   tries_left=tries)
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session = Session(_hash(token), member.id, csrf, day, address, now)
            with store.transaction(self.staff.conn):
                self.staff.conn.execute("DELETE FROM address_failures WHERE address = ?", (address,))
                self.staff.conn.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, NULL)",
                                        (session.token_hash, session.staff, csrf, day, address, now))
            self._live[session.token_hash] = session
            return token, session

    # --- a session ------------------------------------------------------------

    def find(self, token: str | None, day: str) -> Session | None:
        """The live session of a cookie's token on service day `day`; None when ended or of another day."""
        if not token or len(token) > 100:
            return None
        session = self._live.get(_hash(token))
        if session is None or session.day != day:
            return None
        return session

    def end(self, session: Session) -> None:
        with self.lock:
            self._live.pop(session.token_hash, None)
            with store.transaction(self.staff.conn):
                self.staff.conn.execute("UPDATE sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                                        (self.clock(), session.token_hash))

    def end_days_before(self, day: str) -> int:
        """Sessions of earlier service days end (the rollover lets go of their counters too)."""
        with self.lock:
            old = [s for s in self._live.values() if s.day < day]
            if not old:
                return 0
            for s in old:
                self._live.pop(s.token_hash, None)
            with store.transaction(self.staff.conn):
                self.staff.conn.execute("UPDATE sessions SET ended_at = ? WHERE day < ? AND ended_at IS NULL",
                                        (self.clock(), day))
            return len(old)
