"""Random sessions against the pure engine: the queue's invariants hold whatever clerks press."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from broker.engine import Engine
from broker.lines import Lines
from broker.model import Device
from hall.protocol import ProtocolError, Request
from tests.conftest import at
from tests.engine_hall import CFG, clerk, replay, snapshot

COUNTERS = st.sampled_from([c.id for c in CFG.counters])
# Refusals a random session may meet; any other code means a rule broke.
EXPECTED = {"take-ticket": {"rate_limited", "hall_closed"}, "call-next": {"queue_empty", "counter_paused"},
            "rate": {"not_rateable", "already_rated", "bad_request", "unknown_ticket"},
            # a transfer to the sender's own counter is refused (issue 8 item 18)
            "transfer": {"no_current_ticket", "bad_request"},
            # a random number: unknown, finished, held, of another service or day, or the counter paused
            "call-ticket": {"counter_paused", "unknown_ticket", "not_today", "ticket_closed", "ticket_at_counter",
                            "wrong_service"}}


class HallMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.now = at(hour=8)
        self.engine = Engine(CFG, self.now)
        self.log = []           # every event in order: what the ledger's event log holds
        self.seen = {}          # every ticket ever in an Outcome (rollover drops them from memory)
        self.waits = {}         # ticket id -> True while it waits for a call
        self.call_seq = 0

    def apply(self, out):
        self.log += out.events
        self.seen.update(out.tickets)
        for e in out.events:
            if e.kind in ("issued", "transferred", "no_show"):   # a no-show may be called back
                self.waits[e.ticket] = True
            elif e.kind == "called":
                assert self.waits.pop(e.ticket, False), f"{e.ticket} called twice for one wait"
        for call in out.calls:
            assert call.seq > self.call_seq
            self.call_seq = call.seq

    def request(self, device, action, **args):
        self.apply(self.engine.rollover(self.now))
        before = snapshot(self.engine)
        try:
            out = self.engine.handle(device, Request("r", action, args), self.now)
        except ProtocolError as err:
            assert err.code in EXPECTED.get(action, {"no_current_ticket"}), err
            assert snapshot(self.engine) == before
            return
        after = snapshot(self.engine)
        # The ledger stores only what the Outcome lists: every change must be in it.
        assert {i for i, t in after["tickets"].items() if before["tickets"].get(i) != t} <= set(out.tickets)
        assert {i for i, c in after["counters"].items() if before["counters"][i] != c} <= set(out.counters)
        self.apply(out)

    @rule(service=st.sampled_from([s.id for s in CFG.services]), kiosk=st.sampled_from(["kiosk-1", "kiosk-2"]),
          priority=st.sampled_from([None, None, None, "elderly", "merit"]))
    def take_ticket(self, service, kiosk, priority):
        self.request(Device(kiosk, "kiosk"), "take-ticket", service=service, priority=priority)

    @rule(n=COUNTERS, action=st.sampled_from(["call-next", "call-next", "recall", "skip", "finish", "serve",
                                              "pause", "resume"]))
    def counter_action(self, n, action):
        self.request(clerk(n), action, counter=n)

    @rule(n=COUNTERS, service=st.none() | st.sampled_from([s.id for s in CFG.services]), to=COUNTERS)
    def transfer(self, n, service, to):
        self.request(clerk(n), "transfer", counter=n, **({"service": service} if service else {"to_counter": to}))

    @rule(n=COUNTERS, pick=st.integers(0, 999), score=st.integers(0, 4))
    def rate(self, n, pick, score):
        ids = sorted(self.seen) or ["20261125-1001"]
        self.request(clerk(n), "rate", counter=n, ticket=ids[pick % len(ids)], score=score)

    @rule(n=COUNTERS, pick=st.integers(0, 999), by_id=st.booleans())
    def call_ticket(self, n, pick, by_id):
        ids = sorted(self.seen) or ["20261125-1001"]
        tid = ids[pick % len(ids)]
        self.request(clerk(n), "call-ticket", counter=n,
                     **({"ticket_id": tid} if by_id else {"ticket": tid.split("-", 1)[1]}))

    @rule(seconds=st.integers(0, 150))
    def wait(self, seconds):
        self.now += seconds

    @rule()
    def next_day(self):
        self.now += 24 * 3600
        self.apply(self.engine.rollover(self.now))

    @invariant()
    def counters_hold_distinct_called_tickets(self):
        current = {c.id: c.current for c in self.engine.counters.values() if c.current}
        assert len(set(current.values())) == len(current)
        assert all(self.engine.tickets[t].counter == n for n, t in current.items())
        held = {t.id for t in self.engine.tickets.values() if t.state in ("called", "serving")}
        assert held == set(current.values())

    @invariant()
    def every_waiting_ticket_is_in_exactly_one_line(self):
        places = {}
        for name, line in self.engine.lines._lines.items():
            for kind, keys in (("ordinary", line.ordinary), ("priority", line.priority)):
                assert keys == sorted(keys)
                for key in keys:
                    assert key[2] not in places, f"{key[2]} in two lines"
                    places[key[2]] = (name, kind, key)
        waiting = {t.id: t for t in self.engine.tickets.values() if t.state == "waiting"}
        assert all(t.counter is None for t in waiting.values())      # waiting means at no counter
        assert places == {i: (Lines.name(t), "priority" if t.priority else "ordinary", t.key())
                          for i, t in waiting.items()}

    @invariant()
    def numbers_are_unique_per_service_and_day(self):
        numbers = [(t.day, t.service, t.number) for t in self.seen.values()]
        assert len(numbers) == len(set(numbers))
        assert set(self.engine.tickets) <= set(self.seen)

    @invariant()
    def event_log_replays_to_ticket_states(self):
        assert replay(self.log) == {i: t.state for i, t in self.seen.items()}


TestHallMachine = HallMachine.TestCase
TestHallMachine.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
