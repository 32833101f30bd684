"""A problem that lasts (a full disk, a port taken) is logged once a minute, not once per try.

    complaints = Complaints(log)
    complaints.say("disk_full", "the disk is full")   # logged; the same key again within 60 s is not
    complaints.clear("disk_full")                     # over: logged once, and the next say() logs again
"""

from __future__ import annotations

import logging
import time


class Complaints:
    EVERY_S = 60.0

    def __init__(self, log: logging.Logger):
        self.log = log
        self._said: dict[str, float] = {}

    def say(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self._said.get(key, -1e9) >= self.EVERY_S:
            self._said[key] = now
            self.log.error(message)

    def clear(self, key: str) -> None:
        if self._said.pop(key, None) is not None:
            self.log.warning("%s is over", key.replace("_", " "))
