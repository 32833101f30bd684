"""The wall display's model without Kivy or audio: what it shows, what it says, in which order.

A fake speaker drives the announcement queue the way the announcer thread does: take the
next call, "speak" it for a while, take the next. Times are hall times passed in. (How the
announcer says what waits is tested with real espeak-ng in test_display_audio.py.)
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from display.config import display_config
from display.model import NO_SOUND, PAUSED, BoardModel, split_notice
from hall.config import load_hall
from hall.device import load_device
from hall.protocol import (
    Board,
    Call,
    CallRow,
    Config,
    CounterInfo,
    CounterRow,
    HallInfo,
    HoursInfo,
    PriorityInfo,
    ServiceInfo,
    ServiceRow,
    config_payload,
)
from hall.tomlcheck import ConfigError
from tests.conftest import EXAMPLE, at

CONFIG = Config(
    hall=HallInfo("dang-kang", "UBND xã Dang Kang", timezone="Asia/Ho_Chi_Minh"),
    counters=tuple(CounterInfo(n, f"Quầy {n}") for n in (1, 2, 3, 4)),
    services=(ServiceInfo("ho-tich", "Hộ tịch", "", "", 1001, 1999, (1, 2)),
              ServiceInfo("khac", "Lĩnh vực khác (khiếu nại)", "", "", 6001, 6999, (4,))),
    hours=HoursInfo(3, ((),) * 7, ()), priority=PriorityInfo("interleave", 3),
    notice="Giờ làm việc: 7:00–11:30.",
)
T0 = at(hour=9)
SPEAK_S = 10.0     # how long the fake speaker takes per announcement


def board(seq: int, calls: list[Call] = (), paused: int | None = None, when: float = T0) -> Board:
    serving = {c.counter: c.ticket for c in sorted(calls, key=lambda c: c.seq)}
    counters = [CounterRow(n, f"Quầy {n}", n == paused,
                           "paused" if n == paused else "called" if n in serving else "idle", serving.get(n))
                for n in (1, 2, 3, 4)]
    return Board(seq=seq, day="2026-11-25", at=when, open=True, counters=counters,
                 services=[ServiceRow("ho-tich", 7, 12, "1009"), ServiceRow("khac", 0, 0, None)],
                 calls=[CallRow.of(c) for c in sorted(calls, key=lambda c: -c.seq)][:10])


def call(seq: int, ticket: str, counter: int = 1, recall: bool = False, when: float = T0) -> Call:
    return Call(seq=seq, ticket=ticket, ticket_id=f"20261125-{ticket}", counter=counter, service="ho-tich",
                recall=recall, at=when)


def started(cfg=None, calls: list[Call] = ()) -> BoardModel:
    """A model as after start-up: connected, config and the retained board in."""
    m = BoardModel(cfg or display_config({}))
    m.on_connection(True, T0)
    m.on_config(CONFIG, T0)
    m.on_board(board(1, calls), T0)
    return m


class Speaker:
    """The announcer thread's part, with a clock we move by hand."""

    def __init__(self, model: BoardModel):
        self.q = model.queue
        self.heard: list[tuple[int, float, float]] = []   # (seq, start, end)

    def run_until(self, t_end: float, t: float) -> float:
        while t < t_end:
            a = self.q.take(t)
            if a is None:
                return t_end
            self.heard.append((a.seq, t, t + SPEAK_S))
            t += SPEAK_S
        return t


def test_a_burst_of_five_calls_in_one_second_is_queued_in_order_and_none_is_lost():
    m = started()
    q = m.queue
    for i in range(5):
        assert m.on_called(call(10 + i, f"{1001 + i}", counter=1 + i % 4), T0 + 0.2 * i)
    assert [a.seq for a in q.snapshot()] == [10, 11, 12, 13, 14]
    heard = []
    while (a := q.take(T0 + 1)) is not None:
        heard.append(a.seq)
    assert heard == [10, 11, 12, 13, 14]
    # The screen shows the newest, the four before it in "last calls".
    v = m.view(T0 + 1)
    assert (v.newest.ticket, v.newest.counter, v.newest.highlighted) == ("1005", 1, True)
    assert [c.ticket for c in v.last_calls] == ["1004", "1003", "1002", "1001"]


def test_a_recall_is_announced_again_and_shown_as_a_recall():
    m = started()
    sp = Speaker(m)
    m.on_called(call(5, "1001", 2), T0)
    sp.run_until(T0 + 30, T0)
    assert [h[0] for h in sp.heard] == [5]
    m.on_called(call(6, "1001", 2, recall=True), T0 + 60)
    v = m.view(T0 + 61)
    assert (v.newest.ticket, v.newest.recall, v.newest.highlighted) == ("1001", True, True)
    assert v.last_calls == ()          # the same ticket is not listed twice
    sp.run_until(T0 + 120, T0 + 60)
    assert [h[0] for h in sp.heard] == [5, 6]


def test_a_recall_before_the_first_announcement_started_is_spoken_once_in_its_place():
    m = started()
    q = m.queue
    m.on_called(call(5, "1001", 1), T0)
    assert q.take(T0).seq == 5                               # being spoken
    m.on_called(call(6, "2001", 2), T0 + 1)
    m.on_called(call(7, "2001", 2, recall=True), T0 + 2)   # 2001 has not been spoken yet
    a = q.take(T0 + 10)
    assert (a.seq, a.ticket, a.recall) == (7, "2001", True)
    assert q.take(T0 + 20) is None
    # A recall of the call being spoken is said again, after it.
    m.on_called(call(8, "3001", 3), T0 + 30)
    assert q.take(T0 + 30).seq == 8
    m.on_called(call(9, "3001", 3, recall=True), T0 + 31)
    assert q.take(T0 + 31).seq == 9


def test_after_a_reconnect_a_stale_called_is_not_announced_but_new_ones_are():
    calls = [call(1, "1001", 1), call(2, "1002", 2), call(3, "1003", 3)]
    m = started(calls=calls)
    assert m.queue.take(T0) is None                 # the retained board's calls are history
    assert m.view(T0).newest.ticket == "1003"
    assert not m.view(T0).newest.highlighted

    m.on_connection(False, T0 + 5)
    assert not m.view(T0 + 5).connected            # the "mất kết nối" mark
    assert m.view(T0 + 5).newest.ticket == "1003"  # and the last board stays up
    # While we were away, calls 4 and 5 were made. On reconnect the retained board shows them …
    away = calls + [call(4, "1004", 4, when=T0 + 20), call(5, "1005", 1, when=T0 + 25)]
    m.on_connection(True, T0 + 30)
    m.on_board(board(9, away, when=T0 + 25), T0 + 30)
    v = m.view(T0 + 30)
    assert v.connected and v.newest.ticket == "1005" and not v.newest.highlighted
    # … and a late `called` for one of them (a redelivery, a slow network) is not spoken.
    m.on_called(call(4, "1004", 4, when=T0 + 20), T0 + 31)
    m.on_called(call(5, "1005", 1, when=T0 + 25), T0 + 31)
    assert m.queue.take(T0 + 31) is None
    # A call made after the reconnect is.
    m.on_called(call(6, "1006", 2, when=T0 + 40), T0 + 40)
    assert m.queue.take(T0 + 40).seq == 6
    # The same event twice (QoS 1 may deliver twice) is spoken once.
    m.on_called(call(6, "1006", 2, when=T0 + 40), T0 + 41)
    assert len(m.queue) == 0


def test_an_old_board_is_ignored_and_a_call_long_before_the_board_is_history():
    m = started(calls=[call(1, "1001", 1)])
    m.on_board(board(7, [call(1, "1001", 1), call(2, "1002", 2)]), T0 + 1)
    assert not m.on_board(board(6, [call(1, "1001", 1)]), T0 + 2)       # older than what is shown
    assert m.view(T0 + 2).newest.ticket == "1002"
    # A call with a higher seq but made two minutes before a board already drawn: not spoken.
    m.on_board(board(8, [call(2, "1002", 2)], when=T0 + 300), T0 + 300)
    m.on_called(call(3, "1003", 3, when=T0 + 180), T0 + 301)
    assert m.queue.take(T0 + 301) is None


def test_a_call_to_a_counter_that_does_not_exist_is_logged_not_a_crash(caplog):
    m = started()
    with caplog.at_level(logging.ERROR, logger="motcua.display"):
        assert not m.on_called(call(4, "1004", counter=9), T0)
    assert "counter 9" in caplog.text and "does not have" in caplog.text
    assert m.queue.take(T0) is None
    assert m.view(T0).newest is None
    assert m.on_called(call(5, "1005", counter=2), T0 + 1)    # and the display goes on
    assert m.queue.take(T0 + 1).seq == 5


def test_issue_8_no_call_is_dropped_from_the_sound_however_many_wait(caplog):
    """Issue 8, item 12: with queue_max = 4, 6 calls in a second used to lose one from the sound."""
    m = started(replace(display_config({}), queue_max=2))
    m.on_called(call(1, "1001", 1), T0)
    assert m.queue.take(T0).seq == 1                # being spoken
    with caplog.at_level(logging.WARNING, logger="motcua.display"):
        for i in range(2, 21):
            m.on_called(call(i, f"{1000 + i}", 1 + i % 4), T0 + i / 20)
    assert len(m.queue) == 19 and "dropped" not in caplog.text
    assert [m.queue.take(T0 + 10).seq for _ in range(19)] == list(range(2, 21))
    v = m.view(T0 + 10)
    assert v.newest.ticket == "1020"
    assert [c.ticket for c in v.last_calls] == ["1019", "1018", "1017", "1016", "1015"]


def test_the_screen_shows_when_the_hall_cannot_hear_the_calls():
    m = started()
    assert m.view(T0).no_sound == ""
    assert m.on_sound("no-device", T0) and m.view(T0).no_sound == "● không có loa"
    assert not m.on_sound("no-device", T0 + 1)      # no change, no redraw
    assert m.on_sound("failed", T0 + 2) and m.view(T0 + 2).no_sound == "● loa bị lỗi"
    assert m.on_sound("ok", T0 + 3) and m.view(T0 + 3).no_sound == ""
    assert unicodedata.is_normalized("NFC", "".join(NO_SOUND.values()))


def test_quiet_hours_show_calls_but_say_nothing():
    cfg = display_config({"quiet_hours": ["12:00-13:00"]})
    m = started(cfg)
    noon = at(hour=12, minute=30)
    assert m.on_called(call(2, "1002", 2, when=noon), noon)
    assert m.queue.take(noon) is None
    assert m.view(noon).newest.ticket == "1002" and m.view(noon).newest.highlighted
    assert [a.seq for a in m.queue.silenced] == [2]
    later = at(hour=13, minute=5)
    m.on_called(call(3, "1003", 3, when=later), later)
    assert m.queue.take(later).seq == 3
    # A call queued just before quiet hours and not yet spoken when they begin stays silent.
    m2 = started(cfg)
    m2.on_called(call(4, "1004", 1), at(hour=11, minute=59))
    assert m2.queue.take(at(hour=12, minute=0)) is None


def test_the_view_shows_counters_waiting_and_the_header():
    m = started()
    m.on_board(board(2, [call(1, "1001", 1)], paused=4), T0)
    v = m.view(T0)
    assert v.hall_name == "UBND xã Dang Kang"
    assert [(c.name, c.text, c.state) for c in v.counters] == [
        ("Quầy 1", "1001", "called"), ("Quầy 2", "—", "idle"), ("Quầy 3", "—", "idle"), ("Quầy 4", PAUSED, "paused")]
    assert [(s.name, s.waiting, s.wait_min) for s in v.services] == [
        ("Hộ tịch", 7, 12), ("Lĩnh vực khác (khiếu nại)", 0, 0)]
    assert v.notice == "Giờ làm việc: 7:00–11:30."
    assert m.clock(at(hour=9, minute=5)) == ("Thứ Tư, 25/11/2026", "09:05")
    # A `called` newer than the board shows on its counter at once, before the next board.
    m.on_called(call(2, "1002", 2), T0 + 1)
    assert m.view(T0 + 1).counters[1].text == "1002"


def test_the_config_the_hall_publishes_names_the_counters_and_services_and_sets_the_clock():
    # The bytes the hall service sends on `config`, read the way the display app reads them.
    cfg = replace(load_hall(EXAMPLE), timezone="Asia/Tokyo", notice="Xin chào.")
    m = BoardModel(display_config({}))
    assert m.on_config(Config.from_payload(config_payload(cfg)), T0)
    m.on_board(board(1), T0)
    v = m.view(T0)
    assert (v.hall_name, v.notice) == (cfg.name, "Xin chào.")
    assert [c.name for c in v.counters] == [c.name for c in cfg.counters]
    assert [s.name for s in v.services] == [s.name for s in cfg.services]
    assert m.clock(at(hour=9, minute=5)) == ("Thứ Tư, 25/11/2026", "11:05")    # Tokyo is two hours ahead
    assert m.clock(at(day=29, hour=9)) == ("Chủ nhật, 29/11/2026", "11:00")


def test_the_call_title_says_whether_it_is_a_recall():
    m = started()
    m.on_called(call(2, "1002", 2), T0)
    assert m.view(T0).newest.title == "MỜI CÔNG DÂN SỐ"
    m.on_called(call(3, "1002", 2, recall=True), T0 + 5)
    assert m.view(T0 + 5).newest.title == "MỜI LẠI CÔNG DÂN SỐ"


def test_the_newest_call_blinks_for_highlight_seconds_then_stays_still():
    m = started(display_config({"highlight_s": 15}))
    m.on_called(call(2, "1002", 2), T0)
    assert m.view(T0 + 14.9).newest.highlighted
    assert not m.view(T0 + 15).newest.highlighted
    assert m.highlighted_until() == T0 + 15


def test_a_long_notice_is_cut_into_pages_between_sentences():
    text = "Giờ làm việc: Thứ Hai – Thứ Sáu. Hồ sơ nhận sau 15 giờ được trả trong ngày làm việc tiếp theo."
    assert split_notice(text, lambda s: len(s) <= 200) == [text]
    assert split_notice(text, lambda s: len(s) <= 70) == [
        "Giờ làm việc: Thứ Hai – Thứ Sáu.", "Hồ sơ nhận sau 15 giờ được trả trong ngày làm việc tiếp theo."]
    pages = split_notice(text, lambda s: len(s) <= 30)
    assert all(len(p) <= 30 for p in pages) and " ".join(pages) == text


# --- the [display] table ----------------------------------------------------------------

def write(tmp_path: Path, display: str) -> Path:
    path = tmp_path / "display-1.toml"
    path.write_text('[device]\nid = "display-1"\nrole = "display"\npassword = "x"\n\n'
                    '[hall]\nid = "dang-kang"\nhost = "127.0.0.1"\n\n' + display, encoding="utf-8")
    return path


def test_display_table_is_read_from_device_toml(tmp_path):
    path = write(tmp_path, '[display]\ntemplate = "Xin mời công dân số {number} đến quầy số {counter}"\n'
                           'number_reading = "digits"\nrepeat = 1\nqueue_max = 3\nquiet_hours = ["12:00-13:30"]\n'
                           'volume = 70\nenglish = true\ntemplate_next = "số {number}, quầy {counter}"\n')
    dev = load_device(path)
    cfg = display_config(dev.display, path)
    assert cfg.template.startswith("Xin mời") and cfg.number_reading == "digits"
    assert cfg.template_next == "số {number}, quầy {counter}"
    assert (cfg.repeat, cfg.queue_max, cfg.volume, cfg.english) == (1, 3, 70, True)
    assert cfg.quiet_hours == ((720, 810),)
    assert display_config(load_device(write(tmp_path, "")).display) == display_config({})


@pytest.mark.parametrize("table, key, problem", [
    ('template = "Mời số {numer} đến quầy {counter}"', "display.template", "{number} and {counter}"),
    ('template = "Mời công dân đến quầy {counter}"', "display.template", "both {number} and {counter}"),
    ('template_next = "số {number}"', "display.template_next", "both {number} and {counter}"),
    ("repeat = 0", "display.repeat", "at least 1"),
    ('number_reading = "roman"', "display.number_reading", "must be one of whole, digits"),
    ('quiet_hours = ["22:00-06:00"]', "display.quiet_hours", "not a valid span"),
    ('clips = "/no/such/folder"', "display.clips", "does not exist"),
    ("volum = 50", "display.volum", "not a known setting"),
])
def test_a_wrong_display_table_names_the_file_and_the_key(tmp_path, table, key, problem):
    path = write(tmp_path, f"[display]\n{table}\n")
    with pytest.raises(ConfigError) as err:
        display_config(load_device(path).display, path)
    assert err.value.file == str(path) and err.value.key == key
    assert problem in str(err.value)
