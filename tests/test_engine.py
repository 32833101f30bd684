"""The queue rules of broker/engine.py, pure: no MQTT, no SQLite, time passed in."""

from __future__ import annotations

from dataclasses import replace

import pytest

from broker.engine import Engine
from broker.model import Device, Saved, Ticket
from hall.config import load_hall
from hall.protocol import ProtocolError, Rated, Request, decode_request
from tests.conftest import at
from tests.engine_hall import CFG, KIOSK, MINUTE, ROOMY, Hall, clerk, replay

# A hall of its own for labels, exhaustion and a 5-level rating (top-level arrays: short).
SMALL = """\
rating = [{name = "1", name_en = "1"}, {name = "2", name_en = "2"}, {name = "3", name_en = "3"},
          {name = "4", name_en = "4"}, {name = "5", name_en = "5"}]
counters = [{id = 1, name = "Quầy 1", name_en = "Counter 1"}]
services = [
  {id = "a", name = "A", name_en = "A", prefix = "A", counters = [1]},
  {id = "b", name = "B", name_en = "B", prefix = "B", first = 7, last = 12, counters = [1]},
  {id = "c", name = "C", name_en = "C", first = 0, last = 2, counters = [1]},
  {id = "d", name = "D", name_en = "D", first = 10, last = 9999, counters = [1]}]
[hall]
id = "thu"
name = "Thử"
[hours]
reset_hour = 5
wednesday = ["07:00-17:00"]
thursday = ["07:00-17:00"]
"""


@pytest.fixture
def small(tmp_path):
    (tmp_path / "hall.toml").write_text(SMALL, encoding="utf-8")
    return load_hall(tmp_path / "hall.toml")


# --- numbers ------------------------------------------------------------------------


def test_numbering_per_service():
    h = Hall()
    first = h.do(KIOSK, "take-ticket", service="ho-tich")
    assert first.data.to_dict() == {
        "ticket": "1001", "ticket_id": "20261125-1001", "service": "ho-tich", "priority": None,
        "counters": [1, 2], "ahead": 0, "wait_min": 0, "issued_at": at(), "day": "2026-11-25"}
    assert [e.kind for e in first.events] == ["issued"] and first.events[0].data["number"] == 1001
    assert [h.ticket("chung-thuc"), h.ticket(), h.ticket("chung-thuc"), h.ticket("dat-dai")] == [
        "2001", "1002", "2002", "3001"]


def test_labels_prefix_and_zero_padding(small):
    h = Hall(small)
    # Padded to the width of `last`: A001 (last 999), B07 (last 12), 0 (last 2), 0010 (last 9999).
    assert [h.ticket("a"), h.ticket("a"), h.ticket("b"), h.ticket("c"), h.ticket("d")] == [
        "A001", "A002", "B07", "0", "0010"]
    assert h.t("B07").id == "20261125-B07" and h.t("B07").number == 7
    h.call(1)               # this hall rates on 5 levels: 5 is a valid score here, not in the example
    h.act(1, "finish")      # only a served ticket can be rated
    assert h.act(1, "rate", ticket=h.t("A001").id, score=5).data.to_dict()["score"] == 5


def test_numbers_exhausted(small):
    h = Hall(small)
    assert h.tickets(3, "c") == ["0", "1", "2"]
    h.now += 2 * MINUTE     # a refusal must not even tidy the kiosk's rate-limit record
    h.refused(KIOSK, "take-ticket", "numbers_exhausted", service="c")
    h.refused(Device("kiosk-2", "kiosk"), "take-ticket", "numbers_exhausted", service="c")
    assert h.ticket("a") == "A001"        # other services go on
    # This hall's day starts at 05:00 (reset_hour = 5), not at the example's 03:00.
    assert [h.engine.service_day(at(day=26, hour=4, minute=59)), h.engine.service_day(at(day=26, hour=5))] == [
        "2026-11-25", "2026-11-26"]
    h.now = at(day=26)                     # the next service day starts over
    assert h.ticket("c") == "0"


# --- the service day ----------------------------------------------------------------

def test_rollover_at_reset_hour():
    h = Hall(CFG)
    done, called, waiting = h.ticket(), h.ticket(), h.ticket("xa-hoi")
    h.call(1), h.call(1), h.act(3, "pause")       # 1001 finished, 1002 called, 4001 waiting
    seq = h.engine.call_seq
    h.now = at(day=26, hour=2, minute=59)  # still 25 November's service day
    assert not h.engine.rollover(h.now).events and h.engine.day == "2026-11-25"
    h.now = at(day=26, hour=3)
    with pytest.raises(RuntimeError):      # handle() never runs on a stale day
        h.engine.handle(clerk(1), Request("x", "finish", {"counter": 1}), h.now)
    old = dict(h.engine.tickets)
    roll = h.engine.rollover(h.now)
    assert h.engine.day == "2026-11-26"
    expired = {e.ticket: e.data["day"] for e in roll.events if e.kind == "expired"}
    assert expired == {f"20261125-{n}": "2026-11-25" for n in (called, waiting)}
    assert {t.id: t.state for t in roll.tickets.values()} == dict.fromkeys(expired, "expired")
    assert old[f"20261125-{done}"].state == "finished"   # closed tickets are left as they were
    assert {c.id: (c.current, c.paused) for c in roll.counters.values()} == dict.fromkeys(
        [1, 2, 3, 4], (None, False))
    h.now = at(day=26, hour=9)
    assert h.ticket() == "1001" and h.t("1001").id == "20261126-1001"
    board = h.engine.board(h.now, 0).to_dict()
    assert board["calls"] == [] and board["services"][3]["waiting"] == 0
    assert h.call(1) == "1001" and h.engine.call_seq == seq + 1     # call seq only grows


def test_expire_stale_tickets_from_an_earlier_day():
    h = Hall()
    stale = Ticket("20261124-1005", "2026-11-24", "ho-tich", 1005, "1005", None, at(day=24), 5, "k", "ho-tich",
                   state="called", counter=2)
    h.engine.counters[2].current = stale.id
    out = h.engine.expire([stale], h.now)
    assert stale.state == "expired" and [e.kind for e in out.events] == ["expired"]
    assert h.engine.counters[2].current is None and 2 in out.counters


@pytest.mark.parametrize("when, is_open", [
    (dict(hour=6, minute=59), False), (dict(hour=7), True), (dict(hour=11, minute=29), True),
    (dict(hour=11, minute=30), False), (dict(hour=13, minute=30), True), (dict(hour=17), False),
    (dict(day=28, hour=7, minute=30), True), (dict(day=28, hour=14), False),   # Saturday
    (dict(day=29), False), (dict(year=2027, month=1, day=1), False)])           # Sunday, New Year
def test_hall_hours(when, is_open):
    h = Hall(now=at(**when))
    if is_open:
        assert h.ticket() == "1001"
        return
    err = h.refused(KIOSK, "take-ticket", "hall_closed", service="ho-tich")
    # A closed date (a holiday) says so; other times say "outside working hours".
    assert ("Hôm nay là ngày nghỉ" if when.get("year") == 2027 else "ngoài giờ làm việc") in err.message
    assert "Thứ Tư: 07:00–11:30, 13:30–17:00" in err.message and "Thứ Bảy: 07:30–11:30" in err.message


def test_kiosk_rate_limit_recovers_after_a_minute():
    h = Hall(CFG)                               # 6 tickets a minute per kiosk
    start = h.now
    for i in range(6):
        h.now = start + i
        h.ticket()
    h.now = start + 59
    h.refused(KIOSK, "take-ticket", "rate_limited", service="chung-thuc")
    assert h.ticket(kiosk=Device("kiosk-2", "kiosk")) == "1007"    # per kiosk
    h.now = start + 60                          # the first ticket is a minute old
    assert h.ticket() == "1008"
    h.refused(KIOSK, "take-ticket", "rate_limited", service="ho-tich")


def test_unknown_service_and_priority():
    h = Hall()
    h.refused(KIOSK, "take-ticket", "unknown_service", service="thue")
    h.refused(KIOSK, "take-ticket", "unknown_priority", service="ho-tich", priority="vip")
    assert h.do(KIOSK, "take-ticket", service="ho-tich", priority="merit").data.to_dict()["priority"] == "merit"


def test_roles():
    h = Hall()
    h.ticket()
    h.refused(KIOSK, "call-next", "forbidden", counter=1)
    h.refused(clerk(1), "take-ticket", "forbidden", service="ho-tich")
    h.refused(Device("tv", "display"), "take-ticket", "forbidden", service="ho-tich")
    h.refused(clerk(2), "call-next", "wrong_counter", counter=1)
    h.refused(Device("c9", "counter", 9), "call-next", "unknown_counter", counter=9)
    h.refused(clerk(1), "make-coffee", "unknown_action", counter=1)
    assert h.call(1) == "1001"


# --- calling ------------------------------------------------------------------------

def test_call_next_takes_oldest_across_the_counters_services():
    h = Hall()
    for service in ("chung-thuc", "xa-hoi", "ho-tich", "tra-ket-qua", "ho-tich"):
        h.ticket(service)
        h.now += MINUTE
    assert [h.call(1) for _ in range(4)] == ["2001", "1001", "6001", "1002"]   # 4001 is counter 4's
    h.refused(clerk(1), "call-next", "queue_empty", counter=1)
    assert h.call(4) == "4001"


def test_priority_strict():
    h = Hall(replace(ROOMY, priority=replace(ROOMY.priority, policy="strict")))
    labels = [h.ticket(), h.ticket(), h.ticket(priority="elderly"), h.ticket(priority="merit")]
    assert h.do(KIOSK, "take-ticket", service="ho-tich", priority="pregnant").data.to_dict()["ahead"] == 2
    assert [h.call(1) for _ in range(5)] == [labels[2], labels[3], "1005", labels[0], labels[1]]


def test_priority_interleave_every_three():
    h = Hall()
    h.tickets(5)
    p1, p2 = h.ticket(priority="elderly"), h.ticket(priority="disabled")
    assert [h.call(1) for _ in range(7)] == ["1001", "1002", "1003", p1, "1004", "1005", p2]
    # Only priority tickets left: called at once, the run does not make them wait.
    assert h.ticket(priority="merit") == "1008" and h.call(2) == "1008"
    # The run is counted per counter: with every = 1, counter 2's first call is still ordinary.
    h = Hall(replace(ROOMY, priority=replace(ROOMY.priority, every=1)))
    h.tickets(4), h.ticket(priority="elderly")
    assert [h.call(1), h.call(2), h.call(1)] == ["1001", "1002", "1005"]


def test_transfer_to_service_keeps_number_and_place():
    h = Hall()
    h.ticket()
    issued = h.now
    h.now += MINUTE
    h.ticket("dat-dai"), h.ticket("dat-dai")
    assert h.call(1) == "1001"
    out = h.act(1, "transfer", service="dat-dai")
    assert out.data.to_dict() == {"ticket": "1001", "ticket_id": "20261125-1001", "service": "dat-dai",
                        "state": "waiting", "priority": None, "counter": None}
    assert out.events[0].kind == "transferred" and h.engine.counters[1].current is None
    assert h.t("1001").issued_at == issued
    h.refused(clerk(1), "call-next", "queue_empty", counter=1)     # no longer in ho-tich's line
    assert [h.call(3) for _ in range(3)] == ["1001", "3001", "3002"]


def test_transfer_to_counter_pins_it_there():
    h = Hall()
    h.tickets(2)
    assert h.call(1) == "1001"
    h.act(1, "transfer", to_counter=3)     # counter 3 does not even serve ho-tich
    assert h.call(2) == "1002"              # counter 2 serves ho-tich but skips the pinned ticket
    h.refused(clerk(1), "call-next", "queue_empty", counter=1)
    assert h.call(3) == "1001" and h.t("1001").pinned is None


def test_transfer_errors():
    h = Hall()
    h.ticket()
    h.refused(clerk(1), "transfer", "no_current_ticket", counter=1, service="dat-dai")
    h.call(1)
    h.refused(clerk(1), "transfer", "bad_request", counter=1)
    h.refused(clerk(1), "transfer", "bad_request", counter=1, service="dat-dai", to_counter=3)
    h.refused(clerk(1), "transfer", "unknown_service", counter=1, service="thue")
    h.refused(clerk(1), "transfer", "unknown_counter", counter=1, to_counter=7)


def test_recall_skip_finish_serve():
    h = Hall()
    h.tickets(3)
    h.refused(clerk(1), "recall", "no_current_ticket", counter=1)
    first = h.act(1).calls[0]
    again = h.act(1, "recall").calls[0]
    assert (first.recall, again.recall) == (False, True)
    assert (again.ticket, again.counter, again.service, again.seq) == ("1001", 1, "ho-tich", first.seq + 1)
    assert h.t("1001").calls == 2 and h.engine.board(h.now, 0).to_dict()["calls"][0]["recall"] is True
    assert h.act(1, "skip").data.to_dict()["state"] == "no_show"
    assert h.engine.counters[1].current is None and "ho-tich" not in h.engine.samples
    h.refused(clerk(1), "skip", "no_current_ticket", counter=1)
    h.call(1)
    h.now += 2 * MINUTE
    assert h.act(1, "serve").data.to_dict()["state"] == "serving"
    # A recall while serving leaves the ticket serving, and so must the event log say.
    assert h.act(1, "recall").data.to_dict()["state"] == "serving" and replay(h.events)["20261125-1002"] == "serving"
    h.now += 5 * MINUTE
    assert h.act(1, "finish").data.to_dict()["state"] == "finished"
    assert list(h.engine.samples["ho-tich"]) == [5 * MINUTE]    # from serving, not from the call
    h.refused(clerk(1), "finish", "no_current_ticket", counter=1)
    assert [e.kind for e in h.events][3:] == [
        "called", "recalled", "no_show", "called", "served", "recalled", "finished"]


def test_call_next_finishes_the_current_ticket():
    h = Hall()
    h.tickets(2)
    h.call(1)
    out = h.act(1)
    assert [e.kind for e in out.events] == ["finished", "called"]
    assert h.t("1001").state == "finished" and h.t("1002").state == "called"
    # With nobody waiting, call-next is refused and the current ticket stays.
    h.refused(clerk(1), "call-next", "queue_empty", counter=1)
    assert h.engine.counters[1].current == "20261125-1002"


def test_pause_and_resume():
    h = Hall()
    h.tickets(2)
    h.call(1)
    assert h.act(1, "pause").events[0].kind == "paused"
    assert h.act(1, "pause").events == []           # already paused: nothing to store
    h.refused(clerk(1), "call-next", "counter_paused", counter=1)
    assert h.engine.board(h.now, 0).to_dict()["counters"][0]["state"] == "paused"
    assert h.act(1, "finish").data.to_dict()["state"] == "finished"    # the citizen at the desk is still served
    assert h.act(1, "resume").events[0].kind == "resumed"
    assert h.call(1) == "1002"


def test_rate():
    h = Hall(replace(ROOMY, rating=ROOMY.rating[:2]))    # the scale comes from the config
    h.tickets(3)
    h.call(1), h.call(2)
    h.refused(clerk(1), "rate", "not_rateable", counter=1, ticket="20261125-1003", score=1)   # waiting
    h.refused(clerk(2), "rate", "not_rateable", counter=2, ticket="20261125-1001", score=1)   # other counter
    h.refused(clerk(1), "rate", "unknown_ticket", counter=1, ticket="20261125-1999", score=1)
    h.act(1, "finish")
    h.refused(clerk(1), "rate", "bad_request", counter=1, ticket="20261125-1001", score=3)
    h.refused(clerk(1), "rate", "bad_request", counter=1, ticket="20261125-1001", score=0)
    assert h.act(1, "rate", ticket="20261125-1001", score=2).events[0].data == {"score": 2}
    assert h.t("1001").rating == 2
    h.refused(clerk(1), "rate", "already_rated", counter=1, ticket="20261125-1001", score=1)
    h.act(2, "skip")
    h.refused(clerk(2), "rate", "not_rateable", counter=2, ticket="20261125-1002", score=1)


def test_rate_names_the_ticket_by_ticket_id_and_still_accepts_ticket():
    """Issue 9: `ticket` is the printed label everywhere but in `rate`; `ticket_id` is its name now."""
    h = Hall()
    h.tickets(3)
    for _ in range(3):
        h.call(1)
        h.act(1, "serve")
    assert h.act(1, "rate", ticket_id="20261125-1003", score=2).data == Rated("20261125-1003", 2)
    h.refused(clerk(1), "rate", "bad_request", counter=1, score=1)            # neither name
    err = h.refused(clerk(1), "rate", "bad_request", counter=1, ticket_id="20261125-1003",
                    ticket="20261125-1002", score=1)                           # two different tickets
    assert "different" in err.detail
    h.refused(clerk(1), "rate", "already_rated", counter=1, ticket_id="20261125-1003", ticket="20261125-1003",
              score=1)                                                         # both, the same: one ticket


def test_rate_arguments_as_the_wire_gives_them():
    req = decode_request("rate", b'{"v":1,"id":"r1","counter":1,"ticket_id":"20261125-1001","score":2}')
    assert req.args == {"counter": 1, "ticket_id": "20261125-1001", "score": 2}
    assert decode_request("rate", b'{"v":1,"id":"r1","counter":1,"ticket":"x","score":2}').args["ticket"] == "x"
    with pytest.raises(ProtocolError) as err:
        decode_request("rate", b'{"v":1,"id":"r1","counter":1,"ticket_id":7,"score":2}')
    assert err.value.code == "bad_request" and err.value.rid == "r1"


def test_the_day_only_moves_forward_across_a_restart():
    """A clock set back at boot must not reopen a day whose numbers were issued: restore keeps the later day."""
    asked = []

    def saved(day):
        asked.append(day)
        return Saved([], [], 0, [], {})

    engine = Engine(ROOMY, at(day=24))
    engine.restore("2026-11-25", saved)
    assert engine.day == "2026-11-25" and asked == ["2026-11-25"]
    engine = Engine(ROOMY, at(day=26))
    engine.restore("2026-11-25", saved)
    assert engine.day == "2026-11-26" and asked[-1] == "2026-11-26"


# --- what citizens and the board are told -------------------------------------------

def test_waiting_ahead_and_estimated_wait():
    h = Hall()
    # ho-tich: 10 configured minutes, counters 1 and 2: each person ahead adds 10/2 minutes.
    waits = [h.do(KIOSK, "take-ticket", service="ho-tich").data.to_dict() for _ in range(4)]
    assert [(d["ahead"], d["wait_min"]) for d in waits] == [(0, 0), (1, 5), (2, 10), (3, 15)]
    h.act(2, "pause")
    assert h.engine.board(h.now, 0).to_dict()["services"][0]["wait_min"] == 40      # 4 waiting, one counter
    h.serve_for(1, 4), h.serve_for(1, 8)
    assert h.engine.service_minutes("ho-tich") == 10                    # 2 samples: not yet trusted
    h.serve_for(1, 6)
    assert h.engine.service_minutes("ho-tich") == 6                     # (4 + 8 + 6) / 3
    assert h.do(KIOSK, "take-ticket", service="ho-tich").data.to_dict()["wait_min"] == 6      # 1 ahead
    h.act(2, "resume")
    assert h.engine.estimate_minutes("ho-tich", 4) == 12
    h.act(1, "pause"), h.act(2, "pause")
    assert h.engine.estimate_minutes("ho-tich", 4) == 12   # all paused: shared as if all worked


def test_board():
    h = Hall()
    h.tickets(2), h.ticket("dat-dai")
    h.call(1), h.call(3), h.act(3, "serve"), h.act(4, "pause")
    b = h.engine.board(h.now, 0).to_dict()
    assert (b["day"], b["open"]) == ("2026-11-25", True)
    assert [(c["id"], c["name"], c["state"], c["ticket"], c["service"]) for c in b["counters"]] == [
        (1, "Quầy 1", "called", "1001", "ho-tich"), (2, "Quầy 2", "idle", None, None),
        (3, "Quầy 3", "serving", "3001", "dat-dai"), (4, "Quầy 4", "paused", None, None)]
    assert b["services"][0] == {"id": "ho-tich", "waiting": 1, "wait_min": 5, "last_issued": "1002"}
    assert b["services"][1] == {"id": "chung-thuc", "waiting": 0, "wait_min": 0, "last_issued": None}
    assert [(c["ticket"], c["counter"]) for c in b["calls"]] == [("3001", 3), ("1001", 1)]   # newest first
    assert not h.engine.board(at(hour=12), 0).to_dict()["open"]


@pytest.mark.parametrize("device, action, args, code", [
    (KIOSK, "take-ticket", {"service": "thue"}, "unknown_service"),
    (clerk(1), "call-next", {"counter": 1}, "counter_paused"),
    (clerk(3), "call-next", {"counter": 3}, "queue_empty"),
    (clerk(4), "transfer", {"counter": 4, "service": "ho-tich"}, "no_current_ticket"),
    (clerk(2), "transfer", {"counter": 2, "to_counter": 8}, "unknown_counter"),
    (clerk(2), "rate", {"counter": 2, "ticket": "20261125-1001", "score": 3}, "not_rateable"),
    (KIOSK, "take-ticket", {"service": "ho-tich"}, "rate_limited"),
])
def test_refusal_changes_nothing(device, action, args, code):
    # A busy hall: finished, rated, paused, called and waiting tickets, a recall, samples.
    h = Hall(CFG)
    h.tickets(3), h.ticket("dat-dai"), h.ticket(), h.ticket("chung-thuc")
    h.call(1), h.act(1, "recall"), h.act(1, "finish"), h.act(1, "rate", ticket="20261125-1001", score=3)
    h.call(2), h.call(3), h.act(3, "skip"), h.act(1, "pause")
    h.refused(device, action, code, **args)


# --- fairness and honest counts (regressions found in review) --------------------------

def test_interleave_never_makes_a_priority_citizen_wait_longer_than_an_ordinary_one():
    h = Hall()
    first = h.ticket(priority="elderly")      # the elderly citizen came first
    h.tickets(4)
    assert h.call(1) == first                 # not behind three later ordinary tickets


def test_ticket_sent_to_a_counter_still_counts_as_waiting_for_its_service():
    h = Hall()
    h.tickets(3)
    h.call(1)
    h.act(1, "transfer", to_counter=2)
    board = {s["id"]: s for s in h.engine.board(h.now, 0).to_dict()["services"]}
    assert board["ho-tich"]["waiting"] == 3
    assert h.do(KIOSK, "take-ticket", service="ho-tich").data.to_dict()["ahead"] == 3


def test_a_clock_set_back_never_reopens_an_earlier_day():
    h = Hall()
    h.tickets(2)
    h.now = at(day=26, hour=9)
    assert h.ticket() == "1001" and h.engine.day == "2026-11-26"
    h.now = at(day=25, hour=10)               # the Pi's clock jumps back a day
    assert h.engine.rollover(h.now).events == [] and h.engine.day == "2026-11-26"
    assert h.ticket() == "1002"               # numbers go on; 20261125-1001 is never issued again


def test_recall_keeps_the_first_call_time_and_rating_needs_service():
    h = Hall()
    h.ticket()
    h.call(1)
    first_call = h.t("1001").called_at
    h.now += 2 * MINUTE
    h.act(1, "recall")
    assert h.t("1001").called_at == first_call     # the wait for the citizen counts as service time
    h.refused(clerk(1), "rate", "not_rateable", counter=1, ticket=h.t("1001").id, score=2)
    h.act(1, "serve")
    assert h.act(1, "rate", ticket=h.t("1001").id, score=2).data.to_dict()["score"] == 2


def test_a_priority_ticket_is_told_what_is_really_ahead_under_interleave():
    """Issue 13 item 4: a priority ticket printed 'Có 5 người đang chờ trước bạn' and was called 5 s
    later. The count must be what the counters will call before it (counters taking turns)."""
    h = Hall()
    h.tickets(8)
    assert [h.call(1) for _ in range(3)] == ["1001", "1002", "1003"]   # counter 1 made its 3 ordinary calls
    reply = h.do(KIOSK, "take-ticket", service="ho-tich", priority="elderly").data.to_dict()
    assert (reply["ahead"], reply["wait_min"]) == (0, 0)
    assert h.call(1) == reply["ticket"]
    # The estimate agrees with the calls as they come, counters 1 and 2 of ho-tich taking turns.
    for ordinary, priorities, runs in [(5, 0, (0, 0)), (5, 1, (0, 0)), (9, 2, (2, 0)), (2, 3, (0, 0)), (0, 2, (0, 0))]:
        h = Hall()
        for n, run in zip((1, 2), runs, strict=True):
            h.engine.counters[n].ordinary_run = run
        h.tickets(ordinary)
        for _ in range(priorities):
            h.ticket(priority="disabled")
        mine = h.do(KIOSK, "take-ticket", service="ho-tich", priority="elderly").data.to_dict()
        called, turn = [], 0
        while mine["ticket"] not in called:
            called.append(h.call(1 + turn % 2))
            turn += 1
        assert mine["ahead"] == len(called) - 1, (ordinary, priorities, runs, called)
