"""`call-ticket` (issue 10, "Gọi số…"): a clerk calls a given number — a waiting ticket out of turn, or
the citizen who was skipped as absent and came back. The rule pure first (broker/engine.py,
broker/call_by_number.py), then over a real hall server and Mosquitto: the reply, the `called`
message the wall display hears, refusals that change nothing, and a retried id that calls once.
"""

from __future__ import annotations

import pytest

from broker.server import HallServer
from hall.client import HallClient
from hall.protocol import ERRORS, Board, Call, ProtocolError, decode_request
from tests.conftest import at, read_db, wait_for
from tests.engine_hall import CFG, KIOSK, MINUTE, Hall, clerk, replay
from tests.test_service import Inbox

# --- the rule, pure --------------------------------------------------------------------------


def test_a_waiting_ticket_is_called_out_of_turn_and_the_current_one_finished():
    h = Hall()
    h.tickets(4)                                   # 1001 … 1004, ho-tich (counters 1 and 2)
    assert h.call(1) == "1001"
    run = h.engine.counters[1].ordinary_run
    out = h.act(1, "call-ticket", ticket="1004")
    assert out.data.to_dict() == {"ticket": "1004", "ticket_id": "20261125-1004", "service": "ho-tich",
                                  "state": "called", "priority": None, "counter": 1}
    # Like call-next: the clerk is done with 1001 first, then 1004 is called for the displays.
    assert [(e.kind, e.ticket) for e in out.events] == [("finished", "20261125-1001"), ("called", "20261125-1004")]
    assert out.events[1].data == {"call_seq": 2, "by_number": True}
    assert [(c.ticket, c.counter, c.recall) for c in out.calls] == [("1004", 1, False)]
    assert h.engine.counters[1].current == "20261125-1004"
    assert h.engine.counters[1].ordinary_run == run, "a chosen call is not a turn of the line"
    # Out of the line: the others keep their order, and 1004 is not called a second time.
    assert h.engine.lines.waiting("ho-tich") == 2
    assert [h.call(2), h.call(2)] == ["1002", "1003"]
    h.refused(clerk(2), "call-next", "queue_empty", counter=2)
    assert replay(h.events)["20261125-1004"] == "called"


def test_the_citizen_skipped_as_absent_comes_back():
    h = Hall()
    h.tickets(2)
    h.call(1)
    h.now += 2 * MINUTE
    assert h.act(1, "skip").data.state == "no_show"
    h.call(1)                                      # 1002 meanwhile
    h.now += 5 * MINUTE
    # Any counter of the service may call them back, by the printed number or by the ticket id.
    out = h.act(2, "call-ticket", ticket_id="20261125-1001")
    assert (out.data.state, out.data.counter, out.data.ticket) == ("called", 2, "1001")
    t = h.t("1001")
    assert (t.calls, t.called_at, t.finished_at, t.serving_at) == (2, h.now, None, None)
    assert out.calls[0].seq == 3 and not out.calls[0].recall
    h.now += 4 * MINUTE
    h.act(2, "finish")
    assert list(h.engine.samples["ho-tich"]) == [4 * MINUTE], "timed from the call back, not the first call"
    assert replay(h.events)["20261125-1001"] == "finished"
    # Both names given and agreeing is accepted too.
    h.act(1, "skip")
    assert h.act(1, "call-ticket", ticket="1002", ticket_id="20261125-1002").data.state == "called"


def test_a_ticket_sent_to_one_counter_is_that_counters_to_call():
    h = Hall()
    h.tickets(2)
    h.call(1)
    h.act(1, "transfer", to_counter=3)             # 1001 now waits for counter 3 alone (dat-dai's counter)
    h.refused(clerk(2), "call-ticket", "wrong_service", counter=2, ticket="1001")
    assert h.act(3, "call-ticket", ticket="1001").data.counter == 3
    h.act(3, "skip")
    # Skipped at counter 3, which does not serve ho-tich: counter 3 may still call them back.
    h.refused(clerk(4), "call-ticket", "wrong_service", counter=4, ticket="1001")
    assert h.act(3, "call-ticket", ticket="1001").data.state == "called"


def test_a_priority_ticket_called_by_number():
    h = Hall()
    h.ticket(), h.ticket(priority="elderly")
    out = h.act(1, "call-ticket", ticket="1002")
    assert (out.data.priority, out.calls[0].priority) == ("elderly", "elderly")
    assert h.engine.lines.waiting_priority("ho-tich") == 0 and h.call(2) == "1001"


def _busy() -> Hall:
    """Finished, skipped, called, waiting and transferred tickets on counters 1-4."""
    h = Hall(CFG)
    h.tickets(4), h.ticket("dat-dai")
    h.call(1), h.act(1, "finish")                  # 1001 finished at 1
    h.call(1)                                      # 1002 called at 1
    h.call(2), h.act(2, "skip")                    # 1003 no-show at 2
    return h                                       # 1004 and 3001 waiting


@pytest.mark.parametrize("n, args, code", [
    (1, {"ticket": "1099"}, "unknown_ticket"),
    (1, {"ticket_id": "nonsense"}, "unknown_ticket"),
    (1, {"ticket": "1001"}, "ticket_closed"),
    (1, {"ticket_id": "20261124-1004"}, "not_today"),
    (3, {"ticket": "1004"}, "wrong_service"),      # counter 3 serves dat-dai, not ho-tich
    (3, {"ticket": "1003"}, "wrong_service"),      # nor may it call back ho-tich's no-show of counter 2
    (2, {"ticket": "1002"}, "ticket_at_counter"),  # held by counter 1
    (1, {"ticket": "1002"}, "ticket_at_counter"),  # counter 1's own: that is a recall
    (1, {}, "bad_request"),
    (1, {"ticket": "1004", "ticket_id": "20261125-1003"}, "bad_request"),
    (1, {"ticket": "1004", "ticket_id": "1004"}, "bad_request"),
])
def test_refusals_change_nothing(n, args, code):
    h = _busy()
    err = h.refused(clerk(n), "call-ticket", code, counter=n, **args)
    assert err.message in (ERRORS[code][0], "Phiếu này đang ở chính quầy này. Bấm “Gọi lại” để gọi lại.")


def test_a_paused_counter_calls_no_one_and_yesterdays_number_is_not_todays():
    h = _busy()
    h.act(4, "pause")
    h.refused(clerk(4), "call-ticket", "counter_paused", counter=4, ticket="1004")
    h.now = at(day=26)
    h.events += h.engine.rollover(h.now).events    # the new day: yesterday's tickets expired
    assert h.ticket() == "1001"
    h.refused(clerk(1), "call-ticket", "not_today", counter=1, ticket_id="20261125-1004")
    h.refused(clerk(1), "call-ticket", "unknown_ticket", counter=1, ticket="1004")
    assert h.act(1, "call-ticket", ticket_id="20261126-1001").data.ticket_id == "20261126-1001"


def test_arguments_as_the_wire_gives_them():
    req = decode_request("call-ticket", b'{"v":1,"id":"t1","counter":1,"ticket":"1004"}')
    assert (req.action, req.args) == ("call-ticket", {"counter": 1, "ticket": "1004"})
    for bad in (b'{"v":1,"id":"t2","counter":1,"ticket":1004}', b'{"v":1,"id":"t3","ticket":"1004"}'):
        with pytest.raises(ProtocolError) as info:
            decode_request("call-ticket", bad)
        assert info.value.code == "bad_request" and info.value.rid is not None
    h = Hall()
    h.ticket()
    h.refused(KIOSK, "call-ticket", "forbidden", counter=1, ticket="1001")
    h.refused(clerk(2), "call-ticket", "wrong_counter", counter=1, ticket="1001")


# --- over a real hall server and Mosquitto -------------------------------------------------------


def _ledger(hall) -> tuple[list, list, list]:
    """Tickets (label, state, counter, calls), events (kind, label, counter) and counters, as stored."""
    db = read_db(hall)
    try:
        return (db.execute("SELECT label, state, counter, calls FROM tickets ORDER BY id").fetchall(),
                db.execute("SELECT e.kind, t.label, e.counter FROM events e LEFT JOIN tickets t ON t.id = e.ticket "
                           "ORDER BY e.id").fetchall(),
                db.execute("SELECT * FROM counters ORDER BY id").fetchall())
    finally:
        db.close()


def _calls(inbox: Inbox, topics) -> list[Call]:
    return [Call.from_payload(p) for p in inbox.on(topics.called)]


def test_call_ticket_over_mqtt_reaches_the_wall_display(hall, connect):
    heard = Inbox()
    display = connect("display-1", "display", subscribe=["called", "board"], on_message=heard)
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-1", "counter", 1)
    for _ in range(3):
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]
    reply = counter.ask("call-ticket", {"counter": 1, "ticket": "1003"})
    assert reply.ok and reply.data.to_dict() == {"ticket": "1003", "ticket_id": "20261125-1003",
                                                 "service": "ho-tich", "state": "called", "priority": None,
                                                 "counter": 1}
    call = wait_for(lambda: _calls(heard, display.topics))[0]
    assert (call.ticket, call.counter, call.recall, call.service) == ("1003", 1, False, "ho-tich")
    board = wait_for(lambda: [b for b in map(Board.from_payload, heard.on(display.topics.board))
                              if b.counter(1).ticket == "1003"])[-1]
    assert board.service("ho-tich").waiting == 2 and board.calls[0].ticket == "1003"
    # The skipped citizen comes back: skip, then call them again by the ticket id.
    assert counter.request("skip", {"counter": 1})["data"]["state"] == "no_show"
    again = counter.request("call-ticket", {"counter": 1, "ticket_id": "20261125-1003"})
    assert again["ok"] and again["data"]["state"] == "called"
    calls = wait_for(lambda: _calls(heard, display.topics)[1:])
    assert [(c.seq, c.ticket, c.recall) for c in _calls(heard, display.topics)] == [(1, "1003", False),
                                                                                  (2, "1003", False)]
    assert calls[0].seq == 2
    tickets, events, _ = _ledger(hall)
    assert [(kind, n) for kind, label, n in events if label == "1003"] == [
        ("issued", None), ("called", 1), ("no_show", 1), ("called", 1)]
    assert ("1003", "called", 1, 2) in tickets


def test_refused_call_ticket_changes_nothing_in_the_ledger(hall, connect):
    heard = Inbox()
    display = connect("display-1", "display", subscribe=["called"], on_message=heard)
    kiosk = connect("kiosk-1", "kiosk")
    one, two, three = (connect(f"counter-{n}", "counter", n) for n in (1, 2, 3))
    for service in ("ho-tich", "ho-tich", "ho-tich", "dat-dai"):
        assert kiosk.request("take-ticket", {"service": service})["ok"]
    assert one.request("call-next", {"counter": 1})["data"]["ticket"] == "1001"
    assert one.request("finish", {"counter": 1})["ok"]
    assert one.request("call-next", {"counter": 1})["data"]["ticket"] == "1002"
    wait_for(lambda: len(_calls(heard, display.topics)) == 2)
    before = _ledger(hall)
    refusals = [
        (two, {"counter": 2, "ticket": "1099"}, "unknown_ticket"),
        (two, {"counter": 2, "ticket": "1001"}, "ticket_closed"),
        (two, {"counter": 2, "ticket_id": "20200101-1003"}, "not_today"),
        (three, {"counter": 3, "ticket": "1003"}, "wrong_service"),
        (two, {"counter": 2, "ticket": "1002"}, "ticket_at_counter"),
    ]
    for client, args, code in refusals:
        reply = client.request("call-ticket", args)
        assert not reply["ok"] and reply["error"] == {"code": code, "message": ERRORS[code][0]}, (args, reply)
    assert _ledger(hall) == before, "a refused call-ticket changed the ledger"
    # A positive signal before the negative check: the next real call is heard, and it is the only new one.
    assert two.request("call-ticket", {"counter": 2, "ticket": "1003"})["ok"]
    wait_for(lambda: len(_calls(heard, display.topics)) == 3)
    assert [(c.ticket, c.counter) for c in _calls(heard, display.topics)] == [("1001", 1), ("1002", 1), ("1003", 2)]


def test_a_retried_call_ticket_gets_the_stored_reply_and_calls_once(hall, connect):
    heard = Inbox()
    display = connect("display-1", "display", subscribe=["called"], on_message=heard)
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-1", "counter", 1)
    for _ in range(3):
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]
    first = counter.request("call-ticket", {"counter": 1, "ticket": "1002"}, rid="tap-7")
    again = counter.request("call-ticket", {"counter": 1, "ticket": "1002"}, rid="tap-7")
    # Even with other arguments the id is what counts: the stored reply, and nothing runs.
    other = counter.request("call-ticket", {"counter": 1, "ticket": "1003"}, rid="tap-7")
    assert first["ok"] and first == again == other
    # A recall is a positive signal that every earlier call has been published.
    assert counter.request("recall", {"counter": 1})["ok"]
    calls = wait_for(lambda: [c for c in _calls(heard, display.topics) if c.recall] and _calls(heard, display.topics))
    assert [(c.ticket, c.recall) for c in calls] == [("1002", False), ("1002", True)]
    tickets, events, _ = _ledger(hall)
    assert [e for e in events if e[0] == "called"] == [("called", "1002", 1)]
    assert [t[:2] for t in tickets] == [("1001", "waiting"), ("1002", "called"), ("1003", "waiting")]
    db = read_db(hall)
    stored = db.execute("SELECT action FROM requests WHERE device = 'counter-1' AND id = 'tap-7'").fetchall()
    db.close()
    assert stored == [("call-ticket",)]


def test_a_called_back_ticket_survives_a_restart(hall_cfg, clock, tmp_path):
    server = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    kiosk_dev, pad_dev = server.add_device("kiosk-1", "kiosk"), server.add_device("counter-1", "counter", 1)
    kiosk, pad = HallClient(kiosk_dev).start(wait=5), HallClient(pad_dev).start(wait=5)
    try:
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]
        assert pad.request("call-next", {"counter": 1})["ok"] and pad.request("skip", {"counter": 1})["ok"]
        assert pad.request("call-ticket", {"counter": 1, "ticket": "1001"})["data"]["state"] == "called"
    finally:
        kiosk.stop(), pad.stop()
        server.stop()
    again = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    heard = Inbox()
    pad = HallClient(pad_dev, subscribe=["board"], on_message=heard).start(wait=5)
    try:
        board = wait_for(lambda: [Board.from_payload(p) for p in heard.on(pad.topics.board)])[-1]
        assert (board.counter(1).ticket, board.counter(1).state) == ("1001", "called")
        # The counter still holds it: finishing it is the restored ticket's, timed from the call back.
        done = pad.request("finish", {"counter": 1})
        assert (done["data"]["ticket"], done["data"]["state"]) == ("1001", "finished")
    finally:
        pad.stop()
        again.stop()
