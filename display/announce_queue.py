"""The calls waiting to be spoken, in the order they came; none is ever dropped.

    q = AnnouncementQueue(quiet=lambda now: False)
    q.put(Announcement(seq, "1023", 2, False, now), now)     # UI thread
    a = q.take(now)     # announcer thread: the next call to say, or None
    q.wait()            # announcer thread: block until a call waits (False once closed)

The queue only orders; the announcer decides how to say what waits (one chime per burst,
several calls in one sentence: display/announcer.py), which is how the wait stays short
without dropping anyone from the sound (issue 8, item 12). Thread-safe; time is passed in.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("motcua.display")

# How many silenced calls are remembered (for the tests and a look in a debugger): a display
# runs for months, so nothing it keeps may grow with the number of calls.
HISTORY = 200


@dataclass(frozen=True)
class Announcement:
    seq: int
    ticket: str
    counter: int
    recall: bool
    received: float     # when the display heard the call (epoch seconds)


class AnnouncementQueue:
    def __init__(self, quiet: Callable[[float], bool]):
        self.quiet = quiet
        self.waiting: deque[Announcement] = deque()
        self.silenced: deque[Announcement] = deque(maxlen=HISTORY)    # arrived or came up in quiet hours
        self._cond = threading.Condition()
        self._closed = False

    def put(self, a: Announcement, now: float) -> bool:
        """Queue a call for speaking; False when quiet hours or a waiting copy make it unneeded."""
        with self._cond:
            if self.quiet(now):
                log.info("quiet hours: call %d (ticket %s) shown, not announced", a.seq, a.ticket)
                self.silenced.append(a)
                return False
            for i, w in enumerate(self.waiting):
                if w.ticket == a.ticket and w.counter == a.counter:
                    # Recalled before it was even spoken: one announcement, where the first one stood.
                    self.waiting[i] = a
                    return False
            self.waiting.append(a)
            self._cond.notify_all()
            return True

    def take(self, now: float) -> Announcement | None:
        """The call waiting longest (None if none), skipping those that waited into quiet hours."""
        with self._cond:
            while self.waiting:
                a = self.waiting.popleft()
                if self.quiet(now):
                    self.silenced.append(a)
                    continue
                return a
            return None

    def snapshot(self) -> list[Announcement]:
        """The calls waiting now, in order (the announcer prepares their sound ahead)."""
        with self._cond:
            return list(self.waiting)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a call waits (or close()); True if one does."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self.waiting, timeout)
            return not self._closed and bool(self.waiting)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self.waiting)
