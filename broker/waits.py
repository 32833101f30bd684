"""Who a counter calls first, and the wait a ticket, the kiosk and the board show (docs/queue.md).

    calls_priority(ordinary, priority, policy, run, every)   # the priority rule, at a call
    priority_ahead(prio, ordinary, runs, every)      # the same rule, played forward for a new priority ticket
    each = minutes_each(recent, svc.minutes)        # a citizen's minutes at the counter, for one service
    wait_minutes(ahead, each, working)               # people ahead × those minutes ÷ the counters working

The wait is an estimate, not a promise. Arithmetic only: broker.engine hands over what it knows
(the lines' heads, the counters' runs, the recent service times) and keeps the state. The rule and
its estimate live side by side so that one cannot change without the other.
"""

from __future__ import annotations

from collections.abc import Sequence

from broker.lines import Key

SAMPLES = 20        # recent service times kept per service for the wait estimate
MIN_SAMPLES = 3     # fewer than this: use the service's configured minutes


def minutes_each(recent: Sequence[float] | None, configured: float) -> float:
    """How long one citizen takes at a counter: the mean of the recent service times (seconds),
    once there are MIN_SAMPLES of them, else the service's configured minutes."""
    if recent and len(recent) >= MIN_SAMPLES:
        return sum(recent) / len(recent) / 60
    return float(configured)


def wait_minutes(ahead: int, each: float, working: int) -> int:
    """Minutes until a citizen with `ahead` people in front is called, `working` counters serving."""
    if ahead <= 0:
        return 0
    # Never "about 0 minutes" with people ahead: the ticket would promise too much.
    return max(1, round(ahead * each / working))


def calls_priority(ordinary: Key | None, priority: Key | None, policy: str, run: int, every: int) -> bool:
    """Whether a counter calls the oldest priority ticket (`priority`, None if none waits) rather than
    the oldest ordinary one. `run`: the ordinary calls the counter has made in a row. Interleave: a
    priority citizen never waits longer than an ordinary ticket of the same age would, and after
    `every` ordinary calls goes ahead of the line; strict: always first."""
    return priority is not None and (ordinary is None or policy == "strict" or run >= every or priority < ordinary)


def priority_ahead(prio: int, ordinary: int, runs: list[int], every: int) -> int:
    """Who is really ahead of a priority ticket taken now under `interleave`: the `prio` priority
    tickets already waiting and the ordinary ones called before it. Each counter of the service
    (`runs`: the ordinary calls each working counter has made in a row) calls a priority ticket once
    it has made `every` ordinary calls (the run it already has counts), the counters taking turns.
    Other services sharing the counters are not counted: it is an estimate, as for an ordinary ticket."""
    runs = sorted(runs, reverse=True) or [0]
    ahead = 0
    while True:   # each turn calls one ticket ahead, or reaches this one: at most prio + ordinary turns
        for i, run in enumerate(runs):
            if ordinary == 0 or run >= every:
                if prio == 0:
                    return ahead
                prio, runs[i] = prio - 1, 0
            else:
                ordinary, runs[i] = ordinary - 1, run + 1
            ahead += 1
