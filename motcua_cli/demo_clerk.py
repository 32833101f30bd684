"""The demo's clerks: each logs in on the hall server's web pages and works a counter through them,
as a clerk's phone would (the same JSON API and CSRF token as the handheld page, docs/web.md).

    clerk = WebClerk(f"http://127.0.0.1:{cfg.http_port}")
    clerk.log_in(staff_id, "1111"); clerk.take(1)
    clerk.act(1, "call-next")            # → the reply's data, or None when refused (the reason is kept)
"""

from __future__ import annotations

import http.cookiejar
import json
import secrets
import urllib.error
import urllib.request
from typing import Any

from broker.staff import Staff

# The demo's four clerks, one per counter, and the PINs the console prints so a visitor can log in too.
DEMO_STAFF = [("Nguyễn Thị Lan", 1, "1111"), ("Trần Văn Hùng", 2, "2222"), ("Lê Thị Mai", 3, "3333"),
              ("Phạm Văn Nam", 4, "4444")]


def demo_staff(staff_db, hall_counters) -> dict[int, tuple[int, str, str]]:
    """counter → (staff id, name, PIN): made once in the demo's staff.db, found again afterwards."""
    out = {}
    with Staff(staff_db) as staff:
        for name, counter, pin in DEMO_STAFF:
            member = staff.member(name) or staff.add(name, "clerk", pin, counters=(counter,),
                                                     hall_counters=hall_counters)
            out[counter] = (member.id, name, pin)
    return out


class WebClerk:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.csrf = ""
        self.refusal = ""

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf})
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")
        except OSError as e:   # the hall server stopping: the demo's loop ends soon after
            return 0, {"ok": False, "error": {"message": str(e)}}

    def log_in(self, staff_id: int, pin: str) -> bool:
        _, nonce = self.call("GET", "/api/login/nonce")
        status, body = self.call("POST", "/api/login", {"staff": staff_id, "pin": pin,
                                                        "nonce": nonce.get("data", {}).get("nonce", "")})
        if status == 200:
            self.csrf = body["data"]["csrf"]
        return status == 200

    def take(self, counter: int) -> bool:
        return self.act(counter, "hold", take_over=True) is not None

    def act(self, counter: int, action: str, **args: Any) -> dict | None:
        """One tap: a fresh request id, the reply's data; None when refused (self.refusal says why)."""
        status, body = self.call("POST", f"/api/counters/{counter}/{action}",
                                 {"id": secrets.token_hex(8), **args})
        if status == 200:
            return body["data"]
        self.refusal = body.get("error", {}).get("message", f"HTTP {status}")
        return None

    def rate_ticket(self, page: str, score: int) -> bool:
        """A citizen's rating on the ticket's own page (no login)."""
        status, _ = self.call("POST", f"/api/tickets/{page}/rate", {"id": secrets.token_hex(8), "score": score})
        return status == 200
