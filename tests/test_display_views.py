"""What the wall display's labels say, from the model through display.views, without Kivy."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from display.config import display_config
from display.model import BoardModel
from display.views import CallChip, CounterTile, ServiceLine, board_view, short_service
from hall.protocol import CounterInfo
from tests.test_display_model import CONFIG, T0, board, call

NAMED = replace(CONFIG, counters=(CounterInfo(1, "Một cửa 1"), CounterInfo(2, "Quầy Đất đai"),
                                  CounterInfo(3, "Quầy 3"), CounterInfo(4, "Quầy 4")))


def model(config=CONFIG) -> BoardModel:
    m = BoardModel(display_config({}))
    m.on_connection(True, T0)
    m.on_config(config, T0)
    return m


def test_before_any_call_the_panel_invites_with_dashes_and_the_header_has_no_marks():
    m = model()
    m.on_board(board(1), T0)
    b = board_view(m.view(T0))
    assert (b.call.title, b.call.number, b.call.counter, b.call.to_counter) == ("MỜI CÔNG DÂN SỐ", "—", "—", "ĐẾN QUẦY")
    assert not b.call.lit and (b.offline, b.no_sound) == ("", "")
    assert b.hall_name == "UBND xã Dang Kang"
    assert b.counters == tuple(CounterTile(f"QUẦY {n}", "—", "idle") for n in (1, 2, 3, 4))
    assert b.waiting_title == "ĐANG CHỜ" and b.last_calls_title == "VỪA GỌI"
    # The service's brackets do not fit its row; who waits, and for how long (nobody: no minutes).
    assert b.services == (ServiceLine("Hộ tịch", "7", "~12 phút"), ServiceLine("Lĩnh vực khác", "0", ""))
    assert b.notice == "Giờ làm việc: 7:00–11:30."


def test_a_live_call_lights_the_panel_and_a_recall_says_so():
    m = model()
    m.on_board(board(1), T0)
    m.on_called(call(1, "1001", counter=2), T0 + 1)
    b = board_view(m.view(T0 + 1))
    assert (b.call.title, b.call.number, b.call.counter, b.call.lit) == ("MỜI CÔNG DÂN SỐ", "1001", "2", True)
    assert b.counters[1] == CounterTile("QUẦY 2", "1001", "called")
    m.on_called(call(2, "1001", counter=2, recall=True), T0 + 60)
    b = board_view(m.view(T0 + 60))
    assert (b.call.title, b.call.number) == ("MỜI LẠI CÔNG DÂN SỐ", "1001")
    later = board_view(m.view(T0 + 600))
    assert not later.call.lit and later.call.number == "1001"


def test_the_last_calls_name_the_counters_as_the_hall_configured_them():
    """Issue 9: the chips said "Quầy <n>" whatever the counters were called in hall.toml."""
    m = model(NAMED)
    m.on_board(board(1), T0)
    for seq, (ticket, counter) in enumerate([("1001", 1), ("1002", 2), ("1003", 3)], 1):
        m.on_called(call(seq, ticket, counter), T0 + seq)
    b = board_view(m.view(T0 + 5))
    assert b.call.number == "1003" and b.call.counter == "3"
    assert b.last_calls == (CallChip("1002", "Quầy Đất đai"), CallChip("1001", "Một cửa 1"))
    assert [c.name for c in b.counters] == ["MỘT CỬA 1", "QUẦY ĐẤT ĐAI", "QUẦY 3", "QUẦY 4"]


def test_the_marks_and_the_closed_hall_are_said_in_vietnamese():
    m = model()
    m.on_board(replace(board(1), open=False), T0)
    m.on_sound("no-device", T0)
    m.on_connection(False, T0 + 1)
    b = board_view(m.view(T0 + 1))
    assert (b.offline, b.no_sound) == ("● mất kết nối", "● không có loa")
    assert b.waiting_title == "ĐANG CHỜ · đã hết giờ lấy số"
    m.on_connection(False, T0 + 2, refused=True)
    assert board_view(m.view(T0 + 2)).offline == "● chưa đăng ký"


def test_a_paused_counter_says_so_and_every_text_is_nfc():
    m = model()
    m.on_board(board(1, paused=4), T0)
    b = board_view(m.view(T0))
    assert b.counters[3] == CounterTile("QUẦY 4", "Tạm dừng", "paused")
    texts = [b.call.title, b.call.to_counter, b.waiting_title, b.last_calls_title, b.offline, b.no_sound,
             *[t.name for t in b.counters], *[t.text for t in b.counters]]
    assert all(unicodedata.is_normalized("NFC", t) for t in texts)


def test_a_service_name_keeps_its_words_outside_the_brackets():
    assert short_service("Lĩnh vực khác (khiếu nại, thi đua, giáo dục)") == "Lĩnh vực khác"
    assert short_service("Đất đai") == "Đất đai"
    assert short_service("(chỉ có ngoặc)") == "(chỉ có ngoặc)"
