"""What the board shows: the retained `board` message (hall.payloads.Board), read off the engine.

    board_of(engine, now, seq)        # what Engine.board(now, seq) returns

A read of the engine's state that changes nothing: the queue rules live in broker.engine, the
wait estimate in broker.waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hall.protocol import Board, CallRow, CounterRow, ServiceRow

if TYPE_CHECKING:
    from broker.engine import Engine


def board_of(engine: Engine, now: float, seq: int) -> Board:
    """The `board` message numbered `seq`: counters, services and the recent calls, newest first."""
    counters = []
    for c in engine.cfg.counters:
        st = engine.counters[c.id]
        t = engine.tickets.get(st.current) if st.current else None
        done = engine.to_rate(c.id)
        counters.append(CounterRow(c.id, c.name, st.paused, "paused" if st.paused else (t.state if t else "idle"),
                                   t.label if t else None, t.id if t else None, t.line if t else None,
                                   done.label if done else None, done.id if done else None,
                                   done.finished_at if done else None))
    services = []
    for s in engine.cfg.services:
        waiting = engine.lines.waiting(s.id)
        services.append(ServiceRow(s.id, waiting, engine.estimate_minutes(s.id, waiting),
                                   s.label(engine.last_number[s.id]) if s.id in engine.last_number else None))
    calls = tuple(CallRow.of(c) for c in reversed(engine.calls))
    # Milliseconds are plenty for ordering boards, and keep the retained payload short.
    return Board(seq, engine.day, round(now, 3), engine.is_open(now), tuple(counters), tuple(services), calls)
