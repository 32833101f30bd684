"""Waiting lines: who is next, kept sorted so a call never scans the whole day."""

from __future__ import annotations

from bisect import bisect_left, insort

from broker.model import Ticket

Key = tuple[float, int, str]


class Line:
    """One service's line (or one counter's pinned line): ordinary and priority tickets, oldest first."""

    __slots__ = ("ordinary", "priority")

    def __init__(self) -> None:
        self.ordinary: list[Key] = []
        self.priority: list[Key] = []

    def add(self, t: Ticket) -> None:
        insort(self.priority if t.priority else self.ordinary, t.key())

    def remove(self, t: Ticket) -> None:
        keys = self.priority if t.priority else self.ordinary
        keys.remove(t.key())

    def __len__(self) -> int:
        return len(self.ordinary) + len(self.priority)


class Lines:
    """All lines of the day, by service id, plus '@N' lines pinned to counter N."""

    def __init__(self) -> None:
        self._lines: dict[str, Line] = {}
        # Waiting per service, pinned tickets included: a ticket sent to counter 3 still
        # waits for its service and must show in its counts.
        self._count: dict[str, int] = {}
        self._count_priority: dict[str, int] = {}

    @staticmethod
    def name(t: Ticket) -> str:
        return f"@{t.pinned}" if t.pinned is not None else t.line

    def line(self, name: str) -> Line:
        line = self._lines.get(name)
        if line is None:
            line = self._lines[name] = Line()
        return line

    def add(self, t: Ticket) -> None:
        self.line(self.name(t)).add(t)
        self._counted(t, 1)

    def remove(self, t: Ticket) -> None:
        self.line(self.name(t)).remove(t)
        self._counted(t, -1)

    def _counted(self, t: Ticket, step: int) -> None:
        self._count[t.line] = self._count.get(t.line, 0) + step
        if t.priority:
            self._count_priority[t.line] = self._count_priority.get(t.line, 0) + step

    def waiting(self, service: str) -> int:
        return self._count.get(service, 0)

    def waiting_priority(self, service: str) -> int:
        return self._count_priority.get(service, 0)

    def size(self, name: str) -> int:
        """Tickets waiting in one line ('@3': the ones sent to counter 3 itself)."""
        line = self._lines.get(name)
        return len(line) if line else 0

    def before(self, t: Ticket) -> tuple[int, int]:
        """(ordinary, priority) tickets ahead of waiting `t` in its own line; for a priority
        ticket the ordinary count is 0 (ordinary tickets are never called before it by age)."""
        line = self._lines.get(self.name(t))
        if line is None:
            return 0, 0
        if t.priority:
            return 0, bisect_left(line.priority, t.key())
        return bisect_left(line.ordinary, t.key()), len(line.priority)

    def heads(self, names: list[str]) -> tuple[Key | None, Key | None]:
        """Oldest ordinary and oldest priority ticket across these lines."""
        best_ordinary = best_priority = None
        for name in names:
            line = self._lines.get(name)
            if not line:
                continue
            if line.ordinary and (best_ordinary is None or line.ordinary[0] < best_ordinary):
                best_ordinary = line.ordinary[0]
            if line.priority and (best_priority is None or line.priority[0] < best_priority):
                best_priority = line.priority[0]
        return best_ordinary, best_priority
