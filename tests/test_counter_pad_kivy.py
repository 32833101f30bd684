"""The counter pad for real: an offscreen Kivy window against `motcua serve` and its Mosquitto (issue 10).

The pad (`motcua counter-pad --probe`, its own process) is one counter device of counter 1; a
second counter device of the same counter is the clerk, who calls and finishes (the pad never
calls). A kiosk device takes the tickets. Taps are real touches on the button with that title;
the proof of a rating is the hall's own ledger (tickets.rating and the 'rated' event). Screenshots
of every state at 800×480 go to test-output/counter-pad/ (docs/counter-pad.md shows them).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from hall.client import HallClient
from hall.device import device_toml
from motcua_cli.demo_hall import demo_hall_text
from tests.conftest import unique_hall_id
from tests.hallproc import HallProcess
from ui.probe_client import AppProcess, headless_env

SIZE = (800, 480)
MIN_TARGET_PX = 76       # 12.5 mm at ~155 px/inch on the 7" screen
MIN_TEXT_PX = 20         # read from a metre away

FIVE_LEVELS = """
[[rating]]
name = "Rất không hài lòng"
name_en = "Very dissatisfied"
[[rating]]
name = "Không hài lòng"
name_en = "Dissatisfied"
[[rating]]
name = "Bình thường"
name_en = "Neutral"
[[rating]]
name = "Hài lòng"
name_en = "Satisfied"
[[rating]]
name = "Rất hài lòng"
name_en = "Very satisfied"
"""


class PadProcess(AppProcess):
    """`motcua counter-pad --probe`; returns once its first frame is on screen."""

    def __init__(self, device_toml_path: Path, workdir: Path, size: tuple[int, int] = SIZE):
        super().__init__(["counter-pad", "--config", str(device_toml_path), "--size", f"{size[0]}x{size[1]}"],
                         headless_env(workdir / "kivy"), workdir / "pad.log")
        try:
            self.wait_event("ready", timeout=30)
        except BaseException:
            self.close()
            raise

    def wait_screen(self, name: str, timeout: float = 10.0) -> dict:
        return self.wait_view(lambda v: v["screen"] == name, timeout)

    def check(self, shots: Path, name: str) -> dict:
        """Screenshot, and the rules every screen keeps: big tap targets, no small text."""
        self.screenshot(shots / f"{name}.png")
        small = [t for t in self.call("targets")["targets"] if min(t["width"], t["height"]) < MIN_TARGET_PX]
        assert not small, f"{name}: tap targets under {MIN_TARGET_PX} px: {small}"
        labels = self.call("labels")["labels"]
        tiny = [(lb["text"], lb["font_size"]) for lb in labels if lb["font_size"] < MIN_TEXT_PX]
        assert not tiny, f"{name}: text under {MIN_TEXT_PX} px: {tiny}"
        return self.view()


class Hall:
    """`motcua serve` on an always-open hall with our [rating_screen], a kiosk, a clerk and the pad."""

    def __init__(self, tmp: Path, name: str, extra_toml: str):
        self.proc = HallProcess(tmp, unique_hall_id(name))
        # The example's own scale is replaced when the test brings one: TOML appends [[rating]] otherwise.
        text = demo_hall_text(hall_id=self.proc.cfg.id, mqtt_port=self.proc.port,
                              http_port=self.proc.cfg.http_port, tickets_per_minute=100000)
        if "[[rating]]" in extra_toml:
            text = _without_rating(text)
        self.proc.config.write_text(text + extra_toml, encoding="utf-8")
        from hall.config import load_hall
        self.proc.cfg = load_hall(self.proc.config)
        devs = self.proc.provision([("pad-1", "counter", 1), ("clerk-1", "counter", 1), ("kiosk-1", "kiosk", None)])
        self.proc.start()
        self.pad_toml = tmp / "pad-1.toml"
        self.pad_toml.write_text(device_toml(devs["pad-1"]), encoding="utf-8")
        self.clerk = HallClient(devs["clerk-1"]).start(wait=10)
        self.kiosk = HallClient(devs["kiosk-1"]).start(wait=10)

    def stop(self) -> None:
        self.clerk.stop()
        self.kiosk.stop()
        self.proc.stop()

    def act(self, action: str) -> dict:
        reply = self.clerk.request(action, {"counter": 1}, timeout=5)
        assert reply["ok"], reply
        return reply.get("data", {})

    def take(self, n: int) -> None:
        for _ in range(n):
            assert self.kiosk.request("take-ticket", {"service": "ho-tich"}, timeout=5)["ok"]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.proc.data / "hall.db")

    def rating(self, ticket_id: str):
        return self.db().execute("SELECT rating FROM tickets WHERE id = ?", (ticket_id,)).fetchone()[0]

    def rated_events(self, ticket_id: str) -> list[dict]:
        rows = self.db().execute("SELECT data FROM events WHERE kind = 'rated' AND ticket = ?", (ticket_id,))
        return [json.loads(r[0]) for r in rows]


def _without_rating(text: str) -> str:
    out, skipping = [], False
    for line in text.splitlines():
        if line.strip() == "[[rating]]":
            skipping = True
            continue
        if skipping and (line.startswith("[") or line.startswith("#")):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture
def make_hall(tmp_path, request):
    halls: list[Hall] = []

    def make(extra_toml: str) -> Hall:
        h = Hall(tmp_path, request.node.name, extra_toml)
        halls.append(h)
        return h

    yield make
    for h in halls:
        h.stop()


def finish_and_wait_rating(hall: Hall, pad: PadProcess, ticket_label: str) -> dict:
    hall.act("finish")
    v = pad.wait_screen("rating")
    assert v["ticket"] == ticket_label
    return v


@pytest.mark.timeout(120)
def test_the_number_the_rating_the_reasons_and_the_timeout(make_hall, tmp_path, output_dir):
    shots = output_dir / "counter-pad"
    hall = make_hall('\n[rating_screen]\nclose_after_s = 5\nask_reason_at_most = 1\n')
    with PadProcess(hall.pad_toml, tmp_path) as pad:
        v = pad.wait_view(lambda v: v["state"] == "idle")
        assert (v["counter_name"], v["heading"], v["mark"]) == ("QUẦY 1", "Mời công dân chờ gọi số", "")
        pad.check(shots, "idle")

        hall.take(5)
        called = hall.act("call-next")
        v = pad.wait_view(lambda v: v["number"] == called["ticket"])
        assert (v["state"], v["heading"]) == ("called", "MỜI CÔNG DÂN SỐ")
        pad.check(shots, "called")
        hall.act("serve")
        v = pad.wait_view(lambda v: v["state"] == "serving")
        assert (v["heading"], v["number"]) == ("ĐANG PHỤC VỤ SỐ", called["ticket"])
        pad.check(shots, "serving")

        # Finished: the hall's scale, one big face each; a tap on the best rates the ticket, once.
        v = finish_and_wait_rating(hall, pad, called["ticket"])
        assert [f["title"] for f in v["faces"]] == ["Không hài lòng", "Hài lòng", "Rất hài lòng"]
        pad.check(shots, "rating")
        pad.call("tap", text="Rất hài lòng")
        v = pad.wait_screen("thanks")
        assert v["heading"] == "Cảm ơn ông/bà đã đánh giá"
        pad.check(shots, "thanks")
        pad.wait_event("rated", lambda e: e["ticket_id"] == called["ticket_id"])
        assert pad.view()["sent"] == [[called["ticket_id"], "ok"]]
        assert hall.rating(called["ticket_id"]) == 3
        assert hall.rated_events(called["ticket_id"]) == [{"score": 3}]
        pad.wait_screen("number", timeout=10)

        # A low score: the reasons; the one tapped is stored with the rating.
        second = hall.act("call-next")
        pad.wait_view(lambda v: v["number"] == second["ticket"])
        finish_and_wait_rating(hall, pad, second["ticket"])
        pad.call("tap", text="Không hài lòng")
        v = pad.wait_screen("reasons")
        assert [c["title"] for c in v["reasons"]][-1] == "Bỏ qua"
        pad.check(shots, "reasons")
        pad.call("tap", text="Chờ lâu")
        pad.wait_screen("thanks")
        pad.wait_event("rated", lambda e: e["ticket_id"] == second["ticket_id"])
        assert hall.rating(second["ticket_id"]) == 1
        assert [(e["score"], e["reason"]) for e in hall.rated_events(second["ticket_id"])] == [(1, "cho-lau")]

        # "Bỏ qua": the low score alone.
        third = hall.act("call-next")
        finish_and_wait_rating(hall, pad, third["ticket"])
        pad.call("tap", text="Không hài lòng")
        pad.wait_screen("reasons")
        pad.call("tap", text="Bỏ qua")
        pad.wait_event("rated", lambda e: e["ticket_id"] == third["ticket_id"])
        assert hall.rating(third["ticket_id"]) == 1
        assert [e["score"] for e in hall.rated_events(third["ticket_id"])] == [1]
        assert all(not e.get("reason") for e in hall.rated_events(third["ticket_id"]))

        # No tap: the rating screen closes by itself after close_after_s (5 s), and nothing is rated.
        fourth = hall.act("call-next")
        finish_and_wait_rating(hall, pad, fourth["ticket"])
        opened = time.monotonic()
        pad.wait_screen("number", timeout=10)
        assert time.monotonic() - opened >= 3.5       # opened a moment before the test saw it
        assert hall.rating(fourth["ticket_id"]) is None and hall.rated_events(fourth["ticket_id"]) == []
        # The hall still names it unrated; a new board (a ticket taken) does not bring the question back.
        seq = pad.view()["board_seq"]
        hall.take(1)
        v = pad.wait_view(lambda v: v["board_seq"] > seq)
        assert v["screen"] == "number"

        # Paused.
        hall.act("pause")
        v = pad.wait_view(lambda v: v["state"] == "paused")
        assert v["heading"] == "Tạm dừng"
        pad.check(shots, "paused")
        hall.act("resume")
        pad.wait_view(lambda v: v["state"] != "paused")

    # Restarted long (> close_after_s) after the fourth ticket was finished: not asked again.
    with PadProcess(hall.pad_toml, tmp_path) as pad:
        v = pad.wait_view(lambda v: v["state"] != "connecting")    # config and board both in
        assert v["screen"] == "number"
        # Each rated ticket exactly once in the ledger, whatever the screens did.
        for t, score in [(called, 3), (second, 1), (third, 1)]:
            assert [e["score"] for e in hall.rated_events(t["ticket_id"])] == [score]


@pytest.mark.timeout(90)
def test_five_levels_eight_reasons_and_a_restart_while_asking(make_hall, tmp_path, output_dir):
    shots = output_dir / "counter-pad"
    reasons = "".join(f'\n[[rating_screen.reasons]]\nid = "{i}"\nname = "{n}"\nname_en = "{e}"\n' for i, n, e in [
        ("cho-lau", "Chờ lâu", "Waited too long"), ("thai-do", "Thái độ chưa tốt", "Unfriendly attitude"),
        ("huong-dan", "Hướng dẫn chưa rõ", "Unclear guidance"), ("di-lai", "Phải đi lại nhiều lần", "Had to come back"),
        ("giay-to", "Đòi thêm giấy tờ", "Asked for more papers"), ("phi", "Phí chưa rõ ràng", "Unclear fees"),
        ("ve-sinh", "Nơi chờ chưa sạch", "Waiting area not clean"), ("khac", "Lý do khác", "Another reason")])
    hall = make_hall(FIVE_LEVELS + "\n[rating_screen]\nclose_after_s = 30\nask_reason_at_most = 2\n" + reasons)
    hall.take(2)
    first = hall.act("call-next")
    with PadProcess(hall.pad_toml, tmp_path) as pad:
        pad.wait_view(lambda v: v["number"] == first["ticket"])
        v = finish_and_wait_rating(hall, pad, first["ticket"])
        assert len(v["faces"]) == 5
        pad.check(shots, "rating-5-levels")
    # The pad restarts while the citizen has not rated yet: the new pad asks (it never asked), once.
    with PadProcess(hall.pad_toml, tmp_path) as pad:
        v = pad.wait_screen("rating")
        assert v["ticket"] == first["ticket"]
        pad.call("tap", text="Không hài lòng")
        v = pad.wait_screen("reasons")
        assert len(v["reasons"]) == 9
        pad.check(shots, "reasons-8")
        pad.call("tap", text="Phí chưa rõ ràng")
        pad.wait_event("rated", lambda e: e["ticket_id"] == first["ticket_id"])
        assert [(e["score"], e["reason"]) for e in hall.rated_events(first["ticket_id"])] == [(2, "phi")]
        assert pad.view()["sent"] == [[first["ticket_id"], "ok"]]
    # And once more after that: the hall names no ticket to rate, the pad asks nothing.
    with PadProcess(hall.pad_toml, tmp_path) as pad:
        v = pad.wait_view(lambda v: v["state"] != "connecting")    # config and board both in
        assert v["screen"] == "number" and v["number"] == ""
    assert hall.rating(first["ticket_id"]) == 2
