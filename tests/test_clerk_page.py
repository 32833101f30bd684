"""The clerk's handheld page (issue 10): a real `motcua serve` (tests/hallproc.py), a real Mosquitto,
real headless Chromium at 360×640, taps as a clerk makes them. The ledger (hall.db) and the wall
display's MQTT subscription are the witnesses; every page state is saved to test-output/clerk/.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect, sync_playwright

from broker.staff import Staff
from hall.client import HallClient
from hall.protocol import Call
from tests.conftest import OUTPUT, ROOT, unique_hall_id, wait_for
from tests.hallproc import HallProcess
from tests.netrelay import Relay
from tests.test_service import Inbox

VIEW: ViewportSize = {"width": 360, "height": 640}
SHOTS = OUTPUT / "clerk"
STATIC = ROOT / "broker" / "web" / "static"
LAN, HUNG = "Nguyễn Thị Lan", "Trần Văn Hùng"
PIN = {LAN: "4821", HUNG: "1357"}
ACTIONS = re.compile(r"/api/counters/\d+/[a-z-]+$")


class Hall:
    """`motcua serve` with two clerks (Lan: counters 1, 2; Hùng: 2, 3), a kiosk and a wall display."""

    def __init__(self, tmp: Path, hall_id: str):
        self.proc = HallProcess(tmp, hall_id)
        devices = self.proc.provision([("kiosk-1", "kiosk", None), ("display-1", "display", None)])
        staff = Staff(self.proc.data / "staff.db")
        staff.add(LAN, "clerk", PIN[LAN], counters=(1, 2), hall_counters=(1, 2, 3, 4))
        staff.add(HUNG, "clerk", PIN[HUNG], counters=(2, 3), hall_counters=(1, 2, 3, 4))
        staff.close()
        self.proc.start()
        self.cfg = self.proc.cfg
        self.base = f"http://127.0.0.1:{self.cfg.http_port}"
        self.heard = Inbox()
        self.kiosk = HallClient(devices["kiosk-1"]).start(wait=5)
        self.display = HallClient(devices["display-1"], subscribe=["called"], on_message=self.heard).start(wait=5)

    def take(self, *services: str, priority: str | None = None) -> None:
        for service in services:
            args = {"service": service, **({"priority": priority} if priority else {})}
            assert self.kiosk.request("take-ticket", args)["ok"]

    def calls_heard(self, n: int) -> list[Call]:
        """The `called` messages the wall display got, once there are n."""
        def calls():
            got = [Call.from_payload(p) for p in self.heard.on(self.display.topics.called)]
            return got if len(got) >= n else None
        return wait_for(calls, timeout=10)

    def stop(self) -> None:
        self.kiosk.stop()
        self.display.stop()
        self.proc.stop()


def ledger_events(hall: Hall) -> list[tuple[str, str | None, int | None]]:
    db = sqlite3.connect(f"file:{hall.proc.data / 'hall.db'}?mode=ro", uri=True)
    try:
        return db.execute("SELECT e.kind, t.label, e.counter FROM events e LEFT JOIN tickets t ON t.id = e.ticket "
                          "ORDER BY e.id").fetchall()
    finally:
        db.close()


def called_events(hall: Hall) -> list[tuple[str | None, int | None]]:
    return [(label, counter) for kind, label, counter in ledger_events(hall) if kind == "called"]


class Clerk:
    """One clerk's phone: its own browser context (cookies), a 360×640 page, what it POSTed."""

    def __init__(self, browser: Browser, base: str, who: str):
        self.base = base
        self.ctx = browser.new_context(viewport=VIEW, device_scale_factor=2, locale="vi-VN")
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.posts: list[tuple[str, str]] = []
        self.held: list = []
        self.staff_id: int | None = None
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.posts.append((r.url, r.post_data or "")) if r.method == "POST" else None)

    def open(self) -> None:
        self.page.goto(self.base + "/can-bo")
        expect(self.page.locator("#staff-list .card").first).to_be_visible()

    def pick(self, name: str) -> None:
        self.page.locator("#staff-list .card", has_text=name).click()
        expect(self.page.locator("#s-pin")).to_be_visible()

    def type_pin(self, digits: str) -> None:
        for d in digits:
            self.page.click(f"#pin-pad [data-key='{d}']")

    def type_number(self, digits: str) -> None:
        for d in digits:
            self.page.click(f"#nb-pad [data-key='{d}']")

    def login(self, name: str) -> None:
        self.open()
        self.pick(name)
        self.type_pin(PIN[name])
        self.page.click("#pin-go")
        expect(self.page.locator("#s-counters")).to_be_visible()
        self.staff_id = self.page.evaluate("Motcua.clerk.state.me.id")

    def choose(self, counter: int) -> None:
        self.page.click(f"#counter-list [data-counter='{counter}']")
        expect(self.page.locator("#m-counter")).to_have_text(f"Quầy {counter}")
        # A function, not an expression: Playwright evals an expression inside the page, which the
        # page's Content-Security-Policy (no 'unsafe-eval') refuses.
        self.page.wait_for_function("() => Motcua.clerk.state.view !== null")

    def tap(self, button: str) -> None:
        self.page.click("#" + button)
        expect(self.page.locator("#" + button)).not_to_have_class(re.compile("sending"))

    def tap_and_read(self, button: str) -> str:
        """Tap a calling button; the number it called, once the page shows it."""
        before = self.page.inner_text("#t-number")
        self.tap(button)
        self.page.wait_for_function(
            f"() => !['—', {before!r}].includes(document.getElementById('t-number').textContent)")
        return self.page.inner_text("#t-number")

    def hold_actions(self) -> None:
        """Counter actions wait here (a slow line) until release_actions()."""
        self.page.route(ACTIONS, self._hold)

    def _hold(self, route) -> None:
        self.held.append(route)

    def release_actions(self) -> None:
        while not self.held:
            self.page.wait_for_timeout(20)
        for route in self.held:
            route.continue_()
        self.held.clear()
        self.page.unroute(ACTIONS, self._hold)

    def lose_first_reply(self, suffix: str) -> None:
        """The first such request reaches the hall, which acts and answers; the page never gets the reply."""
        lost: list[bool] = []

        def handle(route):
            if lost:
                route.continue_()
                return
            lost.append(True)
            assert route.fetch().ok
            route.abort("connectionreset")
        self.page.route(re.compile(re.escape(suffix) + "$"), handle)

    def fetch(self, method: str, path: str, body: dict | None = None, csrf: bool = True) -> tuple[int, dict]:
        """A request made by hand from the page: the clerk's own cookie, and her CSRF token if asked."""
        return tuple(self.page.evaluate("""async ([method, path, body, csrf]) => {
            const me = await (await fetch('/api/me')).json();
            const headers = {'Content-Type': 'application/json'};
            if (csrf) headers['X-CSRF-Token'] = me.data.csrf;
            const r = await fetch(path, {method, headers, body: body ? JSON.stringify(body) : undefined});
            return [r.status, await r.json()];
        }""", [method, path, body, csrf]))

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.fixture
def hall(tmp_path, request):
    h = Hall(tmp_path, unique_hall_id(request.node.name))
    yield h
    h.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium",
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def test_two_clerks_serve_and_the_display_hears_every_call(hall, browser):
    hall.take("ho-tich", "ho-tich", "ho-tich", "ho-tich", "chung-thuc")
    lan = Clerk(browser, hall.base, "lan")
    lan.open()
    lan.shot("01-login-names")
    lan.pick(LAN)
    lan.type_pin(PIN[LAN][:2])
    lan.shot("02-login-pin")
    lan.type_pin(PIN[LAN][2:])
    lan.page.click("#pin-go")
    expect(lan.page.locator("#s-counters")).to_be_visible()
    lan.shot("03-counters")
    lan.choose(1)
    lan.shot("04-counter-idle")

    hung = Clerk(browser, hall.base, "hung")
    hung.login(HUNG)
    hung.choose(2)

    first = lan.tap_and_read("a-next")
    expect(lan.page.locator("#t-state")).to_contain_text("Đang gọi")
    lan.shot("05-counter-called")
    second = hung.tap_and_read("a-next")
    # Another clerk's call shows on Lan's page, streamed: no reload.
    expect(lan.page.locator("#m-call")).to_have_text(f"Quầy 2 gọi số {second}")
    lan.shot("06-another-clerks-call")

    lan.tap("a-recall")
    expect(hung.page.locator("#m-call")).to_have_text(f"Quầy 1 gọi lại số {first}")

    # Transfer Lan's citizen to Chứng thực: the sheet, then her counter has no current ticket.
    lan.page.click("#a-transfer")
    expect(lan.page.locator("#sh-transfer")).to_be_visible()
    lan.shot("07-transfer-sheet")
    lan.page.locator("#tr-services .card", has_text="Chứng thực").click()
    expect(lan.page.locator("#t-number")).to_have_text("—")
    expect(lan.page.locator("#banner")).to_contain_text(f"Đã chuyển số {first} sang Chứng thực")
    for button in ("a-recall", "a-skip", "a-transfer", "a-finish"):
        expect(lan.page.locator("#" + button)).to_be_disabled()

    # Hùng calls a given number (1004) with the pad: his 1002 is finished first, 1004 called.
    hung.page.click("#a-number")
    hung.type_number("1004")
    hung.shot("08-call-a-number")
    hung.page.click("#nb-go")
    expect(hung.page.locator("#t-number")).to_have_text("1004")
    hung.tap("a-finish")
    expect(hung.page.locator("#t-number")).to_have_text("—")
    expect(hung.page.locator("#m-today .figure").first).to_contain_text("2")   # 1002 and 1004 served

    # Pause: Gọi số tiếp theo and Gọi số… are off until Tiếp tục.
    lan.tap("a-pause")
    expect(lan.page.locator("#a-pause")).to_contain_text("Tiếp tục")
    expect(lan.page.locator("#a-next")).to_be_disabled()
    expect(lan.page.locator("#a-number")).to_be_disabled()
    lan.shot("09-counter-paused")
    lan.tap("a-pause")
    expect(lan.page.locator("#a-next")).to_be_enabled()

    # The transferred ticket keeps its issue time: Lan's next call; then absent.
    third = lan.tap_and_read("a-next")
    lan.tap("a-skip")
    expect(lan.page.locator("#m-today .figure").nth(1)).to_contain_text("1")

    calls = [(c.ticket, c.counter, c.recall) for c in hall.calls_heard(5)]
    assert calls == [(first, 1, False), (second, 2, False), (first, 1, True), ("1004", 2, False), (third, 1, False)]
    assert called_events(hall) == [(first, 1), (second, 2), ("1004", 2), (third, 1)]
    kinds = [k for k, _, _ in ledger_events(hall)]
    assert kinds.count("transferred") == 1 and kinds.count("no_show") == 1 and kinds.count("paused") == 1
    assert lan.errors == [] and hung.errors == []


def test_a_double_tap_calls_one_citizen(hall, browser):
    hall.take("ho-tich", "ho-tich", "ho-tich")
    lan = Clerk(browser, hall.base, "lan")
    lan.login(LAN)
    lan.choose(1)
    # The reply is held back (a phone on poor Wi-Fi): every further tap lands while the first is in flight.
    lan.hold_actions()
    lan.page.dblclick("#a-next")
    expect(lan.page.locator("#a-next")).to_have_class(re.compile("sending"))
    expect(lan.page.locator("#a-recall")).to_be_disabled()
    lan.shot("10-sending")
    lan.page.eval_on_selector("#a-next", "b => { b.click(); b.click(); }")
    box = lan.page.locator("#a-next").bounding_box()
    assert box is not None
    lan.page.mouse.click(box["x"] + 20, box["y"] + 20)
    lan.page.mouse.click(box["x"] + 20, box["y"] + 20)
    lan.release_actions()
    expect(lan.page.locator("#t-number")).to_have_text("1001")
    expect(lan.page.locator("#a-next")).to_be_enabled()
    # And two clicks in one JS task with the line fast: the second meets a held button.
    lan.page.eval_on_selector("#a-next", "b => { b.click(); b.click(); }")
    expect(lan.page.locator("#t-number")).to_have_text("1002")
    expect(lan.page.locator("#a-next")).to_be_enabled()
    lan.tap("a-recall")                                  # a positive signal: the page's taps all answered
    posts = [json.loads(body) for url, body in lan.posts if url.endswith("/call-next")]
    assert len(posts) == 2 and posts[0]["id"] != posts[1]["id"], "one request, a fresh id, per tap"
    assert called_events(hall) == [("1001", 1), ("1002", 1)]


def test_a_lost_reply_is_sent_again_with_the_same_id(hall, browser):
    """The request reaches the hall, the reply is lost on the way back: the retry calls no one new."""
    hall.take("ho-tich", priority="elderly")
    hall.take("ho-tich")
    lan = Clerk(browser, hall.base, "lan")
    lan.login(LAN)
    lan.choose(1)
    lan.lose_first_reply("/call-next")
    lan.page.click("#a-next")
    # The stream may show 1001 before the retry's reply comes: the button held is the reply's to end.
    expect(lan.page.locator("#a-next")).not_to_have_class(re.compile("sending"), timeout=10_000)
    expect(lan.page.locator("#t-number")).to_have_text("1001")
    expect(lan.page.locator("#t-priority")).to_have_text("Ưu tiên: Người cao tuổi")
    lan.shot("17-priority-ticket")
    posts = [json.loads(body) for url, body in lan.posts if url.endswith("/call-next")]
    assert len(posts) == 2 and posts[0]["id"] == posts[1]["id"]
    assert called_events(hall) == [("1001", 1)]


def test_a_wrong_pin_is_throttled(hall, browser):
    lan = Clerk(browser, hall.base, "lan")
    lan.open()
    lan.pick(LAN)
    for left in (4, 3, 2, 1):
        lan.type_pin("0000")
        lan.page.click("#pin-go")
        expect(lan.page.locator("#pin-msg")).to_have_text(f"Mã PIN không đúng. Còn {left} lần thử.")
        if left == 4:
            lan.shot("11-pin-wrong")
    lan.type_pin("0000")
    lan.page.click("#pin-go")
    expect(lan.page.locator("#pin-msg")).to_have_text("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau 1 phút.")
    lan.shot("12-pin-locked")
    # Locked: even the right PIN is refused now, with the minutes left.
    lan.type_pin(PIN[LAN])
    lan.page.click("#pin-go")
    expect(lan.page.locator("#pin-msg")).to_contain_text("Vui lòng thử lại sau")
    expect(lan.page.locator("#s-pin")).to_be_visible()


def test_a_crafted_request_for_another_clerks_counter_is_refused(hall, browser):
    hall.take("ho-tich", "dat-dai")
    lan, hung = Clerk(browser, hall.base, "lan"), Clerk(browser, hall.base, "hung")
    lan.login(LAN)
    lan.choose(1)
    hung.login(HUNG)
    hung.choose(2)
    before = len(ledger_events(hall))
    # Lan's own session cookie and CSRF token, by hand: counter 3 is not hers, counter 2 is Hùng's.
    refusals = []
    for counter in (3, 2):
        status, body = lan.fetch("POST", f"/api/counters/{counter}/call-next", {"id": f"crafted-{counter}"})
        assert not body["ok"] and body["error"]["message"]
        refusals.append((counter, status, body["error"]["code"]))
    status, body = lan.fetch("POST", "/api/counters/1/call-next", {"id": "no-csrf"}, csrf=False)
    assert (status, body["error"]["code"]) == (403, "csrf")
    # A positive signal that the hall is answering (and wrote nothing for the refusals).
    status, body = lan.fetch("GET", "/api/counters/2")
    assert status == 200 and body["data"]["current"] is None and body["data"]["held_by"] == hung.staff_id
    assert len(ledger_events(hall)) == before
    # A counter shown held asks first; taking it over sends Hùng's page back to the counters.
    lan.page.click("#m-switch")
    lan.page.click("#counter-list [data-counter='2']")
    expect(lan.page.locator("#cf-text")).to_have_text("Quầy 2 đang do Trần Văn Hùng làm việc. Nhận thay?")
    lan.shot("13-take-over-asked")
    lan.page.click("#cf-yes")
    expect(lan.page.locator("#m-counter")).to_have_text("Quầy 2")
    expect(hung.page.locator("#s-counters")).to_be_visible()
    expect(hung.page.locator("#banner-text")).to_have_text("Quầy 2 đã được Nguyễn Thị Lan nhận thay.")
    hung.shot("14-counter-taken-over")
    # A refusal shows the server's Vietnamese message in the banner.
    lan.tap("a-next")
    lan.tap("a-next")
    expect(lan.page.locator("#banner-text")).to_have_text("Không còn công dân nào đang chờ.")
    lan.shot("15-refused-banner")
    # The contract (docs/web.md): an action for a counter another clerk holds is a 403, like one not hers.
    assert refusals == [(3, 403, "not_your_counter"), (2, 403, "counter_held")]


def test_the_band_shows_while_the_line_is_cut(hall, browser):
    relay = Relay(hall.cfg.http_port)
    try:
        lan = Clerk(browser, f"http://127.0.0.1:{relay.port}", "lan")
        lan.login(LAN)
        lan.choose(1)
        expect(lan.page.locator("#m-waiting")).to_contain_text("Không còn ai chờ")
        relay.cut()
        expect(lan.page.locator("#offline")).to_be_visible()
        lan.shot("16-connection-lost")
        # Meanwhile a citizen takes a ticket: the page learns it once the line is back.
        hall.take("ho-tich")
        wait_for(lambda: relay.refused > 0, timeout=10)        # the page tried again, and was refused
        relay.up = True
        expect(lan.page.locator("#offline")).to_be_hidden(timeout=15_000)
        expect(lan.page.locator("#m-waiting")).to_contain_text("1 người đang chờ")
        lan.tap_and_read("a-next")
        assert called_events(hall) == [("1001", 1)]
    finally:
        relay.close()


def test_the_page_is_an_installable_app_of_es2017(hall, browser):
    lan = Clerk(browser, hall.base, "lan")
    lan.open()
    page = lan.page
    href = page.get_attribute("link[rel=manifest]", "href")
    manifest = page.request.get(hall.base + href).json()
    assert manifest["name"] == "motcua – Cán bộ một cửa" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/can-bo"
    for icon in manifest["icons"]:
        png = page.request.get(hall.base + icon["src"])
        assert png.ok and png.headers["content-type"] == "image/png"
        size = int.from_bytes(png.body()[16:20], "big")
        assert f"{size}x{size}" == icon["sizes"]
    assert page.get_attribute("meta[name=theme-color]", "content")
    assert page.get_attribute("link[rel=apple-touch-icon]", "href")
    assert lan.errors == []


def _code(js: str) -> str:
    """JavaScript without its comments and string literals (what the syntax check reads)."""
    return re.sub(r"/\*.*?\*/|//[^\n]*|'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|`(?:\\.|[^`\\])*`", "''",
                  js, flags=re.S)


def test_the_scripts_are_es2017_and_the_texts_nfc():
    """Old Android Chrome: nothing newer than ES2017 (see docs/clerk-page.md); Vietnamese in NFC."""
    newer = {"?.": r"\?\.(?!\d)", "??": r"\?\?", "spread or rest": r"\.\.\.", "class": r"\bclass\s+\w",
             "optional catch binding": r"catch\s*\{", "private field": r"#\w", "**": r"\*\*",
             "for await": r"for\s+await", "Promise.finally": r"\.finally\(", "top-level await": r"^await\b",
             "import/export": r"^\s*(import|export)\b", "CDN": r"https?://"}
    files = sorted((STATIC / "clerk").glob("*.js"))
    assert len(files) >= 5
    for path in files:
        code = _code(path.read_text(encoding="utf-8"))
        for name, pattern in newer.items():
            assert not re.search(pattern, code, re.M), f"{path.name}: {name}"
    for path in [*(STATIC / "clerk").glob("*.*"), STATIC / "common.css"]:
        if path.suffix in (".js", ".css", ".html", ".webmanifest"):
            text = path.read_text(encoding="utf-8")
            assert text == unicodedata.normalize("NFC", text), path.name
            assert "http://" not in text and "https://" not in text, f"{path.name} loads from outside"
