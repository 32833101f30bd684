"""The ticket's page (GET /tra-cuu?t=<code>, what the QR on a ticket opens), in a real browser.

A real `motcua serve` (its Mosquitto, SQLite and web adapter), a kiosk and a counter acting over
MQTT, and headless Chromium showing the page at 360×640, the screen of an old phone. Screenshots of
every state go to test-output/ticket-page/. docs/ticket-page.md says what the page does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from hall.client import HallClient
from hall.protocol import TicketIssued, TicketState
from printer.layout import render_ticket
from printer.ticket import TicketInfo
from tests.conftest import OUTPUT, ROOT, freeze, unique_hall_id, wait_for
from tests.hallproc import HallProcess
from tests.test_printer_layout import zbar

STATIC = ROOT / "broker" / "web" / "static" / "ticket"
SHOTS = OUTPUT / "ticket-page"
CHROMIUM = dict(executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
WAIT_MS = 10_000
# Counts the chime's oscillators and the vibrations the page asks for: headless Chromium has no speaker
# and no motor, so the test watches the calls the page makes to them.
SENSORS = """
(function () {
  window.__tones = 0; window.__buzz = [];
  var C = window.AudioContext, make = C.prototype.createOscillator;
  C.prototype.createOscillator = function () { window.__tones += 1; return make.apply(this, arguments); };
  navigator.vibrate = function (p) { window.__buzz.push(p); return true; };
}());
"""


@dataclass
class Hall:
    proc: HallProcess
    kiosk: HallClient
    counter: HallClient
    url: str

    def take(self) -> TicketIssued:
        reply = self.kiosk.ask("take-ticket", {"service": "ho-tich"}, timeout=5)
        assert reply.ok and isinstance(reply.data, TicketIssued), reply
        return reply.data

    def act(self, action: str) -> TicketState:
        reply = self.counter.ask(action, {"counter": 1}, timeout=5)
        assert reply.ok and isinstance(reply.data, TicketState), reply
        return reply.data

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.proc.data / "hall.db")

    def rated(self, ticket_id: str) -> tuple[int | None, int]:
        """The ledger's rating of a ticket and how many `rated` events it has."""
        with self.db() as db:
            rating = db.execute("SELECT rating FROM tickets WHERE id = ?", (ticket_id,)).fetchone()[0]
            events = db.execute("SELECT count(*) FROM events WHERE ticket = ? AND kind = 'rated'",
                                (ticket_id,)).fetchone()[0]
        return rating, events


def http(url: str, body: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"} if body is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def reachable(url: str) -> bool:
    try:
        return http(url)[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    proc = HallProcess(tmp_path_factory.mktemp("ticket-page"), unique_hall_id("ticket-page"))
    devs = proc.provision([("kiosk-1", "kiosk", None), ("counter-1", "counter", 1)])
    proc.start()
    url = f"http://127.0.0.1:{proc.cfg.http_port}"
    wait_for(lambda: reachable(url + "/api/ping"), timeout=15)
    kiosk, counter = HallClient(devs["kiosk-1"]).start(wait=5), HallClient(devs["counter-1"]).start(wait=5)
    yield Hall(proc, kiosk, counter, url)
    kiosk.stop()
    counter.stop()
    proc.stop()


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(**CHROMIUM)
        yield b
        b.close()


class Phone:
    """One citizen's phone: a page at 360×640 and everything the hall server sent it."""

    def __init__(self, browser, hall: Hall):
        self.context = browser.new_context(viewport={"width": 360, "height": 640}, locale="vi-VN")
        self.page: Page = self.context.new_page()
        self.page.add_init_script(SENSORS)
        self.responses: list[tuple[str, int, str]] = []   # (url, status, body) of every API reply but streams
        self.streamed: list[tuple[str, str]] = []         # (event name, data) of every EventSource message
        self.page.on("response", self._response)
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.on("Network.eventSourceMessageReceived", lambda e: self.streamed.append((e["eventName"], e["data"])))
        self.hall = hall

    def _response(self, r) -> None:
        if "/api/" not in r.url:
            return
        streaming = "text/event-stream" in (r.headers.get("content-type") or "")
        # A stream's body ends only when the stream does: its messages come from the CDP events instead.
        self.responses.append((r.url, r.status, "" if streaming else r.text()))

    def open(self, code: str):
        return self.page.goto(f"{self.hall.url}/tra-cuu?t={code}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def received(self) -> list:
        """Every JSON object the page got: fetch replies and the stream's events."""
        return [json.loads(data) for _, data in self.streamed] + [json.loads(b) for _, _, b in self.responses if b]

    def close(self) -> None:
        self.context.close()


@pytest.fixture(autouse=True)
def empty_line(hall):
    """Each test starts with counter 1 free and nobody waiting, whatever the test before it left."""
    yield
    hall.counter.ask("finish", {"counter": 1}, timeout=5)
    while hall.counter.ask("call-next", {"counter": 1}, timeout=5).ok:
        hall.counter.ask("finish", {"counter": 1}, timeout=5)


@pytest.fixture
def phone(browser, hall):
    ph = Phone(browser, hall)
    yield ph
    ph.close()


def printed_qr(hall: Hall, issued: TicketIssued, tmp: Path) -> str:
    """What a phone reads from the ticket the kiosk prints for this reply."""
    info = TicketInfo.from_reply(issued, hall.proc.cfg)
    return zbar(render_ticket(info, 384), tmp)


def test_page_follows_its_ticket_live_then_rates_it_once(hall, phone, tmp_path):
    first, mine = hall.take(), hall.take()
    # The QR the kiosk prints carries the page code, not the bare (guessable) ticket id.
    assert re.fullmatch(re.escape(mine.ticket_id) + r"\.[a-z2-7]{8}", mine.page)
    qr = printed_qr(hall, mine, tmp_path)
    assert qr == f"{hall.proc.cfg.lookup_url}?t={mine.page}"
    code = qr.split("?t=")[1]

    assert phone.open(code).status == 200
    page = phone.page
    expect(page.locator(".number")).to_have_text(mine.ticket)
    expect(page.locator(".status .vi")).to_have_text(re.compile(r"^Còn 1 người trước bạn( · khoảng \d+ phút)?$"),
                                                      timeout=WAIT_MS)
    expect(page.locator(".service .vi")).to_have_text("Hộ tịch")
    phone.shot("1-waiting")
    page.locator("#sound").click()                      # the citizen's tap that lets the page play sound
    expect(page.locator("#sound")).to_have_attribute("aria-pressed", "true")
    tones = page.evaluate("window.__tones")
    assert tones > 0, "the tap plays the chime once, so the citizen hears what it sounds like"

    assert hall.act("call-next").ticket_id == first.ticket_id
    expect(page.locator(".status .vi")).to_have_text("Bạn là người tiếp theo", timeout=WAIT_MS)
    phone.shot("2-next")
    hall.act("finish")

    # A rating before the service is over is refused, and changes nothing.
    status, text = http(f"{hall.url}/api/tickets/{code}/rate", {"id": uuid.uuid4().hex, "score": 3})
    assert (status, json.loads(text)["error"]["code"]) == (409, "not_rateable")

    assert hall.act("call-next").ticket_id == mine.ticket_id
    expect(page.locator(".turn")).to_have_text(re.compile(r"^Đến lượt bạn — mời đến Quầy 1"), timeout=WAIT_MS)
    expect(page.locator("body")).to_have_class("st-called")
    assert page.evaluate("window.__tones") > tones and page.evaluate("window.__buzz.length") == 2
    phone.shot("3-called")
    status, text = http(f"{hall.url}/api/tickets/{code}/rate", {"id": uuid.uuid4().hex, "score": 3})
    assert (status, json.loads(text)["error"]["code"]) == (409, "not_rateable")
    assert hall.rated(mine.ticket_id) == (None, 0)

    hall.act("finish")
    faces = page.locator(".face-btn")
    expect(faces).to_have_count(3, timeout=WAIT_MS)     # the example hall's scale, worst first
    expect(faces.nth(0)).to_contain_text("Không hài lòng")
    expect(faces.nth(2)).to_contain_text("Rất hài lòng")
    expect(page.locator("#sound")).to_be_hidden()
    phone.shot("4-rate")
    faces.nth(0).click()                                # score 1 <= ask_reason_at_most: asks why
    expect(page.locator(".reason-btn")).to_have_count(6)   # the five default reasons and "Bỏ qua"
    phone.shot("5-reasons")
    page.locator(".reason-btn", has_text="Chờ lâu").click()
    expect(page.locator(".done .vi")).to_have_text("Cảm ơn ông/bà đã đánh giá", timeout=WAIT_MS)
    phone.shot("6-thanks")
    assert wait_for(lambda: hall.rated(mine.ticket_id) == (1, 1))

    # A second rating of the same ticket is refused; the ledger keeps the first.
    status, text = http(f"{hall.url}/api/tickets/{code}/rate", {"id": uuid.uuid4().hex, "score": 3})
    assert (status, json.loads(text)["error"]["code"]) == (409, "already_rated")
    page.reload()
    expect(page.locator(".done .vi")).to_have_text("Phiếu này đã được đánh giá. Cảm ơn ông/bà!", timeout=WAIT_MS)
    expect(page.locator(".face-btn")).to_have_count(0)
    phone.shot("7-already-rated")
    assert hall.rated(mine.ticket_id) == (1, 1)
    with hall.db() as db:
        reason = db.execute("SELECT data FROM events WHERE ticket = ? AND kind = 'rated'",
                            (mine.ticket_id,)).fetchone()[0]
    assert "cho-lau" in reason

    # Nothing the page received names the other citizen's ticket.
    got = phone.received()
    views = [g["data"] if "data" in g and "ok" in g else g for g in got]
    tickets = [v for v in views if isinstance(v, dict) and "label" in v]
    assert len(tickets) >= 5 and {t["ticket_id"] for t in tickets} == {mine.ticket_id}
    assert {t["label"] for t in tickets} == {mine.ticket}
    raw = json.dumps(got, ensure_ascii=False)
    assert first.ticket_id not in raw and first.page not in raw
    # ... and it asked about nothing but the hall's config and its own ticket.
    asked = {url.removeprefix(hall.url) for url, _, _ in phone.responses}
    assert asked == {"/api/hall", f"/api/tickets/{code}", f"/api/tickets/{code}/live", f"/api/tickets/{code}/rate"}


def test_a_rating_from_the_counter_pad_shows_as_rated(hall, phone):
    mine = hall.take()
    phone.open(mine.page)
    assert hall.act("call-next").ticket_id == mine.ticket_id
    hall.act("finish")
    expect(phone.page.locator(".face-btn")).to_have_count(3, timeout=WAIT_MS)
    reply = hall.counter.ask("rate", {"counter": 1, "ticket_id": mine.ticket_id, "score": 3}, timeout=5)
    assert reply.ok, reply
    expect(phone.page.locator(".done .vi")).to_have_text("Phiếu này đã được đánh giá. Cảm ơn ông/bà!",
                                                         timeout=WAIT_MS)
    assert hall.rated(mine.ticket_id) == (3, 1)


def test_a_skipped_ticket_says_to_see_a_clerk(hall, phone):
    mine = hall.take()
    phone.open(mine.page)
    expect(phone.page.locator(".status .vi")).to_have_text("Bạn là người tiếp theo", timeout=WAIT_MS)
    assert hall.act("call-next").ticket_id == mine.ticket_id
    expect(phone.page.locator("body")).to_have_class("st-called", timeout=WAIT_MS)
    assert hall.act("skip").state == "no_show"
    expect(phone.page.locator(".status .vi")).to_have_text(
        "Số của bạn đã được gọi nhưng ông/bà không có mặt. Vui lòng liên hệ cán bộ tại quầy.", timeout=WAIT_MS)
    expect(phone.page.locator(".face-btn")).to_have_count(0)
    phone.shot("8-no-show")


@pytest.mark.parametrize("how", ["bare-id", "altered-key", "nonsense", "empty"])
def test_a_guessed_code_gets_the_not_found_page(hall, phone, how):
    issued = hall.take()
    key = issued.page.split(".")[1]
    code = {"bare-id": issued.ticket_id, "altered-key": f"{issued.ticket_id}.{key[::-1]}",
            "nonsense": "abc<script>", "empty": ""}[how]
    response = phone.open(code)
    assert response.status == 404
    expect(phone.page.locator("h1")).to_contain_text("Không tìm thấy phiếu")
    expect(phone.page.locator("h1 .en")).to_have_text("Ticket not found")
    assert issued.ticket not in phone.page.content()
    if how == "bare-id":
        phone.shot("9-not-found")
        status, text = http(f"{hall.url}/api/tickets/{code}")
        assert (status, json.loads(text)["error"]["code"]) == (404, "unknown_ticket")
        status, text = http(f"{hall.url}/api/tickets/{code}/rate", {"id": uuid.uuid4().hex, "score": 3})
        assert status == 404
    assert phone.responses == [], "the 404 page asks nothing"


def test_the_band_shows_while_the_hall_server_is_down(hall, phone):
    mine = hall.take()
    phone.open(mine.page)
    page = phone.page
    expect(page.locator(".status .vi")).to_have_text("Bạn là người tiếp theo", timeout=WAIT_MS)
    expect(page.locator("#offline")).to_be_hidden()
    hall.proc.kill()                                    # kill -9: the stream breaks at once
    expect(page.locator("#offline")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#offline .vi")).to_contain_text("Mất kết nối")
    expect(page.locator(".number")).to_have_text(mine.ticket)    # what it knew stays on screen
    phone.shot("10-offline")
    hall.proc.start()
    expect(page.locator("#offline")).to_be_hidden(timeout=40_000)    # backoff: at most 30 s between tries
    # Data flows again on the new stream: the same code still opens the same ticket after the restart.
    assert hall.act("call-next").ticket_id == mine.ticket_id
    expect(page.locator(".turn")).to_contain_text("Đến lượt bạn", timeout=WAIT_MS)
    hall.act("finish")


def test_a_silent_stream_is_reopened_and_a_dead_one_shows_the_band(hall, phone):
    """35 s without a word. The page's clock is Playwright's, run 5 s at a time; the hall server's is real."""
    mine = hall.take()
    page, band = phone.page, phone.page.locator("#offline")
    page.clock.install()
    phone.open(mine.page)
    expect(page.locator(".status .vi")).to_have_text("Bạn là người tiếp theo", timeout=WAIT_MS)

    def run_until(predicate, while_=lambda: True) -> int:
        """Page seconds run until predicate() (real time between steps for the server to answer)."""
        for step in range(1, 25):
            page.clock.run_for("00:05")
            page.wait_for_timeout(200)      # hands the page's network events to the test
            if predicate():
                return step * 5
            assert while_(), f"after {step * 5} s"
        raise AssertionError("not within 120 s of the page's clock")

    def streams() -> int:
        return sum(1 for url, _, _ in phone.responses if url.endswith("/live"))

    def heard() -> int:
        return sum(1 for name, _ in phone.streamed if name == "ticket")

    run_until(lambda: heard() >= 1)
    # A quiet hall: the server's keepalives are comments, which EventSource does not show the page.
    # The page checks its ticket and reopens the stream, without alarming the citizen.
    opened, events = streams(), heard()
    waited = run_until(lambda: streams() > opened and heard() > events, while_=band.is_hidden)
    assert 35 <= waited <= 45, waited
    expect(band).to_be_hidden()

    # A dead connection (a phone between cells, a hall server that hangs): the socket stays open and
    # says nothing. SIGSTOP the hall server: its sockets stay open and silent, the check hangs too.
    freeze(hall.proc.proc.pid)
    try:
        waited = run_until(band.is_visible)
        assert 35 <= waited <= 55, waited     # 35 s of silence, then the check gives up after 8 s
    finally:
        os.kill(hall.proc.proc.pid, signal.SIGCONT)
    # The next try (backoff: 1, 2, 4 … 30 s) finds the server.
    run_until(band.is_hidden)
    assert hall.act("call-next").ticket_id == mine.ticket_id
    expect(page.locator(".turn")).to_contain_text("Đến lượt bạn", timeout=WAIT_MS)
    hall.act("finish")


def test_the_page_is_plain_es2017_with_nothing_from_elsewhere():
    for name in ("ticket.js", "media.js"):
        js = (STATIC / name).read_text(encoding="utf-8")
        code = re.sub(r'"(?:[^"\\\n]|\\.)*"|/\*.*?\*/|//[^\n]*', '""', js, flags=re.S)   # strings, comments out
        for newer in ("?.", "??", "...", "catch {", "**"):
            assert newer not in code, f"{name} uses {newer!r}, newer than ES2017"
    for name in ("index.html", "not-found.html", "ticket.css"):
        text = (STATIC / name).read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|@import|url\(\s*["']?(https?:)?//""", text), name
    assert "<script" not in (STATIC / "not-found.html").read_text(encoding="utf-8")
