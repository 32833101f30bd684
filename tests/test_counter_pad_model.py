"""The counter pad's model without Kivy: what it shows given the config, the board and the time (issue 10).

The config is the example hall's as the hall server publishes it (config_payload, then decoded), so the scale, the
reasons and the counters' names are the real ones; boards are built as the hall sends them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from hall.config import RatingLevel, RatingReason, RatingScreen, load_hall
from hall.protocol import Board, Config, CounterRow, config_payload
from kiosk.counter_pad.model import (
    CALLED,
    IDLE,
    NOT_REGISTERED,
    OFFLINE,
    PAUSED,
    SERVING,
    SETTLE_S,
    SKIP,
    THANKS,
    THANKS_S,
    PadModel,
    Rate,
)
from tests.conftest import EXAMPLE

T0 = 1_790_000_000.0
TID = "20261125-1001"


def config(**changes) -> Config:
    """The retained `config` as a pad decodes it off the wire."""
    return Config.from_payload(config_payload(replace(load_hall(EXAMPLE), **changes)))


def row(**kw) -> CounterRow:
    base = dict(id=1, name="Quầy 1", paused=False, state="idle")
    return CounterRow(**{**base, **kw})


def board(seq: int, at: float, *rows: CounterRow) -> Board:
    return Board(seq, "2026-11-25", at, True, rows or (row(),))


def finished(seq: int, at: float, tid: str = TID, label: str = "1001", finished_at: float | None = None) -> Board:
    return board(seq, at, row(to_rate=label, to_rate_id=tid, to_rate_at=at if finished_at is None else finished_at))


@pytest.fixture
def pad() -> PadModel:
    m = PadModel(counter=1)
    m.on_connection(True, T0)
    m.on_config(config(), T0)
    m.on_board(board(1, T0), T0)
    return m


def test_before_the_hall_answers_it_says_connecting_then_the_counter_and_its_number():
    m = PadModel(counter=1)
    v = m.view(T0)
    assert (v.screen, v.state, v.mark) == ("number", "connecting", OFFLINE)
    m.on_connection(True, T0)
    m.on_config(config(), T0)
    assert m.view(T0).state == "connecting"          # no board yet
    m.on_board(board(1, T0, row(state="called", ticket="1001", ticket_id=TID)), T0)
    v = m.view(T0)
    assert (v.counter_name, v.counter_name_en, v.mark) == ("QUẦY 1", "Counter 1", "")
    assert (v.state, v.heading, v.heading_en, v.number) == ("called", *CALLED, "1001")
    m.on_board(board(2, T0, row(state="serving", ticket="1001", ticket_id=TID)), T0)
    assert (m.view(T0).heading, m.view(T0).number) == (SERVING[0], "1001")


def test_idle_paused_and_offline(pad):
    v = pad.view(T0)
    assert (v.state, v.heading, v.heading_en, v.number) == ("idle", *IDLE, "")
    pad.on_board(board(2, T0, row(paused=True, state="paused")), T0)
    v = pad.view(T0)
    assert (v.state, v.heading, v.number) == ("paused", PAUSED[0], "")
    assert v.note and v.note_en
    assert pad.on_connection(False, T0)
    assert pad.view(T0).mark == OFFLINE
    pad.on_connection(False, T0, refused=True)
    assert pad.view(T0).mark == NOT_REGISTERED
    assert pad.view(T0).state == "paused"            # the last board stays on screen


def test_a_finished_ticket_is_rated_once_with_the_halls_scale(pad):
    assert pad.on_board(finished(2, T0), T0)
    v = pad.view(T0)
    assert (v.screen, v.ticket) == ("rating", "1001")
    assert [(f.score, f.title, f.sub) for f in v.faces] == [
        (1, "Không hài lòng", "Dissatisfied"), (2, "Hài lòng", "Satisfied"), (3, "Rất hài lòng", "Very satisfied")]
    assert [f.mood for f in v.faces] == [-1.0, 0.0, 1.0]
    assert pad.tap_score(3, T0 + 0.1) is None        # too soon after the screen came up: aimed at the one before
    rate = pad.tap_score(3, T0 + SETTLE_S)
    assert rate == Rate(1, TID, 3, None)
    assert rate.args() == {"counter": 1, "ticket_id": TID, "score": 3}
    assert pad.take_rates() == [rate] and pad.take_rates() == []
    assert pad.view(T0 + 1).screen == "thanks"
    assert (pad.view(T0 + 1).heading, pad.view(T0 + 1).heading_en) == THANKS
    assert pad.tap_score(2, T0 + 2) is None          # a second tap on the thanks screen sends nothing
    # The board that still names the ticket (before the rating lands) does not ask again.
    pad.on_board(finished(3, T0 + 1), T0 + 1)
    assert pad.view(T0 + 1).screen == "thanks"
    assert pad.tick(T0 + SETTLE_S + THANKS_S)
    assert pad.view(T0 + 10).screen == "number"
    pad.on_board(finished(4, T0 + 10), T0 + 10)
    assert pad.view(T0 + 10).screen == "number" and pad.take_rates() == []
    pad.on_rated(TID, "ok", T0 + 10)
    assert pad.view(T0 + 10).sent == ((TID, "ok"),)


def test_a_low_score_offers_the_reasons_then_sends_the_one_tapped(pad):
    pad.on_board(finished(2, T0), T0)
    assert pad.tap_score(1, T0 + 1) is None
    v = pad.view(T0 + 1)
    assert v.screen == "reasons"
    assert [c.id for c in v.reasons] == ["cho-lau", "thai-do", "huong-dan", "di-lai", "khac", ""]
    assert (v.reasons[0].title, v.reasons[-1].title, v.reasons[-1].sub) == ("Chờ lâu", *SKIP)
    assert pad.tap_reason("cho-lau", T0 + 1.1) is None          # not settled yet
    assert pad.tap_reason("no-such-reason", T0 + 2) is None
    assert pad.tap_reason("cho-lau", T0 + 2) == Rate(1, TID, 1, "cho-lau")
    assert pad.view(T0 + 2).screen == "thanks"


def test_skip_sends_the_score_alone_and_a_forgotten_reasons_screen_sends_it_too(pad):
    pad.on_board(finished(2, T0), T0)
    pad.tap_score(1, T0 + 1)
    assert pad.tap_reason(None, T0 + 2) == Rate(1, TID, 1, None)
    pad.take_rates()
    # The next citizen picks the low score and walks away: the score is what they said.
    pad.tick(T0 + 20)
    pad.on_board(finished(3, T0 + 20, "20261125-1002", "1002"), T0 + 20)
    pad.tap_score(1, T0 + 21)
    assert not pad.tick(T0 + 21 + 29)
    assert pad.tick(T0 + 21 + 30)
    assert pad.take_rates() == [Rate(1, "20261125-1002", 1, None)]
    assert pad.view(T0 + 52).screen == "thanks"


def test_no_tap_closes_the_rating_screen_after_close_after_s_and_never_asks_again(pad):
    cfg = config(rating_screen=RatingScreen(5, 1, ()))
    pad.on_config(cfg, T0)
    pad.on_board(finished(2, T0), T0)
    assert pad.view(T0).screen == "rating"
    assert not pad.tick(T0 + 4.9)
    assert pad.tick(T0 + 5)
    assert pad.view(T0 + 5).screen == "number" and pad.take_rates() == []
    pad.on_board(finished(3, T0 + 6), T0 + 6)         # the hall still has it unrated
    assert pad.view(T0 + 6).screen == "number"
    # A scale with no reasons: a low score is sent at once.
    pad.on_board(finished(4, T0 + 7, "20261125-1002", "1002"), T0 + 7)
    assert pad.tap_score(1, T0 + 8) == Rate(1, "20261125-1002", 1, None)


def test_a_pad_started_long_after_the_finish_does_not_ask(pad):
    fresh = PadModel(counter=1)
    fresh.on_config(config(), T0 + 100)
    fresh.on_board(finished(2, T0, finished_at=T0), T0 + 100)     # the retained board, 100 s old
    assert fresh.view(T0 + 100).screen == "number"
    # A pad whose clock is behind by an hour: the board's own time says it is old.
    behind = PadModel(counter=1)
    behind.on_config(config(), T0 - 3600)
    behind.on_board(finished(2, T0 + 60, finished_at=T0), T0 - 3600)
    assert behind.view(T0 - 3600).screen == "number"
    # Restarted within close_after_s of the finish (no rating sent yet): asked on this pad now.
    soon = PadModel(counter=1)
    soon.on_config(config(), T0 + 3)
    soon.on_board(finished(2, T0, finished_at=T0), T0 + 3)
    assert soon.view(T0 + 3).screen == "rating"


def test_already_rated_is_no_news_and_a_rating_elsewhere_closes_the_screen(pad):
    pad.on_board(finished(2, T0), T0)
    pad.tap_score(2, T0 + 1)
    pad.on_rated(TID, "already_rated", T0 + 1.1)
    v = pad.view(T0 + 1.1)
    assert v.screen == "thanks" and v.heading == THANKS[0] and v.sent == ((TID, "already_rated"),)
    # The next ticket is rated on the ticket page while the pad asks: the board stops naming it.
    pad.tick(T0 + 10)
    pad.on_board(finished(3, T0 + 10, "20261125-1002", "1002"), T0 + 10)
    assert pad.view(T0 + 10).screen == "rating"
    pad.on_board(board(4, T0 + 11), T0 + 11)
    assert pad.view(T0 + 11).screen == "number"


def test_the_next_citizen_finished_while_asking_switches_to_their_ticket(pad):
    pad.on_board(finished(2, T0), T0)
    pad.on_board(finished(3, T0 + 3, "20261125-1002", "1002"), T0 + 3)
    v = pad.view(T0 + 3)
    assert (v.screen, v.ticket) == ("rating", "1002")
    assert pad.tap_score(3, T0 + 4) == Rate(1, "20261125-1002", 3, None)


def test_an_older_board_is_ignored_until_a_reconnect(pad):
    pad.on_board(board(5, T0, row(state="called", ticket="1005", ticket_id="x")), T0)
    assert not pad.on_board(board(4, T0), T0)
    assert pad.view(T0).number == "1005"
    pad.on_connection(False, T0)
    pad.on_connection(True, T0)                       # a restarted hall may count from less
    assert pad.on_board(board(1, T0), T0)
    assert pad.view(T0).number == ""


def test_a_five_level_scale_and_eight_reasons():
    levels = tuple(RatingLevel(i, n, e) for i, (n, e) in enumerate(
        [("Rất không hài lòng", "Very dissatisfied"), ("Không hài lòng", "Dissatisfied"),
         ("Bình thường", "Neutral"), ("Hài lòng", "Satisfied"), ("Rất hài lòng", "Very satisfied")], 1))
    reasons = tuple(RatingReason(f"r{i}", f"Lý do {i}", f"Reason {i}") for i in range(1, 9))
    m = PadModel(counter=2)
    m.on_connection(True, T0)
    m.on_config(config(rating=levels, rating_screen=RatingScreen(30, 2, reasons)), T0)
    m.on_board(board(1, T0, row(), row(id=2, name="Quầy 2", to_rate="2001", to_rate_id="t2", to_rate_at=T0)), T0)
    v = m.view(T0)
    assert v.counter_name == "QUẦY 2" and [f.mood for f in v.faces] == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert m.tap_score(2, T0 + 1) is None
    assert len(m.view(T0 + 1).reasons) == 9
    assert m.tap_reason("r8", T0 + 2) == Rate(2, "t2", 2, "r8")
