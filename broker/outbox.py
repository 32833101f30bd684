"""Which calls the broker has confirmed, so a crash between commit and publish loses no call.

    outbox = CallOutbox(acked=ledger.meta("call_acked"))
    outbox.sent(call.seq, client.publish(...))   # paho's MessageInfo
    outbox.settle()                              # the highest seq with it and all before it confirmed

A call is committed first and published after (ledger first). The ledger keeps `call_acked`,
the watermark below which every call reached the broker (its PUBACK came back); at start the
hall service publishes again every call of the day above it. Resending one that did arrive
is harmless: displays ignore a call seq they have already shown.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from hall.protocol import Call


class Published(Protocol):
    def is_published(self) -> bool: ...


class CallOutbox:
    def __init__(self, acked: int = 0, unsent: list[Call] | None = None):
        self.acked = acked          # every call up to this seq reached the broker
        self.stored = acked         # the watermark as the ledger last recorded it
        self._unsent = list(unsent or [])
        self._inflight: deque[tuple[int, Published]] = deque()

    def take_unsent(self) -> list[Call]:
        """The calls of the day above the stored watermark, once (at the first connect)."""
        calls, self._unsent = self._unsent, []
        return calls

    def sent(self, seq: int, info: Published) -> None:
        self._inflight.append((seq, info))

    def settle(self) -> int:
        """Advance the watermark over the calls the broker confirmed, in order; return it."""
        while self._inflight and self._inflight[0][1].is_published():
            self.acked = max(self.acked, self._inflight.popleft()[0])
        return self.acked
