"""The queue rules: pure, no I/O, no clock reads (every `now` is passed in, epoch seconds).

    hall = Engine(cfg, now)
    out = hall.handle(Device("kiosk-1", "kiosk"), Request("r1", "take-ticket", {"service": "ho-tich"}), now)
    out.data.ticket      # '1001' (a hall.payloads.TicketIssued); out.events / out.tickets are what the ledger stores
    hall.board(now, seq)  # the `board` message (hall.payloads.Board; broker.board reads it off the engine)

Every method either raises ProtocolError having changed nothing, or returns
an Outcome describing all it changed.

Long because: every action's rule reads best beside the others it shares state with; the helpers
that stand alone are out already (broker.lines, broker.waits, broker.board, broker.call_by_number,
broker.ratings, broker.web_actions).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta

from broker import call_by_number, ratings, waits, web_actions
from broker.board import board_of
from broker.lines import Lines
from broker.model import (
    CALLED,
    EXPIRED,
    FINISHED,
    NO_SHOW,
    OPEN_STATES,
    SERVING,
    WAITING,
    CounterState,
    Device,
    Event,
    Outcome,
    Saved,
    Ticket,
)
from broker.page_code import page_code
from hall.config import HallConfig, Service
from hall.protocol import (
    ACTIONS,
    Board,
    Call,
    CounterPaused,
    ProtocolError,
    Request,
    TicketIssued,
    TicketState,
)

RECENT_CALLS = 10


class Engine:
    def __init__(self, cfg: HallConfig, now: float, page_key: bytes = b""):
        self.cfg = cfg
        self.page_key = page_key   # the ticket pages' HMAC key (broker.page_code); b"": no page codes
        self.day = self.service_day(now)   # restore() may move it forward, never back
        self.tickets: dict[str, Ticket] = {}
        self.lines = Lines()
        self.counters = {c.id: CounterState(c.id) for c in cfg.counters}
        self.last_number: dict[str, int] = {}
        self.issued = 0
        self.call_seq = 0
        self.calls: deque[Call] = deque(maxlen=RECENT_CALLS)
        self.samples: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=waits.SAMPLES))
        self._recent_by_kiosk: dict[str, deque[float]] = defaultdict(deque)
        self._counter_lines = {c.id: [*cfg.services_of(c.id), f"@{c.id}"] for c in cfg.counters}
        self.finished_here: dict[int, str] = {}   # counter → the last ticket it finished (to_rate)

    # --- restoring from the ledger ------------------------------------------

    def restore(self, last_day: str, saved: Callable[[str], Saved]) -> None:
        """After a restart: settle the service day, then load that day's state as the ledger holds it.

        `last_day` is the furthest service day the hall has reached (ISO date, from the ledger);
        `saved(day)` reads what the ledger holds of the day settled on."""
        # The day only moves forward, across restarts too: a clock set back at boot (a Pi has no
        # RTC) must not reopen a day whose numbers were already issued, ticket or not.
        self.day = max(self.day, last_day)
        state = saved(self.day)
        tickets, counters, calls, samples = state.tickets, state.counters, state.calls, state.samples
        call_seq = state.call_seq
        for t in tickets:
            if t.day != self.day:
                continue
            self.tickets[t.id] = t
            self.issued = max(self.issued, t.seq)
            self.last_number[t.service] = max(self.last_number.get(t.service, 0), t.number)
            if t.state == WAITING:
                self.lines.add(t)
        self.finished_here = ratings.finished_here(self.tickets.values())
        # A new day at a restart (the service was down across the reset hour) starts as rollover()
        # would: every counter unpaused and held by nobody; the caller stores them.
        for c in counters if self.day == last_day else ():
            if c.id in self.counters:
                self.counters[c.id] = c
        self.call_seq = call_seq
        self.calls.extend(calls[-RECENT_CALLS:])
        for service, values in samples.items():
            self.samples[service].extend(values[-waits.SAMPLES:])

    def expire(self, stale: list[Ticket], now: float) -> Outcome:
        """Close tickets left open on earlier days (the service was down across the reset hour)."""
        out = Outcome()
        for t in stale:
            self._expire(t, now, out)
        for c in self.counters.values():
            if c.current is not None and c.current not in self.tickets:
                c.current = None
                out.counters[c.id] = c
        return out

    @staticmethod
    def _expire(t: Ticket, now: float, out: Outcome) -> None:
        t.state = EXPIRED
        out.touch(t)
        out.events.append(Event("expired", now, "hall", t.id, t.line, t.counter, {"day": t.day}))

    # --- time -----------------------------------------------------------------

    def local(self, now: float) -> datetime:
        return datetime.fromtimestamp(now, self.cfg.zone)

    def service_day(self, now: float) -> str:
        """The day numbers belong to: before the reset hour it is still yesterday."""
        return (self.local(now) - timedelta(hours=self.cfg.hours.reset_hour)).date().isoformat()

    def is_open(self, now: float) -> bool:
        return self.cfg.hours.is_open(self.local(now))

    def rollover(self, now: float) -> Outcome:
        """Start a new service day if one has begun: numbers restart, open tickets expire."""
        out = Outcome()
        day = self.service_day(now)
        # ISO dates compare as text. A clock set back (no RTC, a bad NTP answer) must never
        # return to an earlier day and issue its numbers again.
        if day <= self.day:
            return out
        for t in self.tickets.values():
            if t.state in OPEN_STATES:
                self._expire(t, now, out)
        for c in self.counters.values():
            c.current, c.paused, c.ordinary_run = None, False, 0
            out.counters[c.id] = c
        web_actions.let_go_of(list(self.counters.values()))   # a clerk's session lasts the day
        self.finished_here.clear()
        self.day = day
        self.tickets.clear()
        self.lines = Lines()
        self.last_number.clear()
        self.issued = 0
        self.calls.clear()
        return out

    # --- the one entry point ---------------------------------------------------

    def handle(self, device: Device, req: Request, now: float) -> Outcome:
        """Check authority, then apply one request. Raises ProtocolError, changing nothing."""
        spec = ACTIONS.get(req.action) or web_actions.actions_for(device).get(req.action)
        if spec is None:
            raise ProtocolError("unknown_action", req.action)
        if device.role != spec.role:
            raise ProtocolError("forbidden", f"{device.role} may not {req.action}")
        if self.service_day(now) > self.day:
            # The caller rolls the day over first and stores that on its own, so a
            # refused request can never hide the expiry of yesterday's tickets.
            raise RuntimeError("service day changed: call rollover() before handle()")
        if spec.role == "counter":
            counter = req.args["counter"]
            if counter not in self.counters:
                raise ProtocolError("unknown_counter", str(counter))
            if device.counter != counter:
                raise ProtocolError("wrong_counter", f"device is for counter {device.counter}")
            web_actions.check_holder(self.counters[counter], device, req.action)
        method = getattr(self, req.action.replace("-", "_"))
        return method(device, now, **req.args)

    # --- kiosk ----------------------------------------------------------------

    def take_ticket(self, device: Device, now: float, service: str, priority: str | None = None) -> Outcome:
        svc = self.cfg.service(service)
        if svc is None:
            raise ProtocolError("unknown_service", service)
        if priority is not None and priority not in {c.id for c in self.cfg.priority.categories}:
            raise ProtocolError("unknown_priority", priority)
        if not self.is_open(now):
            if self.local(now).date() in self.cfg.hours.closed_dates:
                raise ProtocolError("hall_closed", "closed date", "Hôm nay là ngày nghỉ, Bộ phận Một cửa "
                                    f"không làm việc. Giờ làm việc: {self.cfg.hours.describe()}.")
            raise ProtocolError("hall_closed", message="Bộ phận Một cửa đang ngoài giờ làm việc. "
                                f"Giờ làm việc: {self.cfg.hours.describe()}.")
        # Count without pruning: a refusal below must leave the engine exactly as it was.
        if sum(1 for t in self._recent_by_kiosk.get(device.id, ()) if t > now - 60) \
                >= self.cfg.kiosk_tickets_per_minute:
            raise ProtocolError("rate_limited", device.id)
        number = max(self.last_number.get(service, svc.first - 1) + 1, svc.first)
        if number > svc.last:
            raise ProtocolError("numbers_exhausted", service)
        ahead = self.ahead_of_priority(service) if priority else self.lines.waiting(service)
        recent = self._recent_by_kiosk[device.id]
        while recent and recent[0] <= now - 60:
            recent.popleft()
        recent.append(now)
        self.last_number[service] = number
        self.issued += 1
        label = svc.label(number)
        t = Ticket(f"{self.day.replace('-', '')}-{label}", self.day, service, number, label, priority,
                   now, self.issued, device.id, service)
        self.tickets[t.id] = t
        self.lines.add(t)
        out = Outcome()
        out.touch(t)
        out.events.append(Event("issued", now, device.id, t.id, service, None,
                                {"number": number, "priority": priority}))
        out.data = TicketIssued(label, t.id, service, priority, tuple(svc.counters), ahead,
                                self.estimate_minutes(service, ahead), now, self.day, page_code(t.id, self.page_key))
        return out

    def ahead_of_priority(self, service: str) -> int:
        """Who is really ahead of a priority ticket taken now: under `strict` the priority tickets
        waiting, under `interleave` the ordinary ones the counters call before it too (broker.waits)."""
        prio = self.lines.waiting_priority(service)
        ordinary = self.lines.waiting(service) - prio
        if self.cfg.priority.policy == "strict":
            return prio
        runs = [self.counters[c].ordinary_run for c in self._known_service(service).counters
                if c in self.counters and not self.counters[c].paused]
        return waits.priority_ahead(prio, ordinary, runs, self.cfg.priority.every)

    # --- counters -------------------------------------------------------------

    def _current(self, counter: int) -> Ticket:
        cur = self.counters[counter].current
        if cur is None:
            raise ProtocolError("no_current_ticket", f"counter {counter}")
        return self.tickets[cur]

    def _close_current(self, counter: int, device: Device, now: float, out: Outcome, state: str) -> None:
        c = self.counters[counter]
        assert c.current is not None, "closing a counter's ticket it does not have"
        t = self.tickets[c.current]
        if state == FINISHED:
            start = t.serving_at or t.called_at
            assert start is not None, "a ticket at a counter has been called"
            self.samples[t.line].append(now - start)
            self.finished_here[counter] = t.id
        t.state, t.finished_at = state, now
        c.current = None
        out.touch(t)
        out.counters[counter] = c
        out.events.append(Event(state, now, device.id, t.id, t.line, counter, staff=device.staff))

    def _call(self, t: Ticket, counter: int, device: Device, now: float, out: Outcome, recall: bool,
              by_number: bool = False) -> None:
        self.call_seq += 1
        t.calls += 1
        t.staff = device.staff   # the clerk who called last is the one a rating is about
        if not recall:   # service time runs from the first call, not from a recall
            t.called_at = now
        call = Call(self.call_seq, t.label, t.id, counter, t.line, recall, now, t.priority)
        self.calls.append(call)
        out.calls.append(call)
        out.touch(t)
        # A call out of turn (call-ticket) says so: the log tells the clerk's choice from the line's order.
        data = {"call_seq": self.call_seq, "by_number": True} if by_number else {"call_seq": self.call_seq}
        out.events.append(Event("recalled" if recall else "called", now, device.id, t.id, t.line, counter, data,
                                device.staff))

    def _call_up(self, t: Ticket, counter: int, device: Device, now: float, by_number: bool = False) -> Outcome:
        """Call `t` (out of its line already) to the counter: the clerk is done with the citizen it had."""
        c = self.counters[counter]
        out = Outcome()
        if c.current is not None:
            self._close_current(counter, device, now, out, FINISHED)
        t.state, t.counter, t.pinned, c.current = CALLED, counter, None, t.id
        out.counters[counter] = c
        self._call(t, counter, device, now, out, recall=False, by_number=by_number)
        out.data = self._ticket_data(t)
        return out

    def call_next(self, device: Device, now: float, counter: int) -> Outcome:
        c = self.counters[counter]
        if c.paused:
            raise ProtocolError("counter_paused", f"counter {counter}")
        ordinary, priority = self.lines.heads(self._counter_lines[counter])
        if ordinary is None and priority is None:
            raise ProtocolError("queue_empty", f"counter {counter}")
        take_priority = waits.calls_priority(ordinary, priority, self.cfg.priority.policy, c.ordinary_run,
                                             self.cfg.priority.every)
        head = priority if take_priority else ordinary
        assert head is not None   # one of them is there: the queue_empty refusal is above
        t = self.tickets[head[2]]
        self.lines.remove(t)
        c.ordinary_run = 0 if take_priority else c.ordinary_run + 1
        return self._call_up(t, counter, device, now)

    def call_ticket(self, device: Device, now: float, counter: int, ticket: str | None = None,
                    ticket_id: str | None = None) -> Outcome:
        """Call a ticket by its number, out of turn: one waiting here, or a no-show who came back."""
        t = call_by_number.ticket_to_call(self.day, self.tickets, self.counters[counter],
                                          self.cfg.services_of(counter), ticket, ticket_id)
        if t.state == WAITING:
            self.lines.remove(t)
        t.serving_at = t.finished_at = None   # a no-show called back is timed from this call
        return self._call_up(t, counter, device, now, by_number=True)

    def recall(self, device: Device, now: float, counter: int) -> Outcome:
        t = self._current(counter)
        out = Outcome()
        self._call(t, counter, device, now, out, recall=True)
        out.data = self._ticket_data(t)
        return out

    def serve(self, device: Device, now: float, counter: int) -> Outcome:
        t = self._current(counter)
        out = Outcome()
        if t.state == CALLED:
            t.state, t.serving_at = SERVING, now
            out.touch(t)
            out.events.append(Event("served", now, device.id, t.id, t.line, counter, staff=device.staff))
        out.data = self._ticket_data(t)
        return out

    def skip(self, device: Device, now: float, counter: int) -> Outcome:
        t = self._current(counter)
        out = Outcome()
        self._close_current(counter, device, now, out, NO_SHOW)
        out.data = self._ticket_data(t)
        return out

    def finish(self, device: Device, now: float, counter: int) -> Outcome:
        t = self._current(counter)
        out = Outcome()
        self._close_current(counter, device, now, out, FINISHED)
        out.data = self._ticket_data(t)
        return out

    def transfer(self, device: Device, now: float, counter: int, service: str | None = None,
                 to_counter: int | None = None) -> Outcome:
        if (service is None) == (to_counter is None):
            raise ProtocolError("bad_request", "give exactly one of 'service' or 'to_counter'")
        if service is not None and self.cfg.service(service) is None:
            raise ProtocolError("unknown_service", service)
        if to_counter is not None and to_counter not in self.counters:
            raise ProtocolError("unknown_counter", str(to_counter))
        if to_counter == counter:
            raise ProtocolError("bad_request", "'to_counter' is the sender's own counter",
                                "Phiếu đang ở chính quầy này. Hãy chọn quầy khác.")
        t = self._current(counter)
        c = self.counters[counter]
        out = Outcome()
        # Back in line with its number and original issue time, so it is not sent to the back.
        t.state, t.counter, c.current = WAITING, None, None
        t.called_at = t.serving_at = None
        t.line = service or t.line
        t.pinned = to_counter
        self.lines.add(t)
        out.touch(t)
        out.counters[counter] = c
        out.events.append(Event("transferred", now, device.id, t.id, t.line, counter,
                                {"service": service, "to_counter": to_counter}, device.staff))
        out.data = self._ticket_data(t)
        return out

    def pause(self, device: Device, now: float, counter: int) -> Outcome:
        return self._set_paused(device, now, counter, True)

    def resume(self, device: Device, now: float, counter: int) -> Outcome:
        return self._set_paused(device, now, counter, False)

    def _set_paused(self, device: Device, now: float, counter: int, paused: bool) -> Outcome:
        c = self.counters[counter]
        out = Outcome(data=CounterPaused(counter, paused))
        if c.paused != paused:
            c.paused = paused
            out.counters[counter] = c
            out.events.append(Event("paused" if paused else "resumed", now, device.id, counter=counter,
                                    staff=device.staff))
        return out

    def rate(self, device: Device, now: float, counter: int, score: int, ticket_id: str | None = None,
             ticket: str | None = None, reason: str | None = None) -> Outcome:
        """`ticket_id` names the ticket; `ticket` is its v1 name, still accepted (rules: broker.ratings)."""
        return ratings.rate(self.tickets, self.cfg, device, now, counter, score, ticket_id, ticket, reason)

    def rate_ticket(self, device: Device, now: float, ticket_id: str, score: int, reason: str | None = None) -> Outcome:
        """The ticket page's rating: the citizen's own ticket, once it is finished (broker.ratings)."""
        return ratings.rate_ticket(self.tickets, self.cfg, device, now, ticket_id, score, reason)

    def hold(self, device: Device, now: float, counter: int, take_over: bool = False) -> Outcome:
        return web_actions.hold(self.counters[counter], device, now, take_over)

    def release(self, device: Device, now: float, counter: int) -> Outcome:
        return web_actions.release(self.counters[counter], device, now)

    def to_rate(self, counter: int) -> Ticket | None:
        """The last ticket finished at `counter` today while it has no rating: the counter pad's to ask for."""
        return ratings.to_rate(self.tickets, self.finished_here.get(counter))

    # --- what the board and a new ticket show (broker.board, broker.waits) ---------

    def _ticket_data(self, t: Ticket) -> TicketState:
        return TicketState(t.label, t.id, t.line, t.state, t.priority, t.counter)

    def _known_service(self, service: str) -> Service:
        """A service of the hall: every id reaching here was checked against the config already."""
        svc = self.cfg.service(service)
        assert svc is not None, service
        return svc

    def service_minutes(self, service: str) -> float:
        return waits.minutes_each(self.samples.get(service), self._known_service(service).minutes)

    def estimate_minutes(self, service: str, ahead: int) -> int:
        """Minutes until a citizen with `ahead` people in front is called (see docs/queue.md)."""
        counters = self._known_service(service).counters
        working = sum(1 for n in counters if not self.counters[n].paused) or len(counters)
        return waits.wait_minutes(ahead, self.service_minutes(service), working)

    def board(self, now: float, seq: int) -> Board:
        """The `board` message numbered `seq`: counters, services and the recent calls, newest first."""
        return board_of(self, now, seq)
