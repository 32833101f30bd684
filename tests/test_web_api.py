"""The web adapter's JSON API against a real hall server (Mosquitto, ledger, uvicorn): the same
engine path as MQTT, sessions, CSRF, lockout, counters held, the ticket page's code and rating."""

from __future__ import annotations

import json
import re
import threading

import pytest

from broker.web.openapi import ENDPOINTS
from broker.web.views import ticket_view
from hall.protocol import Call, decode_message
from tests.conftest import read_db, wait_for
from tests.webclient import WebClient, add_staff


def events(server, kind: str | None = None) -> list[tuple]:
    db = read_db(server)
    try:
        sql = "SELECT kind, ticket, counter, device, staff, data FROM events"
        where = (" WHERE kind = ?", (kind,)) if kind else ("", ())
        return db.execute(sql + where[0] + " ORDER BY id", where[1]).fetchall()
    finally:
        db.close()


def ticket(kiosk, service="ho-tich"):
    reply = kiosk.ask("take-ticket", {"service": service})
    assert reply.ok, reply.error
    return reply.data


@pytest.fixture
def clerk(hall):
    """clerk(name, counters, pin) → a logged-in WebClient and the staff id."""
    def make(name: str = "Nguyễn Thị Lan", counters=(1, 2), pin: str = "4821"):
        sid = add_staff(hall, name, pin, counters)
        web = WebClient(hall)
        status, body = web.login(sid, pin)
        assert status == 200, body
        return web, sid
    return make


def test_a_clerk_calls_through_the_same_engine_and_the_display_hears_it(hall, connect, clerk):
    heard: list[Call] = []
    connect("display-1", "display", subscribe=["called"],
            on_message=lambda t, p: heard.append(decode_message(t, p)))
    kiosk = connect("kiosk-1", "kiosk")
    issued = ticket(kiosk)
    web, sid = clerk()
    assert web.post("/api/counters/1/hold", {"id": "h1"})[0] == 200
    status, body = web.post("/api/counters/1/call-next", {"id": "tap-1"})
    assert status == 200 and body["data"]["ticket"] == issued.ticket
    wait_for(lambda: [c for c in heard if c.ticket == issued.ticket and c.counter == 1])
    called = events(hall, "called")
    assert len(called) == 1
    assert called[0][3] == f"clerk:{sid}" and called[0][4] == sid   # the clerk's id, as well as the counter
    # The same tap sent again (a retry) gets the stored reply and calls no one else.
    ticket(kiosk)
    again = web.post("/api/counters/1/call-next", {"id": "tap-1"})
    assert again == (status, body)
    assert len(events(hall, "called")) == 1
    status, view = web.get("/api/counters/1")
    assert view["data"]["current"]["label"] == issued.ticket
    assert view["data"]["held_by_name"] == "Nguyễn Thị Lan"
    assert view["data"]["services"][0]["waiting"] == 1


def test_wrong_pins_lock_the_clerk_out_for_growing_minutes(hall):
    sid = add_staff(hall, "Trần Văn Nam", "4821", (1,))
    web = WebClient(hall)
    answers = [web.login(sid, "0000") for _ in range(5)]
    assert [s for s, _ in answers] == [401, 401, 401, 401, 429]
    assert answers[0][1]["error"]["tries_left"] == 4
    assert "Mã PIN không đúng" in answers[0][1]["error"]["message"]
    locked = web.login(sid, "4821")          # even the right PIN, while locked
    assert locked[0] == 429 and locked[1]["error"]["minutes"] >= 1
    assert "phút" in locked[1]["error"]["message"]
    # The address is locked too: another clerk from the same phone cannot try either.
    other = add_staff(hall, "Lê Thị Hoa", "5555", (2,))
    assert web.login(other, "5555")[0] == 429


def test_a_login_form_is_used_once(hall):
    sid = add_staff(hall, "Phạm Minh", "4821", (1,))
    web = WebClient(hall)
    nonce = web.get("/api/login/nonce")[1]["data"]["nonce"]
    first = web.post("/api/login", {"staff": sid, "pin": "4821", "nonce": nonce})
    replay = web.post("/api/login", {"staff": sid, "pin": "4821", "nonce": nonce})
    assert first[0] == 200 and replay[0] == 409 and replay[1]["error"]["code"] == "login_expired"


def test_state_changes_need_the_csrf_token_and_no_foreign_origin(hall, connect, clerk):
    web, _ = clerk()
    before = events(hall)
    token, web.csrf = web.csrf, ""
    assert web.post("/api/counters/1/hold", {"id": "x1"})[1]["error"]["code"] == "csrf"
    web.csrf = token
    status, body = web.post("/api/counters/1/hold", {"id": "x2"}, headers={"Origin": "http://evil.example"})
    assert status == 403 and body["error"]["code"] == "csrf"
    assert events(hall) == before


def test_a_clerk_cannot_act_for_a_counter_held_by_another_nor_one_not_theirs(hall, connect, clerk):
    kiosk = connect("kiosk-1", "kiosk")
    ticket(kiosk)
    lan, lan_id = clerk("Nguyễn Thị Lan", (1, 2))
    nam, nam_id = clerk("Trần Văn Nam", (1, 2), pin="7777")
    hoa, _ = clerk("Lê Thị Hoa", (3,), pin="8888")
    assert lan.post("/api/counters/1/hold", {"id": "a"})[0] == 200
    before = events(hall)
    # Hand-made requests: for a counter another clerk holds, and for a counter not theirs.
    assert nam.post("/api/counters/1/call-next", {"id": "b"}) == (403, {"ok": False, "error": {
        "code": "counter_held", "message": "Quầy này đang do cán bộ khác làm việc.",
        "detail": "counter held by another clerk"}})
    assert nam.post("/api/counters/2/call-next", {"id": "b2"})[1]["error"]["code"] == "counter_not_held"
    status, body = nam.post("/api/counters/1/hold", {"id": "c"})   # a question for the page: take it over?
    assert status == 409 and body["error"]["code"] == "counter_held"
    assert body["error"]["held_by"] == lan_id and body["error"]["held_by_name"] == "Nguyễn Thị Lan"
    assert hoa.post("/api/counters/1/hold", {"id": "d", "take_over": True})[1]["error"]["code"] == "not_your_counter"
    assert hoa.post("/api/counters/1/call-next", {"id": "e"})[0] == 403
    assert events(hall) == before
    # Taking over asks for take_over, and is logged with both clerks.
    status, body = nam.post("/api/counters/1/hold", {"id": "f", "take_over": True})
    assert status == 200 and body["data"] == {"counter": 1, "staff": nam_id, "taken_from": lan_id}
    held = events(hall, "held")[-1]
    assert held[4] == nam_id and json.loads(held[5]) == {"taken_from": lan_id}
    assert lan.post("/api/counters/1/call-next", {"id": "g"})[1]["error"]["code"] == "counter_held"
    assert nam.post("/api/counters/1/call-next", {"id": "h"})[0] == 200


def test_holding_a_second_counter_lets_go_of_the_first_and_logout_of_all(hall, clerk):
    web, sid = clerk()
    web.post("/api/counters/1/hold", {"id": "a"})
    web.post("/api/counters/2/hold", {"id": "b"})
    rows = {r["id"]: r["held_by"] for r in web.get("/api/counters")[1]["data"]["counters"]}
    assert rows[1] is None and rows[2] == sid
    assert web.post("/api/logout")[0] == 200
    assert [e[2] for e in events(hall, "released")] == [1, 2]
    assert web.get("/api/me")[1]["error"]["code"] == "no_session"


@pytest.mark.parametrize("raw, code", [
    (b"not json", "bad_body"), (b"[1, 2]", "bad_body"), (b'{"id": 5}', "bad_request"),
    (b'{"v": 1}', "bad_request"), (json.dumps({"id": "z", "x": "a" * 5000}).encode(), "too_large"),
])
def test_bad_bodies_are_refused_plainly_and_change_nothing(hall, connect, clerk, raw, code):
    web, _ = clerk()
    web.post("/api/counters/1/hold", {"id": "a"})
    ticket(connect("kiosk-1", "kiosk"))
    before = events(hall)
    status, body = web.call("POST", "/api/counters/1/call-next", raw=raw)
    assert 400 <= status < 500 and body["error"]["code"] == code and body["error"]["message"]
    assert events(hall) == before


def test_wrong_arguments_unknown_counters_and_actions_are_4xx(hall, clerk):
    web, _ = clerk()
    web.post("/api/counters/1/hold", {"id": "a"})
    assert web.post("/api/counters/1/call-ticket", {"id": "b", "ticket": 1004})[0] == 400
    assert web.post("/api/counters/1/transfer", {"id": "c", "service": "khong-co"})[0] == 404
    assert web.post("/api/counters/1/transfer", {"id": "c2", "service": "dat-dai"})[0] == 409   # no current ticket
    assert web.post("/api/counters/99/hold", {"id": "d"})[0] == 404
    assert web.post("/api/counters/abc/hold", {"id": "e"})[0] == 404
    assert web.post("/api/counters/1/explode", {"id": "f"})[0] == 404
    assert web.get("/api/counters/1/call-next")[0] == 405
    assert web.get("/nowhere")[0] == 404


def test_the_ticket_page_opens_only_with_its_code_and_rates_once(hall, connect):
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-1", "counter", 1)
    issued = ticket(kiosk)
    assert issued.page.startswith(issued.ticket_id + ".")
    web = WebClient(hall)
    status, body = web.get(f"/api/tickets/{issued.page}")
    assert status == 200 and body["data"]["label"] == issued.ticket and body["data"]["state"] == "waiting"
    # One letter off: another letter than the code's own last (base32: "x" is the last one 1 time in 32).
    one_off = issued.page[:-1] + ("y" if issued.page.endswith("x") else "x")
    for guess in (issued.ticket_id, issued.ticket_id + ".aaaaaaaa", one_off, "../../etc"):
        assert web.get(f"/api/tickets/{guess}")[0] == 404
    assert web.post(f"/api/tickets/{issued.page}/rate", {"id": "r0", "score": 3})[1]["error"]["code"] == "not_rateable"
    assert counter.ask("call-next", {"counter": 1}).ok and counter.ask("finish", {"counter": 1}).ok
    status, body = web.post(f"/api/tickets/{issued.page}/rate", {"id": "r1", "score": 1, "reason": "cho-lau"})
    assert status == 200 and body["data"] == {"ticket_id": issued.ticket_id, "score": 1}
    assert web.post(f"/api/tickets/{issued.page}/rate", {"id": "r2", "score": 3})[1]["error"]["code"] == "already_rated"
    rated = events(hall, "rated")
    assert len(rated) == 1 and json.loads(rated[0][5])["reason"] == "cho-lau"


def test_a_clerk_page_hears_another_clerks_call_live(hall, connect, clerk):
    kiosk = connect("kiosk-1", "kiosk")
    issued = ticket(kiosk)
    lan, _ = clerk("Nguyễn Thị Lan", (1, 2))
    nam, _ = clerk("Trần Văn Nam", (1, 2), pin="7777")
    lan.post("/api/counters/1/hold", {"id": "a"})
    nam.post("/api/counters/2/hold", {"id": "b"})
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(lan.events(
        "/api/live", until=lambda kind, data: kind == "call")))
    reader.start()
    wait_for(lambda: hall.web.web.live is not None and hall.web.web.live.count == 1)
    assert nam.post("/api/counters/2/call-next", {"id": "c"})[0] == 200
    reader.join(10)
    kinds = [k for k, _ in got]
    assert kinds[0] == "counter" and got[0][1]["id"] == 1      # its own counter first
    assert got[-1] == ("call", {"ticket": issued.ticket, "counter": 2, "service": "ho-tich", "recall": False,
                                "at": got[-1][1]["at"]})


def test_the_openapi_document_lists_every_endpoint(hall):
    status, doc = WebClient(hall).get("/api/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    listed = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert listed == {(e.method, e.path) for e in ENDPOINTS}
    assert ("POST", "/api/counters/{counter}/call-ticket") in listed


def test_docs_web_md_lists_every_endpoint_of_the_document():
    from motcua_cli.paths import ROOT
    text = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    rows = {(m, p) for m, p in re.findall(r"^\| (GET|POST) \| `([^`]+)` \|", text, flags=re.M)}
    assert rows == {(e.method, e.path) for e in ENDPOINTS}


def test_the_pages_load_nothing_from_elsewhere_and_a_guessed_ticket_is_a_404_page(hall):
    import urllib.error
    import urllib.request
    base = f"http://127.0.0.1:{hall.cfg.http_port}"
    with urllib.request.urlopen(base + "/can-bo") as r:
        assert r.status == 200 and "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert "Gọi số tiếp theo" in r.read().decode()
    try:
        urllib.request.urlopen(base + "/tra-cuu?t=20261125-1001.aaaaaaaa")
        raise AssertionError("a guessed code opened a page")
    except urllib.error.HTTPError as err:
        assert err.code == 404 and "default-src 'self'" in err.headers["Content-Security-Policy"]
        assert "Không tìm thấy phiếu" in err.read().decode()


def test_a_taken_http_port_is_said_plainly_and_nothing_is_left_running(hall_cfg, tmp_path):
    import socket

    from broker.server import HallServer
    taken = socket.socket()
    taken.bind(("0.0.0.0", hall_cfg.http_port))
    taken.listen()
    server = HallServer(hall_cfg, tmp_path / "data")
    with pytest.raises(RuntimeError, match=f"cannot listen on port {hall_cfg.http_port}.*http_port"):
        server.start()
    taken.close()
    assert not server.broker.alive() and server.service is not None and not server.service.healthy()
    HallServer(hall_cfg, tmp_path / "data").start().stop()   # the data folder is free again


def test_disabling_a_clerk_or_resetting_their_pin_ends_their_session_at_once(hall, clerk):
    from broker.staff import Staff
    lan, lan_id = clerk("Nguyễn Thị Lan", (1,))
    nam, nam_id = clerk("Trần Văn Nam", (2,), pin="7777")
    assert lan.get("/api/me")[0] == 200 and nam.get("/api/me")[0] == 200
    with Staff(hall.data_dir / "staff.db") as staff:
        staff.reset_pin(lan_id, "99999")
        staff.disable(nam_id)
    for web in (lan, nam):
        status, body = web.post("/api/counters/1/hold", {"id": "after"})
        assert status == 401 and body["error"]["code"] == "no_session"
    assert lan.login(lan_id, "99999")[0] == 200 and lan.get("/api/me")[0] == 200   # the new PIN works
    assert nam.login(nam_id, "7777")[0] == 403


def test_a_session_lasts_its_service_day(hall, clerk, clock):
    web, sid = clerk()
    assert web.post("/api/counters/1/hold", {"id": "a"})[0] == 200
    clock.jump(24 * 3600)                      # the next morning, same time
    wait_for(lambda: hall.service.engine.day == "2026-11-26")
    assert web.get("/api/me")[1]["error"]["code"] == "no_session"
    other = WebClient(hall)
    assert other.login(sid, "4821")[0] == 200          # and a new day's login closes yesterday's rows
    db = __import__("sqlite3").connect(hall.data_dir / "staff.db")
    assert db.execute("SELECT day, ended_at IS NOT NULL FROM sessions ORDER BY created_at").fetchall() == [
        ("2026-11-25", 1), ("2026-11-26", 0)]
    db.close()
    assert all(c["held_by"] is None for c in other.get("/api/counters")[1]["data"]["counters"])


class BoardSeen:
    """A watcher of the hall service's worker: set once a board showing `ticket_id` in `state` has
    gone out to the pages."""

    def __init__(self, ticket_id: str, state: str):
        self.ticket_id, self.state = ticket_id, state
        self.event = threading.Event()

    def on_board(self, board, engine, now) -> None:
        view = ticket_view(engine, self.ticket_id, now)
        if view is not None and view.state == self.state:
            self.event.set()

    def on_call(self, call, engine) -> None:
        pass

    def on_alarms(self, alarms) -> None:
        pass


def a_change_right_after_the_first_view(hall, monkeypatch, change, seen: BoardSeen) -> None:
    """The next page stream to open: its first view is read, then `change` happens and its board
    reaches the pages, all before the handler goes on (the loop waits: a phone connecting while a
    clerk taps). What the stream sends after that shows whether the change reached it."""
    desk = hall.web.web.desk
    real = desk.read

    async def read_then_change(fn):
        view = await real(fn)
        monkeypatch.setattr(desk, "read", real)   # once: the stream's later reads are plain
        hall.service.watchers.append(seen)
        change()
        assert seen.event.wait(5), "the change's board never went out"
        hall.service.watchers.remove(seen)
        return view

    monkeypatch.setattr(desk, "read", read_then_change)


def test_a_ticket_finished_while_its_page_connects_shows_finished(hall, connect, monkeypatch):
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-1", "counter", 1)
    issued = ticket(kiosk)
    assert counter.ask("call-next", {"counter": 1}).ok
    a_change_right_after_the_first_view(hall, monkeypatch, lambda: counter.ask("finish", {"counter": 1}, timeout=5),
                                        BoardSeen(issued.ticket_id, "finished"))
    got = WebClient(hall).events(f"/api/tickets/{issued.page}/live",
                                 until=lambda kind, data: kind == "ticket" and data["state"] == "finished")
    assert got[-1][1]["can_rate"] is True   # the page offers the rating faces


def test_a_call_while_a_clerk_page_connects_shows_on_it(hall, connect, clerk, monkeypatch):
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-1", "counter", 1)
    issued = ticket(kiosk)
    web, _ = clerk("Nguyễn Thị Lan", (1,))
    assert web.post("/api/counters/1/hold", {"id": "h"})[0] == 200
    a_change_right_after_the_first_view(hall, monkeypatch, lambda: counter.ask("call-next", {"counter": 1}, timeout=5),
                                        BoardSeen(issued.ticket_id, "called"))
    got = web.events("/api/live", until=lambda kind, data: kind == "counter" and data["current"] is not None)
    assert got[-1][1]["current"]["label"] == issued.ticket
