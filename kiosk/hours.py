"""Opening hours as a kiosk reads them from the retained `config` (hall.protocol.config_dict).

    is_open(config, now)            # True / False at epoch `now`, in the hall's time zone
    hours_lines(config, "vi")       # ['Thứ Hai – Thứ Sáu: 07:00–11:30, 13:30–17:00', 'Thứ Bảy: 07:30–11:30']
    next_opening(config, now, "vi") # 'Thứ Năm 07:00', or None if the week has no hours

The board's own `open` flag (the hall server's clock) wins when the kiosk has one; these
are for the kiosk without a board yet and for writing the hours on the closed screen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.texts import LANGS, WEEKDAYS


def _local(config: dict, now: float) -> datetime:
    return datetime.fromtimestamp(now, ZoneInfo(config["hall"].get("timezone", "Asia/Ho_Chi_Minh")))


def _week(config: dict) -> list[list[tuple[int, int]]]:
    return [[(a, b) for a, b in day] for day in config["hours"]["week"]]


def is_closed_date(config: dict, now: float) -> bool:
    return _local(config, now).date().isoformat() in config["hours"].get("closed_dates", [])


def is_open(config: dict, now: float) -> bool:
    """True when the hall issues tickets at `now` by its configured hours."""
    local = _local(config, now)
    if local.date().isoformat() in config["hours"].get("closed_dates", []):
        return False
    minute = local.hour * 60 + local.minute
    return any(a <= minute < b for a, b in _week(config)[local.weekday()])


def _hm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hours_lines(config: dict, lang: str) -> list[str]:
    """One line per run of weekdays with the same spans: short enough to read at a glance."""
    names = WEEKDAYS[LANGS.index(lang)]
    week, lines, i = _week(config), [], 0
    while i < 7:
        j = i
        while j + 1 < 7 and week[j + 1] == week[i]:
            j += 1
        if week[i]:
            days = names[i] if i == j else f"{names[i]} – {names[j]}"
            lines.append(f"{days}: " + ", ".join(f"{_hm(a)}–{_hm(b)}" for a, b in week[i]))
        i = j + 1
    return lines


def next_opening(config: dict, now: float, lang: str) -> str | None:
    """When tickets are issued again, as 'Thứ Năm 07:00' (within the next two weeks), else None."""
    local = _local(config, now)
    week, closed = _week(config), set(config["hours"].get("closed_dates", []))
    minute = local.hour * 60 + local.minute
    for ahead in range(15):
        day = local + timedelta(days=ahead)
        if day.date().isoformat() in closed:
            continue
        for a, _b in week[day.weekday()]:
            if ahead > 0 or a > minute:
                return f"{WEEKDAYS[LANGS.index(lang)][day.weekday()]} {_hm(a)}"
    return None
