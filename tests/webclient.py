"""A plain HTTP client for the hall server's web API, as a page would use it (cookies, CSRF header).

    web = WebClient(server)                     # server: a running HallServer (or its http port)
    web.login(staff_id, "4821")                 # → the login reply's data; keeps the cookie and CSRF
    status, body = web.post("/api/counters/1/hold", {"id": "t1"})
    web.events("/api/live", until=lambda kind, data: kind == "call")   # read an SSE stream
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from broker.staff import Staff


def add_staff(server, name: str, pin: str, counters=(), role: str = "clerk") -> int:
    """A staff member in the hall's staff.db (beside the running server, as `motcua staff add` does)."""
    with Staff(server.data_dir / "staff.db") as staff:
        return staff.add(name, role, pin, counters=counters, hall_counters=[c.id for c in server.cfg.counters]).id


class WebClient:
    def __init__(self, server, port: int | None = None):
        self.port = port or server.cfg.http_port
        self.base = f"http://127.0.0.1:{self.port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.csrf = ""

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json", **({"X-CSRF-Token": self.csrf} if self.csrf else {}),
             **(headers or {})}
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, _json(r.read())
        except urllib.error.HTTPError as e:
            return e.code, _json(e.read())

    def get(self, path: str, **kw) -> tuple[int, Any]:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw) -> tuple[int, Any]:
        return self.call("POST", path, {} if body is None else body, **kw)

    def login(self, staff: int, pin: str) -> tuple[int, Any]:
        _, nonce = self.get("/api/login/nonce")
        status, body = self.post("/api/login", {"staff": staff, "pin": pin, "nonce": nonce["data"]["nonce"]})
        if status == 200:
            self.csrf = body["data"]["csrf"]
        return status, body

    def events(self, path: str, until: Callable[[str, Any], bool], timeout: float = 10.0) -> list[tuple[str, Any]]:
        """Read an event stream until `until(kind, data)` is true; every event read, in order."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        conn.request("GET", path, headers={"Cookie": cookies, "Accept": "text/event-stream"})
        response = conn.getresponse()
        assert response.status == 200, (response.status, response.read()[:300])
        seen: list[tuple[str, Any]] = []
        kind, data = "message", ""
        try:
            while True:
                line = response.fp.readline().decode()
                if not line:
                    raise AssertionError(f"the stream ended; events so far: {seen}")
                line = line.rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                elif line == "" and data:
                    seen.append((kind, json.loads(data)))
                    if until(*seen[-1]):
                        return seen
                    kind, data = "message", ""
        except TimeoutError:
            raise AssertionError(f"no such event within {timeout} s; events: {seen}") from None
        finally:
            conn.close()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw
