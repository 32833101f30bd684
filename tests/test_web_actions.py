"""The web pages' own actions (broker.web_actions: hold, release, rate-ticket) and the rating rules
(broker.ratings) on the pure engine, and what a real ledger (SQLite hall.db in tmp_path) keeps of them.

A clerk's web session is a counter device with a staff id: it acts only for a counter it holds, and
every event it makes names the clerk. A counter device of its own (MQTT) is not asked.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from broker import ratings
from broker.engine import Engine
from broker.ledger import MIGRATIONS, Ledger
from broker.model import CounterState, Device, Event, Saved, Ticket
from broker.web_actions import WEB_ACTIONS
from hall import store
from hall.config import RatingReason, RatingScreen
from hall.protocol import ACTIONS, CounterHeld, ProtocolError, Rated, Request, decode_request
from tests.conftest import at
from tests.engine_hall import KIOSK, ROOMY, Hall, clerk

CLERK7 = Device("staff-7", "counter", 1, staff=7)    # clerk 7's web session, at counter 1
CLERK8 = Device("staff-8", "counter", 1, staff=8)
PAGE = Device("ticket-page", "citizen")              # the ticket's own page: no login, a citizen
COUNTER_ACTIONS = sorted(a for a, spec in ACTIONS.items() if spec.role == "counter")
NOT_YET = "Phiếu này chưa được phục vụ xong nên chưa thể đánh giá."


def tid(label: str) -> str:
    return f"20261125-{label}"


# --- hold, release, take over ----------------------------------------------------

def test_hold_release_and_take_over():
    h = Hall()
    out = h.do(CLERK7, "hold", counter=1)
    assert out.data == CounterHeld(1, 7, None)
    assert out.events == [Event("held", h.now, "staff-7", counter=1, staff=7)]
    assert out.counters == {1: CounterState(1, staff=7)}       # the ledger stores who holds it
    again = h.do(CLERK7, "hold", counter=1)                    # holding it already: nothing to log
    assert again.data == CounterHeld(1, 7) and again.events == [] and again.counters == {}

    h.refused(CLERK8, "hold", "counter_held", counter=1)       # the page asks before taking over
    h.refused(CLERK8, "hold", "counter_held", counter=1, take_over=False)
    taken = h.do(CLERK8, "hold", counter=1, take_over=True)
    assert taken.data == CounterHeld(1, 8, 7)
    assert taken.events == [Event("held", h.now, "staff-8", counter=1, data={"taken_from": 7}, staff=8)]
    assert h.engine.counters[1].staff == 8

    h.refused(CLERK7, "release", "counter_held", counter=1)    # clerk 7 lost it: may not release it
    left = h.do(CLERK8, "release", counter=1)
    assert left.data == CounterHeld(1, None)
    assert left.events == [Event("released", h.now, "staff-8", counter=1, staff=8)]
    assert left.counters == {1: CounterState(1)}
    h.refused(CLERK8, "release", "counter_not_held", counter=1)
    assert h.do(CLERK7, "hold", counter=1).data == CounterHeld(1, 7, None)   # free again: no take_over


def test_a_clerk_acts_only_for_a_counter_it_holds():
    h = Hall()
    h.tickets(2)
    # Before any check of the action's own: a clerk without the counter learns that first.
    for action in COUNTER_ACTIONS:
        h.refused(CLERK7, action, "counter_not_held", counter=1)
    h.do(CLERK8, "hold", counter=1)
    for action in COUNTER_ACTIONS:
        h.refused(CLERK7, action, "counter_held", counter=1)
    assert h.do(CLERK8, "call-next", counter=1).data.ticket == "1001"
    # A session is for one counter, as a device is: holding counter 1 gives no say over counter 2.
    h.refused(Device("staff-8", "counter", 2, staff=8), "call-next", "counter_not_held", counter=2)
    h.refused(CLERK8, "call-next", "wrong_counter", counter=2)


def test_a_counter_device_still_acts_at_a_held_counter():
    """A pad or keypad is bolted to its counter (no staff id): a clerk's hold does not lock it out."""
    h = Hall()
    h.tickets(2)
    h.do(CLERK7, "hold", counter=1)
    out = h.act(1)
    assert out.data.ticket == "1001" and [e.staff for e in out.events] == [None]
    assert h.t("1001").staff is None
    h.act(1, "finish")
    assert h.engine.counters[1].staff == 7                      # and the clerk still holds it
    assert h.do(CLERK7, "call-next", counter=1).data.ticket == "1002"


def test_the_web_actions_are_not_mqtt_actions():
    h = Hall()
    h.tickets(1)
    for device, action in [(clerk(1), "hold"), (clerk(1), "release"), (clerk(1), "rate-ticket"),
                           (KIOSK, "hold"), (Device("display-1", "display"), "rate-ticket")]:
        h.refused(device, action, "unknown_action", counter=1)
    # The web sessions know them, each for its own role.
    h.refused(PAGE, "hold", "forbidden", counter=1)
    h.refused(CLERK7, "rate-ticket", "forbidden", ticket_id=tid("1001"), score=1)
    h.refused(PAGE, "call-next", "forbidden", counter=1)
    assert not set(WEB_ACTIONS) & set(ACTIONS)


def test_requests_on_the_wire():
    """decode_request with the web table checks as for MQTT; a bool only where a table asks; rate's reason."""
    def code(action: str, payload: bytes, actions=WEB_ACTIONS) -> str:
        with pytest.raises(ProtocolError) as err:
            decode_request(action, payload, actions)
        return err.value.code

    req = decode_request("hold", b'{"v":1,"id":"w1","counter":1,"take_over":true}', WEB_ACTIONS)
    assert req.args == {"counter": 1, "take_over": True}
    assert decode_request("release", b'{"v":1,"id":"w2","counter":1}', WEB_ACTIONS).args == {"counter": 1}
    assert code("hold", b'{"v":1,"id":"w3","counter":1,"take_over":1}') == "bad_request"
    assert code("hold", b'{"v":1,"id":"w4","counter":true}') == "bad_request"
    assert code("hold", b'{"v":1,"id":"w5","counter":1}', ACTIONS) == "unknown_action"   # not on MQTT
    assert code("rate-ticket", b'{"v":1,"id":"w6","ticket_id":"x"}') == "bad_request"      # no score
    assert code("rate", b'{"v":1,"id":"w7","counter":1,"ticket_id":"x","score":true}', ACTIONS) == "bad_request"
    rate = b'{"v":1,"id":"w8","counter":1,"ticket_id":"20261125-1001","score":1,'
    assert decode_request("rate", rate + b'"reason":"cho-lau"}').args["reason"] == "cho-lau"
    for bad in (b'"reason":null}', b'"reason":3}', b'"reason":"' + b"x" * 65 + b'"}'):
        assert code("rate", rate + bad, ACTIONS) == "bad_request"


# --- the clerk in the log ------------------------------------------------------------

def test_every_event_of_a_clerks_action_carries_the_clerk():
    h = Hall()
    h.tickets(5)
    start = len(h.events)
    h.do(CLERK7, "hold", counter=1)
    act = lambda action, **args: h.do(CLERK7, action, counter=1, **args)   # noqa: E731
    act("call-next"), act("recall"), act("serve")
    act("call-next")                           # finishes 1001
    act("rate", ticket_id=tid("1001"), score=2)
    act("skip")                                # 1002 did not come
    act("call-next"), act("transfer", to_counter=3)
    act("pause"), act("resume")
    act("call-ticket", ticket="1002")          # the no-show came back
    act("finish"), act("release")
    mine = h.events[start:]
    assert {e.kind for e in mine} == {"held", "called", "recalled", "served", "finished", "rated", "no_show",
                                      "transferred", "paused", "resumed", "released"}
    assert [e for e in mine if e.staff != 7 or e.device != "staff-7"] == []
    assert all(e.staff is None for e in h.events[:start])   # the kiosk's: no clerk


def test_the_ticket_names_the_clerk_who_called_it_last():
    h = Hall()
    h.tickets(2)
    h.do(CLERK7, "hold", counter=1)
    h.do(CLERK7, "call-next", counter=1)
    assert h.t("1001").staff == 7
    h.do(CLERK8, "hold", counter=1, take_over=True)
    h.do(CLERK8, "recall", counter=1)          # clerk 8 took over the citizen at the desk
    assert h.t("1001").staff == 8
    h.act(1)                                   # the counter's own keypad calls the next one
    assert (h.t("1001").staff, h.t("1002").staff) == (8, None)


# --- ratings ----------------------------------------------------------------------------

def test_the_rated_event_keeps_the_clerk_and_the_reason():
    h = Hall()
    h.tickets(3)
    h.do(CLERK7, "hold", counter=1)
    h.do(CLERK7, "call-next", counter=1)
    h.do(CLERK7, "finish", counter=1)
    out = h.act(1, "rate", ticket_id=tid("1001"), score=1, reason="cho-lau")   # the pad, a device
    assert out.data == Rated(tid("1001"), 1)
    assert out.events == [Event("rated", h.now, "counter-1", tid("1001"), "ho-tich", 1,
                                {"score": 1, "reason": "cho-lau", "clerk": 7}, None)]
    h.do(CLERK7, "call-next", counter=1)
    h.do(CLERK7, "finish", counter=1)
    out = h.do(CLERK7, "rate", counter=1, ticket_id=tid("1002"), score=3)      # the clerk's own page
    assert out.events[0].data == {"score": 3, "reason": None, "clerk": 7} and out.events[0].staff == 7
    h.act(1), h.act(1, "finish")                                                # no clerk, no reason
    assert h.act(1, "rate", ticket_id=tid("1003"), score=2).events[0].data == {"score": 2}


def test_a_reason_only_for_a_low_score_and_only_one_of_the_halls():
    h = Hall()                     # the example hall: 3 levels, reasons asked at score 1, the default five
    assert ROOMY.rating_screen.ask_reason_at_most == 1
    h.tickets(3)
    for _ in range(3):
        h.act(1), h.act(1, "finish")
    h.refused(clerk(1), "rate", "bad_request", counter=1, ticket_id=tid("1001"), score=2, reason="cho-lau")
    h.refused(clerk(1), "rate", "bad_request", counter=1, ticket_id=tid("1001"), score=1, reason="chua-co")
    h.refused(PAGE, "rate-ticket", "bad_request", ticket_id=tid("1001"), score=2, reason="cho-lau")
    h.refused(PAGE, "rate-ticket", "bad_request", ticket_id=tid("1001"), score=1, reason="")
    assert h.act(1, "rate", ticket_id=tid("1001"), score=1, reason="khac").events[0].data["reason"] == "khac"
    assert h.do(PAGE, "rate-ticket", ticket_id=tid("1002"), score=1, reason="thai-do").events[0].data == {
        "score": 1, "reason": "thai-do", "clerk": None}
    assert h.act(1, "rate", ticket_id=tid("1003"), score=1).events[0].data == {"score": 1}   # a reason may be left out

    # The hall's own list replaces the defaults, and its own threshold counts.
    own = replace(ROOMY, rating_screen=RatingScreen(30, 2, (RatingReason("giay-to", "Giấy tờ rườm rà", ""),)))
    h = Hall(own)
    h.tickets(2)
    for _ in range(2):
        h.act(2), h.act(2, "finish")
    h.refused(clerk(2), "rate", "bad_request", counter=2, ticket_id=tid("1001"), score=2, reason="cho-lau")
    h.refused(clerk(2), "rate", "bad_request", counter=2, ticket_id=tid("1001"), score=3, reason="giay-to")
    assert h.act(2, "rate", ticket_id=tid("1001"), score=2, reason="giay-to").events[0].data["reason"] == "giay-to"
    never = Hall(replace(ROOMY, rating_screen=RatingScreen(30, 0, ROOMY.rating_screen.reasons)))
    never.tickets(1)
    never.act(1), never.act(1, "finish")
    never.refused(PAGE, "rate-ticket", "bad_request", ticket_id=tid("1001"), score=1, reason="cho-lau")


def test_rate_ticket_the_citizens_own_page():
    h = Hall()
    h.tickets(4)
    assert h.refused(PAGE, "rate-ticket", "not_rateable", ticket_id=tid("1001"), score=3).message == NOT_YET
    h.refused(PAGE, "rate-ticket", "unknown_ticket", ticket_id=tid("1999"), score=3)
    h.do(CLERK7, "hold", counter=1)
    h.do(CLERK7, "call-next", counter=1)
    h.refused(PAGE, "rate-ticket", "not_rateable", ticket_id=tid("1001"), score=3)    # called
    h.do(CLERK7, "serve", counter=1)
    h.refused(PAGE, "rate-ticket", "not_rateable", ticket_id=tid("1001"), score=3)    # served (the pad may)
    h.do(CLERK7, "finish", counter=1)
    out = h.do(PAGE, "rate-ticket", ticket_id=tid("1001"), score=3)
    assert out.data == Rated(tid("1001"), 3)
    assert out.events == [Event("rated", h.now, "ticket-page", tid("1001"), "ho-tich", 1,
                                {"score": 3, "reason": None, "clerk": 7}, None)]
    assert h.t("1001").rating == 3
    h.refused(PAGE, "rate-ticket", "already_rated", ticket_id=tid("1001"), score=1)   # once only
    h.refused(clerk(1), "rate", "already_rated", counter=1, ticket_id=tid("1001"), score=1)

    h.act(1), h.act(1, "finish")                                    # 1002: the pad rates first
    h.act(1, "rate", ticket_id=tid("1002"), score=2)
    h.refused(PAGE, "rate-ticket", "already_rated", ticket_id=tid("1002"), score=3)
    h.act(1), h.act(1, "skip")                                      # 1003: never served
    h.refused(PAGE, "rate-ticket", "not_rateable", ticket_id=tid("1003"), score=3)
    h.act(1), h.act(1, "finish")
    h.refused(PAGE, "rate-ticket", "bad_request", ticket_id=tid("1004"), score=4)     # 3 levels


# --- to_rate: what the counter pad asks about -------------------------------------------------

def rows(h: Hall) -> dict[int, tuple]:
    return {r.id: (r.to_rate, r.to_rate_id, r.to_rate_at) for r in h.engine.board(h.now, 1).counters}


def test_to_rate_is_the_last_ticket_finished_until_it_is_rated():
    h = Hall()
    h.tickets(7)
    assert rows(h) == {n: (None, None, None) for n in (1, 2, 3, 4)}
    h.act(1), h.act(1, "serve")
    assert h.engine.to_rate(1) is None                                   # served, not yet finished
    h.now += 300
    h.act(1, "finish")
    finished = h.now
    assert h.engine.to_rate(1) is h.t("1001") and rows(h)[1] == ("1001", tid("1001"), finished)
    h.now += 60
    h.act(1), h.act(1, "skip")                                           # 1002 did not come
    h.act(1), h.act(1, "transfer", to_counter=3)                         # 1003 sent on
    assert rows(h)[1] == ("1001", tid("1001"), finished)                 # neither changes it
    h.act(1, "rate", ticket_id=tid("1001"), score=3)
    assert h.engine.to_rate(1) is None and rows(h)[1] == (None, None, None)

    h.act(2), h.act(2, "skip")                                           # a counter that finished nothing
    h.act(2), h.act(2, "transfer", service="dat-dai")
    assert rows(h)[2] == (None, None, None)
    h.act(2)
    h.now += 60
    h.act(2)                                                             # call-next finishes 1006, calls 1007
    assert rows(h)[2] == ("1006", tid("1006"), h.now)
    h.do(PAGE, "rate-ticket", ticket_id=tid("1006"), score=1)            # the page's rating clears it too
    assert rows(h)[2] == (None, None, None)


def test_rollover_lets_go_of_holds_and_of_to_rate():
    h = Hall()
    h.tickets(1)
    h.do(CLERK7, "hold", counter=1)
    h.do(Device("staff-8", "counter", 2, staff=8), "hold", counter=2)
    h.do(CLERK7, "call-next", counter=1), h.do(CLERK7, "finish", counter=1)
    assert h.engine.to_rate(1) is not None
    h.now = at(day=26)
    out = h.engine.rollover(h.now)
    assert {n: c.staff for n, c in out.counters.items()} == {1: None, 2: None, 3: None, 4: None}  # stored
    assert h.engine.to_rate(1) is None and h.engine.finished_here == {}
    h.ticket()
    h.refused(CLERK7, "call-next", "counter_not_held", counter=1)        # a session lasts the day
    assert h.do(CLERK8, "hold", counter=1).data == CounterHeld(1, 8, None)


# --- the ledger keeps it all -------------------------------------------------------------

def load(led: Ledger, now: float) -> Engine:
    """An engine as the hall service loads one after a restart (broker.service._load_engine)."""
    engine = Engine(ROOMY, now)
    engine.restore(led.day_reached(), lambda day: Saved(led.tickets(day), led.counters(), led.meta("call_seq"),
                                                        led.recent_calls(day), led.service_samples()))
    return engine


class Stored(Hall):
    """A Hall whose every outcome also goes through a real Ledger, one batch each (one service day here)."""
    led: Ledger

    def do(self, device, action, **args):
        out = super().do(device, action, **args)
        self.led.store([out], [], {"call_seq": self.engine.call_seq, "day": self.led.day_number(self.engine.day)},
                       self.engine.day)
        self.now += 7.25     # every finish at its own time, as on a real clock
        return out


def test_holds_ratings_and_to_rate_survive_a_restart(tmp_path):
    h = Stored()
    led = h.led = Ledger(tmp_path / "hall.db")
    h.tickets(4)
    h.do(CLERK7, "hold", counter=1)
    h.do(CLERK7, "call-ticket", counter=1, ticket="1002")    # out of turn: finished before 1001 …
    h.do(CLERK7, "finish", counter=1)
    h.do(CLERK7, "call-ticket", counter=1, ticket="1001")
    h.do(CLERK7, "finish", counter=1)                         # … so 1001, issued first, is the last finished
    h.act(2), h.act(2, "finish")                              # 1003 at counter 2, then 1004, rated by its page
    h.act(2), h.act(2, "finish")
    h.do(PAGE, "rate-ticket", ticket_id=tid("1004"), score=1, reason="cho-lau")
    before = h.engine
    assert before.to_rate(1) is h.t("1001") and before.to_rate(2) is None
    led.close()

    led = Ledger(tmp_path / "hall.db")
    after = load(led, h.now)
    assert after.finished_here == before.finished_here == {1: tid("1001"), 2: tid("1004")}
    assert after.board(h.now, 9).counters == before.board(h.now, 9).counters
    assert after.board(h.now, 9).counters[0].to_rate == "1001"
    assert after.tickets == before.tickets                    # ratings and clerks (Ticket.staff) kept
    assert (after.tickets[tid("1001")].staff, after.tickets[tid("1003")].staff) == (7, None)
    assert after.counters == before.counters and after.counters[1].staff == 7
    with pytest.raises(ProtocolError) as err:                 # the hold survived the restart
        after.handle(CLERK8, Request("x1", "call-next", {"counter": 1}), h.now)
    assert err.value.code == "counter_held"
    logged = led.conn.execute("SELECT kind, device, staff, data FROM events WHERE kind IN ('held', 'rated')"
                              ).fetchall()
    assert [(k, d, s, json.loads(x) if x else None) for k, d, s, x in logged] == [
        ("held", "staff-7", 7, None),
        ("rated", "ticket-page", None, {"score": 1, "reason": "cho-lau", "clerk": None})]
    led.close()


def test_a_ledger_of_the_first_migration_gains_the_staff_columns(tmp_path):
    path = tmp_path / "hall.db"
    conn = store.connect(path)
    assert store.migrate(conn, MIGRATIONS[:1]) == 1
    with store.transaction(conn):
        conn.execute("INSERT INTO tickets (id, day, service, number, label, priority, issued_at, seq, device, "
                     "line, state, counter, called_at, finished_at, calls) VALUES ('20261125-1001', "
                     "'2026-11-25', 'ho-tich', 1001, '1001', NULL, ?, 1, 'kiosk-1', 'ho-tich', 'finished', 1, "
                     "?, ?, 1)", (at(), at() + 60, at() + 600))
        conn.execute("INSERT INTO counters VALUES (1, 0, NULL, 1)")
        conn.execute("INSERT INTO events (at, day, kind, ticket, service, counter, device, data) "
                     "VALUES (?, '2026-11-25', 'finished', '20261125-1001', 'ho-tich', 1, 'counter-1', NULL)",
                     (at() + 600,))
        conn.execute("INSERT INTO meta VALUES ('day', 20261125)")
    conn.close()

    led = Ledger(path)
    assert store.version(led.conn) == len(MIGRATIONS)
    for table in ("events", "tickets", "counters"):
        assert "staff" in [row[1] for row in led.conn.execute(f"PRAGMA table_info({table})")], table
    old = Ticket(tid("1001"), "2026-11-25", "ho-tich", 1001, "1001", None, at(), 1, "kiosk-1", "ho-tich",
                 state="finished", counter=1, called_at=at() + 60, finished_at=at() + 600, calls=1)
    assert led.tickets("2026-11-25") == [old]                  # rows kept, staff NULL
    assert led.counters() == [CounterState(1, False, None, 1, None)]
    assert led.conn.execute("SELECT kind, device, staff FROM events").fetchall() == [
        ("finished", "counter-1", None)]
    engine = load(led, at(hour=10))
    assert engine.to_rate(1) == old                            # the old ticket is the pad's to ask about
    out = engine.handle(CLERK7, Request("w1", "hold", {"counter": 1}), at(hour=10))
    led.store([out], [], {}, engine.day)
    assert led.counters() == [CounterState(1, False, None, 1, 7)]
    assert led.conn.execute("SELECT kind, staff FROM events ORDER BY id").fetchall() == [
        ("finished", None), ("held", 7)]
    led.close()


# --- the live rule and the restart's rule agree -----------------------------------------------

class ToRateMachine(RuleBasedStateMachine):
    """Whatever the counters do, to_rate is the last ticket finished there while it is unrated, and
    it is what a restart would compute from the tickets alone (broker.ratings.finished_here)."""

    def __init__(self):
        super().__init__()
        self.h = Hall()
        self.last: dict[int, str] = {}          # counter → the ticket its last `finished` event names

    @rule(n=st.sampled_from([1, 2]), number=st.integers(1001, 1008), score=st.integers(1, 3),
          action=st.sampled_from(["take-ticket", "call-next", "serve", "finish", "skip", "transfer", "rate",
                                  "rate-ticket"]))
    def step(self, n, number, score, action):
        rating = {"ticket_id": tid(str(number)), "score": score}
        args = {"take-ticket": {"service": "ho-tich"}, "transfer": {"counter": n, "to_counter": 3 - n},
                "rate": {"counter": n, **rating}, "rate-ticket": rating}.get(action, {"counter": n})
        self.h.now += 13.5                      # every finish at its own time, as on a real clock
        try:
            out = self.h.do({"take-ticket": KIOSK, "rate-ticket": PAGE}.get(action, clerk(n)), action, **args)
        except ProtocolError:
            return
        self.last.update({e.counter: e.ticket for e in out.events if e.kind == "finished"})

    @invariant()
    def to_rate_is_the_last_finished_unrated(self):
        engine = self.h.engine
        for n in (1, 2):
            last = engine.tickets.get(self.last.get(n, ""))
            assert engine.to_rate(n) is (last if last is not None and last.rating is None else None)
        assert ratings.finished_here(engine.tickets.values()) == engine.finished_here


ToRateMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestToRate = ToRateMachine.TestCase


def test_a_restart_across_the_reset_hour_lets_go_of_holds_and_pauses(tmp_path):
    """The service down overnight: the next morning no counter is held or paused (as rollover does)."""
    from broker.service import HallService
    from hall.config import load_hall
    from tests.conftest import EXAMPLE

    cfg = load_hall(EXAMPLE)
    led = Ledger(tmp_path / "hall.db")
    clock = [at(day=25, hour=9)]
    engine = Engine(cfg, clock[0])
    clerk = Device("clerk:7", "counter", 1, staff=7)
    outs = [engine.handle(clerk, Request("h", "hold", {"counter": 1}), clock[0]),
            engine.handle(clerk, Request("p", "pause", {"counter": 1}), clock[0])]
    led.store(outs, [], {"call_seq": 0, "day": 20261125}, engine.day)
    assert [(c.id, c.staff, c.paused) for c in led.counters()] == [(1, 7, True)]
    clock[0] = at(day=26, hour=9)
    service = HallService(cfg, led, "127.0.0.1", 1, "x", clock=lambda: clock[0])   # never started: no broker
    assert service.engine.day == "2026-11-26"
    assert all(c.staff is None and not c.paused for c in service.engine.counters.values())
    assert {(c.staff, c.paused) for c in led.counters()} == {(None, False)}
    led.close()
