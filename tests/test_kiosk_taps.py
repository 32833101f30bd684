"""Issue 13, item 3: a tap inside a button reaches that button and only it; a tap on no button reaches none.

The home screen hid "Ưu tiên" and "Tra cứu thủ tục" by shrinking their row to zero height and
disabling them; their labels kept their own height and lay over the service buttons, and Kivy
lets a disabled widget swallow every touch on it: with a priority group chosen, the centre of
"Lĩnh vực khác" did nothing and the hall never heard of the citizen.

Here every screen a citizen can reach — home, priority, ticket, fields, procedures, detail,
search, closed, offline and the message box — at 800×480 and 1080×1920, in Vietnamese and
English, with and without a priority group chosen, is touched on a 5×5 grid over each button
and on a lattice over the whole window. The touches are real ones through the Window (the
probe's `hits`) and no button acts on them, so one kiosk process per layout walks every screen
(the two at once, on one hall). The wrong points per layout and screen go to
test-output/kiosk/taps-WxH.json.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace

import pytest

from broker.server import server_secret
from broker.service import HallService
from hall.protocol import Topics, config_dict, encode
from kiosk.screens import scale
from tests.conftest import wait_for
from tests.fakeprinter import FakePrinter
from tests.test_kiosk_kivy import kiosk_toml, publish_as_hall, publish_catalog
from ui.probe_client import KioskProcess

SIZES = [(800, 480), (1080, 1920)]
INSET = 4          # px in from a button's edge: where its 5×5 grid of points starts
EDGE = 2           # lattice points this near a button's edge belong to neither side: not checked
STEP = 32          # px between lattice points at 800×480 (and as much bigger as the layout is scaled)
EVENING_S = 11 * 3600
# Where a touch lands does not depend on pixels, and the tests' offscreen window is drawn by Mesa's
# llvmpipe on the CPU: about a second for each screen change of the 1080×1920 kiosk, most of
# this test's time. LP_NO_RAST (Mesa's docs/envvars) skips the drawing, not the layout or the
# text; screenshots would be blank, and this test takes none (tests/test_kiosk_kivy.py does).
NO_PIXELS = {"LP_NO_RAST": "1"}


def button_grid(box: list[float], n: int = 5) -> list[tuple[float, float]]:
    x, y, w, h = box
    if w <= 2 * INSET or h <= 2 * INSET:
        return []
    return [(x + INSET + (w - 2 * INSET) * i / (n - 1), y + INSET + (h - 2 * INSET) * j / (n - 1))
            for i in range(n) for j in range(n)]


def inside(p: tuple[float, float], box: list[float], margin: float) -> bool:
    x, y, w, h = box
    return x + margin <= p[0] <= x + w - margin and y + margin <= p[1] <= y + h - margin


class Taps:
    """Touches the screen on show all over; keeps the points that reached the wrong button (or none)."""

    def __init__(self, k: KioskProcess, size: tuple[int, int]):
        self.k, self.size = k, size
        step = STEP * scale(*size)[0]
        self.lattice = [(step / 2 + i * step, step / 2 + j * step)
                        for i in range(int(size[0] // step)) for j in range(int(size[1] // step))]
        self.priority = False
        self.wrong: dict[str, list] = {}
        self.points = 0

    def check(self, screen: str, label: str = "") -> None:
        v = self.k.view()
        assert v["screen"] == screen and not v["busy"], (screen, v["screen"], v["busy"])
        name = f"{v['lang']} {label or screen}{' (priority group)' if self.priority else ''}"
        for _ in range(3):
            layout = self.k.layout()
            points, want = self._points(layout)
            got = self.k.hits(points)
            after = self.k.layout()
            if after == layout:               # nothing moved while we tapped: the answers hold
                break
        else:
            raise AssertionError(f"{name}: the buttons keep moving: {layout} → {after}")
        titles = {t["uid"]: t["title"] for t in layout["targets"]}
        bad = [dict(point=[round(c) for c in p], want=[titles[u] for u in w], got=[h["title"] for h in g])
               for p, w, g in zip(points, want, got, strict=True) if [h["uid"] for h in g] != w]
        boxes = layout["targets"]
        bad += [dict(overlap=[a["title"], b["title"]]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
                if _overlap(a["box"], b["box"])]
        self.points += len(points)
        self.wrong.setdefault(name, []).extend(bad)

    def _points(self, layout: dict) -> tuple[list, list]:
        targets, bars = layout["targets"], layout["bars"]
        points, want = [], []
        for t in targets:
            grid = button_grid(t["box"])
            points += grid
            want += [[t["uid"]]] * len(grid)
        for p in self.lattice:
            if any(inside(p, b, -EDGE) for b in bars):
                continue                      # a tap on a list's bar scrolls it: off limits here
            near = [t for t in targets if inside(p, t["box"], -EDGE)]
            into = [t for t in near if inside(p, t["box"], EDGE)]
            if len(near) == len(into):        # clearly inside one button, or clearly outside all
                points.append(p)
                want.append([t["uid"] for t in into])
        return points, want


def _overlap(a: list[float], b: list[float]) -> bool:
    return (min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]) > EDGE and
            min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]) > EDGE)


def set_limit(hall, kiosks: list[KioskProcess], per_minute: int) -> None:
    """The hall's per-kiosk limit, changed live; returns once every kiosk has applied the new config."""
    since = [len(k.events) for k in kiosks]
    cfg = config_dict(replace(hall.cfg, kiosk_tickets_per_minute=per_minute))
    publish_as_hall(hall, Topics(hall.cfg.id).config, encode(cfg))
    for k, n in zip(kiosks, since, strict=True):
        k.wait_event("message", lambda ev: ev.get("kind") == "config", since=n)


def both(fn, pairs: list) -> None:
    """fn(kiosk, taps) for every kiosk at once, a thread each: most of a walk is waiting for the kiosk."""
    with ThreadPoolExecutor(len(pairs)) as pool:
        for f in [pool.submit(fn, k, taps) for k, taps in pairs]:
            f.result()


def choose_priority(k: KioskProcess, taps: Taps, look: bool = False) -> None:
    """"Ưu tiên", then the first group; `look`: tap the priority list all over on the way."""
    k.tap(k.view()["body"]["priority"])
    v = k.wait_screen("priority")
    if look:
        taps.check("priority", "priority list")
    k.tap(v["body"]["items"][0]["title"])
    k.wait_view(lambda v: v["screen"] == "home" and v["body"]["banner"])
    taps.priority = True


def cancel_priority(k: KioskProcess, taps: Taps) -> None:
    k.tap(k.view()["body"]["cancel"])
    k.wait_view(lambda v: v["screen"] == "home" and not v["body"]["banner"])
    taps.priority = False


def switch_language(k: KioskProcess) -> None:
    v = k.view()
    k.tap(v["lang_button"])
    k.wait_view(lambda w: w["lang"] != v["lang"])


def message(k: KioskProcess, taps: Taps) -> None:
    """A service tapped while the hall's limit is 0: the message box over home, tapped all over, then OK."""
    k.tap(k.view()["body"]["services"][0]["title"])
    v = k.wait_view(lambda v: v["message"])
    taps.check("home", "message")
    k.tap(v["ok"])
    k.wait_view(lambda v: not v["message"])


def ticket(k: KioskProcess, taps: Taps, tap=None) -> None:
    """A ticket taken (a service, or `tap`), tapped all over once its paper is printed (nothing moves), then home."""
    k.tap(tap or k.view()["body"]["services"][-1]["title"])
    v = k.wait_view(lambda v: v["screen"] == "ticket" and v["body"]["print_state"] == "printed")
    taps.check("ticket")
    taps.priority = False                       # a ticket given clears the choice
    k.tap(v["body"]["done"])
    k.wait_screen("home")


# The walks go through as few screen changes as they can: each costs a few frames and waits for
# the screen to settle (Settings.settle_s) before the next tap; a batch of touches costs little.

def home_and_messages(k: KioskProcess, taps: Taps) -> None:
    """Home, the priority list and the message box, in both languages, with a priority group and without."""
    taps.check("home")                          # Vietnamese, no priority group
    message(k, taps)
    choose_priority(k, taps, look=True)
    taps.check("home")                          # Vietnamese, a priority group
    message(k, taps)
    switch_language(k)
    taps.check("home")                          # English, a priority group
    message(k, taps)
    cancel_priority(k, taps)
    taps.check("home")                          # English, none
    message(k, taps)
    choose_priority(k, taps, look=True)         # chosen: the next walk starts with a priority ticket


def tickets_and_procedures(k: KioskProcess, taps: Taps) -> None:
    """The ticket with a priority group and without, and the procedures' screens, in both languages."""
    for lang in ("en", "vi"):
        if lang == "vi":
            switch_language(k)
            choose_priority(k, taps)
        ticket(k, taps)                          # with the priority group
        k.tap(k.view()["body"]["lookup"])
        v = k.wait_screen("fields")
        taps.check("fields")
        k.tap(v["body"]["search"])
        k.wait_screen("search")
        taps.check("search")
        k.type("ket hon")
        v = k.wait_view(lambda v: v["body"].get("query") == "ket hon")
        taps.check("search", "search ket hon")
        k.tap(v["body"]["items"][0]["title"])
        v = k.wait_screen("detail")
        taps.check("detail")
        ticket(k, taps, tap=v["body"]["take"])  # "Lấy số cho thủ tục này": the ticket without priority
        k.tap(k.view()["body"]["lookup"])
        v = k.wait_screen("fields")
        k.tap(v["body"]["items"][0]["title"])
        v = k.wait_screen("procedures")
        taps.check("procedures")
        k.tap(v["home"])
        k.wait_screen("home")


def notices(pairs: list, clock, hall) -> None:
    """Closed, then offline (the whole hall is), with a priority group and without, in both languages."""
    def look(screen: str):
        def look(k: KioskProcess, taps: Taps) -> None:
            k.wait_screen(screen, timeout=15)
            taps.check(screen)
            switch_language(k)
            taps.check(screen)
        return look

    def start() -> None:
        hall.service = HallService(hall.cfg, hall.ledger, "127.0.0.1", hall.cfg.mqtt_port,
                                   server_secret(hall.data_dir), clock=hall.clock).start()
        wait_for(hall.service.connected.is_set)

    def home(k: KioskProcess, taps: Taps) -> None:
        k.wait_screen("home", timeout=15)

    clock.jump(EVENING_S)
    both(look("closed"), pairs)
    clock.jump(-EVENING_S)
    both(home, pairs)
    both(choose_priority, pairs)
    clock.jump(EVENING_S)
    both(look("closed"), pairs)
    hall.service.stop()                          # closed, and now the server is down too
    both(look("offline"), pairs)
    clock.jump(-EVENING_S)
    start()
    both(home, pairs)
    both(cancel_priority, pairs)
    hall.service.stop()
    both(look("offline"), pairs)
    start()
    both(home, pairs)


@pytest.mark.timeout(180)
def test_every_tap_reaches_the_button_under_it(hall, clock, tmp_path, output_dir):
    publish_catalog(hall)
    started = time.monotonic()
    with ExitStack() as stack:
        pairs = []
        for n, size in enumerate(SIZES, 1):         # one kiosk per layout, on the same hall
            fp = stack.enter_context(FakePrinter())
            k = stack.enter_context(KioskProcess(kiosk_toml(hall, tmp_path, fp.port, f"kiosk-{n}"), size=size,
                                                 data=tmp_path / f"k{n}", log=tmp_path / f"k{n}.log",
                                                 env=NO_PIXELS))
            pairs.append((k, Taps(k, size)))
        kiosks = [k for k, _ in pairs]
        both(lambda k, taps: k.wait_view(lambda v: v["screen"] == "home" and v["body"]["services"][0]["badge"]),
             pairs)
        set_limit(hall, kiosks, 0)                  # every service tap says "Máy vừa in phiếu…"
        both(home_and_messages, pairs)
        set_limit(hall, kiosks, 10_000)
        both(tickets_and_procedures, pairs)
        notices(pairs, clock, hall)

    seconds, bad = round(time.monotonic() - started, 1), {}
    for _, taps in pairs:
        layout = f"{taps.size[0]}x{taps.size[1]}"
        counts = {name: len(wrong) for name, wrong in taps.wrong.items()}
        report = output_dir / "kiosk" / f"taps-{layout}.json"
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(dict(points=taps.points, seconds=seconds, wrong=counts,
                                          examples={n: w[:5] for n, w in taps.wrong.items() if w}),
                                     ensure_ascii=False, indent=1), encoding="utf-8")
        assert len(counts) == 32, sorted(counts)       # every screen, language and priority choice was tapped
        bad.update({f"{layout} {n}": taps.wrong[n][:3] for n, c in counts.items() if c})
    assert not bad, "taps that missed their button (test-output/kiosk/taps-*.json): " + \
        json.dumps(bad, ensure_ascii=False)
