"""Which backups to keep: the newest of each of the last 7 days, 5 ISO weeks and 12 months.

    name = backup_name("dang-kang", local_time)        # motcua-dang-kang-20261202-020003.zip
    parse_name(name)                                   # ("dang-kang", datetime(2026, 12, 2, 2, 0, 3)) or None
    keep = to_keep([(name, when), …], now)             # the names to keep; every other one may go

Pure: names and times in, names out; no clock, no file system (broker.backup applies it to a
folder). Times are the hall's local wall-clock times (naive datetimes), as the names carry them:
a day is the hall's day, not UTC's.

"The last 7 days" counts days *that have a backup*, as borg's and restic's keep-daily do, not
the last 7 calendar days: a hall whose server was off for the Tết week still keeps 7 daily
backups, and a gap never makes the rotation delete what is left. A file may count for several
rules at once (the newest of today is also this week's and this month's). A file dated after
`now` (a Pi that booted with a wrong clock, then got the right one) is kept and takes no slot:
a wrong clock must never cost a good backup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime

DAILY, WEEKLY, MONTHLY = 7, 5, 12
PREFIX, SUFFIX = "motcua-", ".zip"
_STAMP = "%Y%m%d-%H%M%S"
# The hall id (a-z, 0-9, '-'), the local time, and a counter when two backups fall in one second.
# No ':' anywhere: most USB sticks are FAT32, which refuses it in a name.
_NAME = re.compile(r"motcua-(?P<hall>[a-z0-9-]+)-(?P<stamp>\d{8}-\d{6})(?:-(?P<n>\d{1,3}))?\.zip")


def backup_name(hall_id: str, local: datetime, n: int = 0) -> str:
    """The file name of a backup of `hall_id` taken at `local` (the hall's wall-clock time)."""
    return f"{PREFIX}{hall_id}-{local.strftime(_STAMP)}{f'-{n}' if n else ''}{SUFFIX}"


def parse_name(name: str) -> tuple[str, datetime] | None:
    """(hall id, local time) of a backup file name, or None for any other file."""
    m = _NAME.fullmatch(name)
    if not m:
        return None
    try:
        when = datetime.strptime(m["stamp"], _STAMP)
    except ValueError:     # 20261399-…: not one of ours
        return None
    # Two backups in one second are told apart by their counter: a microsecond per step keeps the order.
    return m["hall"], when.replace(microsecond=int(m["n"] or 0))


def _day(t: datetime) -> Hashable:
    return t.date()


def _week(t: datetime) -> Hashable:
    return t.isocalendar()[:2]      # (ISO year, ISO week): 2026-12-31 is in 2026-W53


def _month(t: datetime) -> Hashable:
    return t.year, t.month


RULES: tuple[tuple[Callable[[datetime], Hashable], int], ...] = ((_day, DAILY), (_week, WEEKLY), (_month, MONTHLY))


def to_keep(backups: Iterable[tuple[str, datetime]], now: datetime,
            rules: tuple[tuple[Callable[[datetime], Hashable], int], ...] = RULES) -> set[str]:
    """The names to keep among (name, local time): per rule, the newest backup of each of its last n periods."""
    items = sorted(backups, key=lambda b: b[1], reverse=True)
    keep = {name for name, when in items if when > now}
    past = [(name, when) for name, when in items if when <= now]
    for period, count in rules:
        seen: set[Hashable] = set()
        for name, when in past:          # newest first: the first of a period is its newest
            key = period(when)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.add(key)
            keep.add(name)
    return keep
