"""What the kiosk holds for one print job: its state now, and wait() for the outcome.

    job = spool.submit(ticket_id, label, data)
    job.wait(2.0)       # "printed" | "waiting" | "failed" — or "queued"/"printing" if still undecided
    job.reason          # waiting: paper_out | cover_open | offline | stopped; failed: "too old", "lost", …
    job.message_vi      # what the screen tells the citizen about the paper ticket
    job.on_change(fn)   # fn(job) after each change, on the thread that made it (the spool's, mostly)
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from printer.status import MESSAGES_VI

DECIDED = ("printed", "waiting", "failed")   # what wait() waits for by default: the caller can tell the citizen
FINAL = ("printed", "failed")                # nothing will change any more


class JobHandle:
    """What the caller holds for one job: its state now, and wait() for the outcome."""

    def __init__(self, job_id: int, ticket_id: str, label: str, reprint: bool, state: str, reason: str = ""):
        self.id, self.ticket_id, self.label, self.reprint = job_id, ticket_id, label, reprint
        self.state, self.reason = state, reason  # state: queued | printing | waiting | printed | failed
        self._cond = threading.Condition()
        self._listeners: list[Callable[[JobHandle], None]] = []

    def wait(self, timeout: float | None = None, until: tuple[str, ...] = DECIDED) -> str:
        """Block until the state is one of `until` (default: printed, waiting or failed) or timeout; return it."""
        with self._cond:
            self._cond.wait_for(lambda: self.state in until, timeout)
            return self.state

    def on_change(self, fn: Callable[[JobHandle], None]) -> None:
        """Call fn(self) after each change of state or reason, on the thread that made it; fn must not block."""
        with self._cond:
            self._listeners.append(fn)

    @property
    def message_vi(self) -> str:
        """What the kiosk tells the citizen about this ticket's paper copy."""
        if self.state == "printed":
            return "Mời nhận phiếu."
        if self.state == "failed":
            return "Không in được phiếu. Vui lòng ghi nhớ số thứ tự trên màn hình."
        if self.state == "waiting":
            if self.reason == "stopped":   # the printer has it and went quiet (printer.flight)
                return "Máy in đang dừng. Vé sẽ được in khi máy in chạy lại."
            return MESSAGES_VI.get(self.reason, MESSAGES_VI["offline"])
        return "Đang in phiếu…"

    def _set(self, state: str, reason: str = "", only_from: str | None = None) -> bool:
        with self._cond:
            if only_from is not None and self.state != only_from:
                return False  # the worker got there first: its news is newer
            changed = (state, reason) != (self.state, self.reason)
            self.state, self.reason = state, reason
            self._cond.notify_all()
            listeners = list(self._listeners) if changed else []
        for fn in listeners:     # outside the lock: a listener may read the job
            fn(self)
        return changed

    def __repr__(self) -> str:
        return f"<job {self.id} ticket {self.ticket_id} {self.state}{' ' + self.reason if self.reason else ''}>"


__all__ = ["JobHandle", "DECIDED", "FINAL"]
