"""The time of day on a device's screen only once its clock is right (hall/clock.py).

    gate = ClockGate()                       # the real check; ClockGate(lambda: False) in a test
    ids.clock.text, ids.date.text = gate.hide(clock_text(model, now))

A Pi has no real-time clock: until NTP has set it, it says the time it last saved, or 1970, and a
citizen would read a wrong time and date on the kiosk or the wall. So both stay blank until the
clock is synchronised. The check is asked again every `every_s`, so the time appears within
seconds of the sync (and goes away should the kernel mark the clock unsynchronised again).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hall.clock import clock_synchronised

HIDDEN = ("", "")        # what the clock and the date say until the clock is right: nothing
CHECK_EVERY_S = 10.0


class ClockGate:
    def __init__(self, synchronised: Callable[[], bool] = clock_synchronised, every_s: float = CHECK_EVERY_S):
        self.synchronised = synchronised
        self.every_s = every_s
        self._ok = False
        self._next = 0.0       # time.monotonic() of the next check

    def ok(self) -> bool:
        """Whether the clock was synchronised at the latest check (asked again every `every_s`)."""
        now = time.monotonic()
        if now >= self._next:
            self._ok = bool(self.synchronised())
            self._next = now + self.every_s
        return self._ok

    def hide(self, texts: tuple[str, str]) -> tuple[str, str]:
        """`texts` (the time, the date) when the clock is right; HIDDEN until then."""
        return texts if self.ok() else HIDDEN
