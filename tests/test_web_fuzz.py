"""Hypothesis against the published OpenAPI document: every endpoint, bodies of the right shape with
wrong values and of no shape at all, with and without a session and its CSRF token. No answer is a
500, none hangs (each request has a 10 s limit), and a refused request changes nothing in the ledger.

schemathesis is not in the package registry this project installs from, so the requests are
drawn here from the document itself: each operation's path parameters and body schema.
"""

from __future__ import annotations

import json
import re
import sqlite3
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import read_db
from tests.webclient import WebClient, add_staff

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False)
                    | st.text(max_size=80), lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=10)


def value_for(schema: dict) -> st.SearchStrategy:
    """A value meant for `schema` three times in four, else anything at all."""
    kind = schema.get("type")
    words = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=20)
    text = st.integers(0, 2).flatmap(lambda i: (words, st.sampled_from(
        ["1001", "1002", "2001", "ho-tich", "dat-dai", "cho-lau", "x" * 64, "x" * 65]), st.text(max_size=70))[i])
    right = {"integer": st.integers(-5, 2000), "string": text, "boolean": st.booleans()}.get(kind, JSON)
    return st.integers(0, 3).flatmap(lambda i: JSON if i == 0 else right)


def body_for(schema: dict | None) -> st.SearchStrategy:
    if schema is None:
        return st.none()
    props = schema.get("properties", {})
    required = set(schema.get("required", ()))
    shaped = st.fixed_dictionaries({k: value_for(v) for k, v in props.items() if k in required},
                                   optional={k: value_for(v) for k, v in props.items() if k not in required})
    return st.integers(0, 4).flatmap(lambda i: JSON if i == 0 else shaped)


def ledger_state(server) -> tuple:
    """The hall's state: the event log, the tickets and the counters. (A refused request's reply is
    stored, by design: the same tap sent again gets the same refusal — so `requests` may grow.)"""
    db = read_db(server)
    try:
        return (db.execute("SELECT count(*) FROM events").fetchone()[0],
                db.execute("SELECT * FROM tickets ORDER BY id").fetchall(),
                db.execute("SELECT * FROM counters ORDER BY id").fetchall())
    finally:
        db.close()


def unlock(server) -> None:
    """The fuzz's wrong PINs must not lock its own clerk out of the rest of the run."""
    db = sqlite3.connect(server.data_dir / "staff.db")
    with db:
        db.execute("DELETE FROM address_failures")
        db.execute("UPDATE staff SET failures = 0")
    db.close()


@pytest.fixture
def api(hall, connect):
    kiosk = connect("kiosk-1", "kiosk")
    for service in ("ho-tich", "dat-dai", "ho-tich"):
        assert kiosk.ask("take-ticket", {"service": service}).ok
    sid = add_staff(hall, "Nguyễn Thị Lan", "4821", (1, 2))
    web = WebClient(hall)
    assert web.login(sid, "4821")[0] == 200
    assert web.post("/api/counters/1/hold", {"id": "fuzz-hold"})[0] == 200
    doc = web.get("/api/openapi.json")[1]
    ops = [(method.upper(), path, op) for path, item in doc["paths"].items() for method, op in item.items()
           if "text/event-stream" not in op["responses"]["200"]["content"]]
    return web, ops, sid


def test_no_request_drawn_from_the_openapi_document_is_a_500_or_changes_the_ledger_when_refused(hall, api):
    web, ops, sid = api
    reached: list[tuple[int, str]] = []

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.sampled_from(ops), st.data(), st.booleans(), st.booleans())
    def run(op, data, with_session, with_csrf):
        method, path, spec = op
        others = st.sampled_from([2, 3]) | st.integers(-1, 100) | st.text(max_size=5).filter(
            lambda s: "/" not in s and s)
        counter = data.draw(st.integers(0, 3).flatmap(lambda i: st.just(1) if i else others))
        code = data.draw(st.text(max_size=30).filter(lambda s: "/" not in s and "?" not in s and "#" not in s and s))
        url = path.replace("{counter}", str(counter)).replace("{code}", code)
        url = re.sub(r"[^\x21-\x7e]", lambda m: f"%{ord(m.group()) % 256:02X}", url)
        schema = (spec.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
        body = data.draw(body_for(schema)) if method == "POST" else None
        client = web if with_session else WebClient(hall)
        saved = client.csrf
        if not with_csrf:
            client.csrf = ""
        before = ledger_state(hall)
        try:
            raw = json.dumps(body).encode() if body is not None else b""
            status, answer = client.call(method, url, raw=raw if method == "POST" else None)
        finally:
            client.csrf = saved
        if with_session and web.get("/api/me")[0] != 200:   # a drawn logout: log in again, take the counter
            unlock(hall)
            assert web.login(sid, "4821")[0] == 200
            assert web.post("/api/counters/1/hold", {"id": f"fuzz-hold-{len(reached)}"})[0] == 200
        reached.append((status, path))
        assert status < 500 or (status == 503 and answer["error"]["code"] in ("disk_full", "busy")), (url, answer)
        if status >= 400:
            assert isinstance(answer, dict) and answer["ok"] is False and answer["error"]["message"], answer
            assert ledger_state(hall) == before, (method, url, body, answer)

    run()
    # The run must have reached the engine, not only the doors: refusals by the hall's state and successes.
    assert any(s == 409 and "/api/counters/" in p for s, p in reached), reached
    assert any(s == 200 and p.startswith("/api/counters/{counter}/") for s, p in reached), reached
