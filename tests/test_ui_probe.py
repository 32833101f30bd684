"""Issue 9: one test port for every Kivy app — the same line protocol and screenshot path, the
kiosk and the wall display each in its own offscreen process against one real hall."""

from __future__ import annotations

from PIL import Image

from tests.test_display_kivy import displays  # noqa: F401  (the fixture)
from tests.test_kiosk_kivy import kiosk_toml
from ui.probe_client import AppProcess, DisplayProcess, KioskProcess


def common_commands(app: AppProcess, size: tuple[int, int], shot) -> dict:
    """What every app answers the same way; returns its view."""
    view = app.view()
    stats = app.call("stats")
    assert stats["event"] == "reply" and stats["frames"] >= 1 and stats["loops"] >= stats["frames"]
    assert stats["fps_cap"] > 0
    labels = app.call("labels")["labels"]
    assert labels and all(lb["font_size"] > 0 and lb["text"].strip() for lb in labels)
    png = app.screenshot(shot)
    with Image.open(png) as im:
        assert im.size == size and len(im.convert("RGB").getcolors(1 << 24)) > 10   # drawn, not blank
    try:
        app.call("no-such-command")
    except AssertionError as err:
        assert "unknown command 'no-such-command'" in str(err)
    else:
        raise AssertionError("an unknown command was not refused")
    return view


def test_the_kiosk_and_the_display_answer_one_protocol(hall, displays, tmp_path, output_dir):  # noqa: F811
    shots = output_dir / "probe"
    with KioskProcess(kiosk_toml(hall, tmp_path), data=tmp_path, log=tmp_path / "kiosk.log") as k:
        d: DisplayProcess = displays((1366, 768))
        assert d.wait_event("ready", timeout=30)["size"] == [1366, 768] and k.ready["size"] == [800, 480]
        home = k.wait_view(lambda v: v["screen"] == "home" and v["body"]["services"])
        board = d.wait_texts(lambda t: t["hall_name"] == hall.cfg.name and t["counters"])
        assert common_commands(k, (800, 480), shots / "kiosk.png")["screen"] == "home"
        assert common_commands(d, (1366, 768), shots / "display-1366x768.png")["hall_name"] == hall.cfg.name
        # The kiosk's taps go through the same port; the display, with no buttons, has no targets.
        titles = [t["title"] for t in k.targets()]
        assert all(s["title"] in titles for s in home["body"]["services"])
        assert d.call("targets")["targets"] == [] and board["call_number"] == "—"
        k.tap(home["body"]["services"][0]["title"])
        drawn = k.wait_event("ticket_drawn")
        assert drawn["tap_t"] <= drawn["t"] and drawn["number"] == k.wait_screen("ticket")["body"]["number"]
