"""The calls waiting to be spoken: one at a time, in order, at most N waiting.

    q = AnnouncementQueue(max_waiting=4, quiet=lambda now: False)
    q.put(Announcement(seq, "1023", 2, False, now), now)     # UI thread
    a = q.take(now)     # announcer thread: the next one, or None while one is being spoken
    ...speak a to the end...
    q.done(a)

A new call never cuts off the one being spoken: `take` gives nothing until `done`. When
more than N calls wait, the oldest waiting one is dropped from the sound (the screen still
shows it: the board model keeps every call). Thread-safe; time is passed in.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("motcua.display")


@dataclass(frozen=True)
class Announcement:
    seq: int
    ticket: str
    counter: int
    recall: bool
    received: float     # when the display heard the call (epoch seconds)


class AnnouncementQueue:
    def __init__(self, max_waiting: int, quiet: Callable[[float], bool]):
        self.max_waiting = max_waiting
        self.quiet = quiet
        self.waiting: deque[Announcement] = deque()
        self.current: Announcement | None = None
        self.dropped: list[Announcement] = []     # kept for the log and the tests
        self.silenced: list[Announcement] = []    # arrived or came up in quiet hours
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
            while len(self.waiting) > self.max_waiting:
                old = self.waiting.popleft()
                self.dropped.append(old)
                log.warning("%d calls waiting to be spoken: call %d (ticket %s) dropped from the sound",
                            len(self.waiting), old.seq, old.ticket)
            self._cond.notify_all()
            return True

    def take(self, now: float) -> Announcement | None:
        """The next call to speak, or None (nothing waits, or one is still being spoken)."""
        with self._cond:
            while self.current is None and self.waiting:
                a = self.waiting.popleft()
                if self.quiet(now):     # quiet hours began while it waited
                    self.silenced.append(a)
                    continue
                self.current = a
                return a
            return None

    def done(self, a: Announcement) -> None:
        with self._cond:
            if self.current is a:
                self.current = None
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a call can be taken (or close()); True if one can."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or (self.current is None and self.waiting), timeout)
            return not self._closed and self.current is None and bool(self.waiting)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self.waiting)
