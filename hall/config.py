"""The hall's configuration (hall.toml) as frozen dataclasses, checked once at start.

    cfg = load_hall("examples/dang-kang/hall.toml")   # ConfigError names file, key, problem
    cfg.service("ho-tich").counters                # (1,)

Every field documented here is documented for users in docs/config.md; a test
fails when one is missing there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hall.tomlcheck import Table, check

ID_PATTERN = r"[a-z0-9][a-z0-9-]{0,31}"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The weekday names every screen and ticket prints (Monday first, as datetime.weekday() counts).
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DEFAULT_FOOTER = "Vui lòng giữ phiếu và chờ gọi số."   # [kiosk] ticket_footer when hall.toml has none
_SPAN = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


_NO_DEFAULT = object()


def doc(text: str, default=_NO_DEFAULT, **kw):
    """A dataclass field carrying its user-facing documentation."""
    if default is _NO_DEFAULT:
        return field(metadata={"doc": text}, **kw)
    return field(default=default, metadata={"doc": text}, **kw)


@dataclass(frozen=True)
class Counter:
    """A counter (quầy) where a clerk serves citizens."""
    id: int = doc("Counter number, read aloud in calls (1, 2, 3 …).")
    name: str = doc("Vietnamese name shown on screens, e.g. 'Quầy 1'.")
    name_en: str = doc("English name.")


@dataclass(frozen=True)
class Service:
    """A line citizens queue in; one number sequence per service and day."""
    id: str = doc("Short id used in messages, e.g. 'ho-tich' (a-z, 0-9, '-').")
    name: str = doc("Vietnamese name on the kiosk button and the ticket.")
    name_en: str = doc("English name.")
    prefix: str = doc("Letters before the number ('A' gives A001); may be empty.")
    first: int = doc("First number of the day.")
    last: int = doc("Last number of the day; after it the service issues no more tickets.")
    counters: tuple[int, ...] = doc("Counters that serve this service.")
    minutes: int = doc("Assumed minutes per citizen until enough real service times are known.")

    def label(self, number: int) -> str:
        """The printed and announced form of a number: prefix + zero-padded number."""
        return f"{self.prefix}{number:0{len(str(self.last))}d}"


@dataclass(frozen=True)
class PriorityCategory:
    """Who may take a priority ticket."""
    id: str = doc("Short id, e.g. 'elderly'.")
    name: str = doc("Vietnamese text shown on the kiosk, e.g. 'Người cao tuổi'.")
    name_en: str = doc("English text.")


@dataclass(frozen=True)
class Priority:
    policy: str = doc("'strict': priority tickets are always called first; "
                      "'interleave': at most one priority ticket every `every` calls of a counter.")
    every: int = doc("With 'interleave': a counter calls a waiting priority ticket once it has "
                     "called this many ordinary tickets since its last priority one.")
    categories: tuple[PriorityCategory, ...] = doc("The priority groups ([[priority.categories]]).")


@dataclass(frozen=True)
class Hours:
    reset_hour: int = doc("Hour (0–23, hall time) at which the service day and its numbers restart.")
    week: tuple[tuple[tuple[int, int], ...], ...] = doc(
        "Opening spans per weekday, keys monday … sunday, each a list of 'HH:MM-HH:MM'.")
    closed_dates: tuple[date, ...] = doc("Dates (YYYY-MM-DD) the hall is closed, e.g. public holidays.")

    def is_open(self, local: datetime) -> bool:
        """True when tickets may be issued at this local time."""
        if local.date() in self.closed_dates:
            return False
        minute = local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self.week[local.weekday()])

    def describe(self) -> str:
        """Opening hours in Vietnamese, for error messages and closed screens."""
        parts = []
        for name, spans in zip(WEEKDAYS_VI, self.week, strict=True):
            if spans:
                parts.append(f"{name}: " + ", ".join(f"{_hm(a)}–{_hm(b)}" for a, b in spans))
        return "; ".join(parts) if parts else "chưa có giờ làm việc"

    def lines(self, lang: str = "vi") -> list[str]:
        """One line per run of weekdays with the same spans, short enough to read at a glance:
        ['Thứ Hai – Thứ Sáu: 07:00–11:30, 13:30–17:00', 'Thứ Bảy: 07:30–11:30']."""
        names, week, out, i = weekday_names(lang), self.week, [], 0
        while i < 7:
            j = i
            while j + 1 < 7 and week[j + 1] == week[i]:
                j += 1
            if week[i]:
                days = names[i] if i == j else f"{names[i]} – {names[j]}"
                out.append(f"{days}: " + ", ".join(f"{_hm(a)}–{_hm(b)}" for a, b in week[i]))
            i = j + 1
        return out

    def next_opening(self, local: datetime, lang: str = "vi") -> str | None:
        """When tickets are issued again after this local time, as 'Thứ Năm 07:00' (within the
        next two weeks: closed dates may fill one), else None."""
        minute = local.hour * 60 + local.minute
        for ahead in range(15):
            day = local + timedelta(days=ahead)
            if day.date() in self.closed_dates:
                continue
            for a, _b in self.week[day.weekday()]:
                if ahead > 0 or a > minute:
                    return f"{weekday_names(lang)[day.weekday()]} {_hm(a)}"
        return None


@dataclass(frozen=True)
class RatingLevel:
    score: int = doc("Score stored for this level (1 = worst).")
    name: str = doc("Vietnamese label, e.g. 'Hài lòng'.")
    name_en: str = doc("English label.")


@dataclass(frozen=True)
class RatingReason:
    id: str = doc("Stored with the rating, a-z, 0-9, '-'.")
    name: str = doc("Vietnamese words on the button, e.g. 'Chờ lâu'.")
    name_en: str = doc("English words.")


@dataclass(frozen=True)
class RatingScreen:
    """[rating_screen]: how the counter pad and the ticket page ask for a rating."""
    close_after_s: int = doc("Seconds the rating screen waits for a tap before it closes with no rating.")
    ask_reason_at_most: int = doc("A score this low or lower offers the reasons (1: only the worst level).")
    reasons: tuple[RatingReason, ...] = doc("What a low score may say ([[rating_screen.reasons]]).")


DEFAULT_REASONS = (
    RatingReason("cho-lau", "Chờ lâu", "Waited too long"),
    RatingReason("thai-do", "Thái độ chưa tốt", "Unfriendly attitude"),
    RatingReason("huong-dan", "Hướng dẫn chưa rõ", "Unclear guidance"),
    RatingReason("di-lai", "Phải đi lại nhiều lần", "Had to come back again"),
    RatingReason("khac", "Lý do khác", "Another reason"),
)


@dataclass(frozen=True)
class HallConfig:
    """Everything the hall server knows from hall.toml."""
    id: str = doc("Hall id, used in every MQTT topic (motcua/{id}/…), a-z, 0-9, '-'.")
    name: str = doc("The office's name as citizens know it, e.g. 'UBND xã Dang Kang'.")
    name_en: str = doc("English name.")
    timezone: str = doc("IANA time zone of the hall, normally 'Asia/Ho_Chi_Minh'.")
    lookup_url: str = doc("Address printed as a QR code on tickets for looking a ticket up.")
    mqtt_bind: str = doc("Address Mosquitto listens on ('0.0.0.0' for the hall network).")
    mqtt_port: int = doc("Mosquitto's port for hall devices.")
    http_port: int = doc("Port of the hall service's web pages (clerk handheld, leader page).")
    hours: Hours = doc("Opening hours ([hours]).")
    priority: Priority = doc("Priority tickets ([priority]).")
    kiosk_tickets_per_minute: int = doc("[kiosk] tickets_per_minute: most tickets one kiosk may "
                                        "issue in a minute (stops a child emptying the roll).")
    ticket_footer: str = doc("[kiosk] ticket_footer: the line printed at the foot of every ticket.")
    rating: tuple[RatingLevel, ...] = doc("Satisfaction scale, worst first ([[rating]]); default 3 levels.")
    notice: str = doc("[display] notice: the scrolling line on the wall display.")
    counters: tuple[Counter, ...] = doc("The counters ([[counters]]).")
    services: tuple[Service, ...] = doc("The services ([[services]]).")
    rating_screen: RatingScreen = doc("How a rating is asked for ([rating_screen]).",
                                      RatingScreen(30, 1, DEFAULT_REASONS))
    backup_folder: str = doc("[backup] folder: where the nightly backup goes when no prepared USB stick "
                             "is plugged in ('' = the data folder's backups/).", "")
    backup_hour: int = doc("[backup] hour: the nightly backup runs at this local hour or soon after (0-23).", 2)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def counter(self, counter_id: int) -> Counter | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def services_of(self, counter_id: int) -> tuple[str, ...]:
        return tuple(s.id for s in self.services if counter_id in s.counters)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def local_mqtt_host(self) -> str:
        """Where a program on the hall server itself reaches Mosquitto (loopback when it listens on all)."""
        return "127.0.0.1" if self.mqtt_bind in ("0.0.0.0", "") else self.mqtt_bind


DEFAULT_RATING = (
    RatingLevel(1, "Không hài lòng", "Dissatisfied"),
    RatingLevel(2, "Hài lòng", "Satisfied"),
    RatingLevel(3, "Rất hài lòng", "Very satisfied"),
)


def weekday_names(lang: str = "vi") -> tuple[str, ...]:
    """Monday … Sunday in 'vi' or 'en'."""
    return WEEKDAYS_EN if lang == "en" else WEEKDAYS_VI


def _hm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def time_spans(t: Table, name: str) -> tuple[tuple[int, int], ...]:
    """A key's spans of the day, ["07:00-11:30", "13:30-17:00"], as sorted (start, end) minutes;
    shared by [hours] and the display's quiet_hours."""
    spans = []
    for text in t.texts(name, ()):
        m = _SPAN.fullmatch(text.strip())
        if m is None:
            raise t.error(name, f"{text!r} is not a span like '07:00-11:30'")
        h1, m1, h2, m2 = map(int, m.groups())
        a, b = h1 * 60 + m1, h2 * 60 + m2
        check(t, name, m1 < 60 and m2 < 60 and b <= 24 * 60 and a < b,
              f"{text!r} is not a valid span (start before end, within 00:00-24:00)")
        spans.append((a, b))
    spans.sort()
    for (a1, b1), (a2, b2) in zip(spans, spans[1:], strict=False):
        check(t, name, b1 <= a2, f"spans {_hm(a1)}-{_hm(b1)} and {_hm(a2)}-{_hm(b2)} overlap")
    return tuple(spans)


def _hours(t: Table) -> Hours:
    reset = t.integer("reset_hour", 3, low=0, high=23)
    week = tuple(time_spans(t, day) for day in WEEKDAYS)
    closed = []
    for text in t.texts("closed_dates", ()):
        try:
            closed.append(date.fromisoformat(text))
        except ValueError:
            raise t.error("closed_dates", f"{text!r} is not a date like 2027-02-16") from None
    t.done()
    return Hours(reset, week, tuple(closed))


def _priority(t: Table) -> Priority:
    policy = t.choice("policy", ("strict", "interleave"), "interleave")
    every = t.integer("every", 3, low=1, high=100)
    cats = []
    for c in t.tables("categories", optional=True):
        cats.append(PriorityCategory(c.text("id", pattern=ID_PATTERN), c.text("name"), c.text("name_en")))
        c.done()
    ids = [c.id for c in cats]
    check(t, "categories", len(ids) == len(set(ids)), f"two categories have the same id {_repeated(ids)}")
    t.done()
    return Priority(policy, every, tuple(cats))


def _rating(root: Table) -> tuple[RatingLevel, ...]:
    if not root.has("rating"):
        root.tables("rating", optional=True)
        return DEFAULT_RATING
    levels = []
    for i, r in enumerate(root.tables("rating")):
        levels.append(RatingLevel(i + 1, r.text("name"), r.text("name_en")))
        r.done()
    check(root, "rating", 2 <= len(levels) <= 5, "must have 2 to 5 levels, worst first")
    return tuple(levels)


def _rating_screen(t: Table, levels: int) -> RatingScreen:
    close = t.integer("close_after_s", 30, low=5, high=600)
    # Half the scale and below, by default: of 3 levels the worst, of 5 the two worst.
    at_most = t.integer("ask_reason_at_most", levels // 2, low=0, high=levels)
    reasons: tuple[RatingReason, ...]
    if not t.has("reasons"):
        t.tables("reasons", optional=True)
        reasons = DEFAULT_REASONS
    else:
        found = []
        for r in t.tables("reasons"):
            found.append(RatingReason(r.text("id", pattern=ID_PATTERN), r.text("name", max_len=40),
                                      r.text("name_en", "", allow_empty=True, max_len=40)))
            r.done()
        ids = [r.id for r in found]
        check(t, "reasons", len(ids) == len(set(ids)), f"two reasons have the same id {_repeated(ids)}")
        check(t, "reasons", len(found) <= 8, "at most 8 reasons fit on the counter pad")
        reasons = tuple(found)
    t.done()
    return RatingScreen(close, at_most, reasons)


def _counters(root: Table) -> tuple[Counter, ...]:
    counters = []
    for c in root.tables("counters"):
        counters.append(Counter(c.integer("id", low=1, high=99), c.text("name"), c.text("name_en")))
        c.done()
    check(root, "counters", bool(counters), "the hall needs at least one counter")
    ids = [c.id for c in counters]
    check(root, "counters", len(ids) == len(set(ids)), f"two counters have the same id {_repeated(ids)}")
    return tuple(counters)


def _services(root: Table, counter_ids: set[int]) -> tuple[Service, ...]:
    services = []
    for s in root.tables("services"):
        svc = Service(
            id=s.text("id", pattern=ID_PATTERN), name=s.text("name"), name_en=s.text("name_en"),
            prefix=s.text("prefix", "", pattern=r"[A-Z]{0,3}", allow_empty=True),
            first=s.integer("first", 1, low=0, high=99999), last=s.integer("last", 999, low=1, high=99999),
            counters=s.integers("counters"), minutes=s.integer("minutes", 10, low=1, high=480))
        check(s, "last", svc.last > svc.first, "must be greater than 'first'")
        check(s, "counters", bool(svc.counters), "a service needs at least one counter")
        check(s, "counters", len(set(svc.counters)) == len(svc.counters), "a counter is listed twice")
        for c in svc.counters:
            check(s, "counters", c in counter_ids, f"counter {c} is not in [[counters]]")
        s.done()
        services.append(svc)
    check(root, "services", bool(services), "the hall needs at least one service")
    ids = [s.id for s in services]
    check(root, "services", len(ids) == len(set(ids)), f"two services have the same id {_repeated(ids)}")
    # Two services printing the same label would send two citizens to one call.
    spans = sorted((s.prefix, s.first, s.last, s.id) for s in services)
    for a, b in zip(spans, spans[1:], strict=False):
        if a[0] == b[0] and b[1] <= a[2]:
            raise root.error("services", f"services '{a[3]}' and '{b[3]}' share prefix "
                             f"'{a[0]}' and overlapping numbers; they would print the same number")
    return tuple(services)


def load_hall(path: str | Path) -> HallConfig:
    """Read and check hall.toml; raises ConfigError naming the file, key and problem."""
    root = Table.load(path)
    h = root.table("hall")
    hall_id = h.text("id", pattern=ID_PATTERN)
    name, name_en = h.text("name"), h.text("name_en", "", allow_empty=True)
    tz = h.text("timezone", "Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):   # OSError: a folder such as 'Asia'
        raise h.error("timezone", f"{tz!r} is not a known time zone") from None
    lookup = h.text("lookup_url", "", allow_empty=True)
    h.done()
    srv = root.table("server", optional=True)
    bind = srv.text("mqtt_bind", "0.0.0.0")
    mqtt_port = srv.integer("mqtt_port", 1883, low=1, high=65535)
    http_port = srv.integer("http_port", 8080, low=1, high=65535)
    srv.done()
    hours = _hours(root.table("hours"))
    priority = _priority(root.table("priority", optional=True))
    k = root.table("kiosk", optional=True)
    per_minute = k.integer("tickets_per_minute", 6, low=1, high=1_000_000)
    footer = k.text("ticket_footer", DEFAULT_FOOTER, max_len=120)
    k.done()
    d = root.table("display", optional=True)
    notice = d.text("notice", "", allow_empty=True, max_len=1000)
    d.done()
    rating = _rating(root)
    rating_screen = _rating_screen(root.table("rating_screen", optional=True), len(rating))
    b = root.table("backup", optional=True)
    backup_folder = b.text("folder", "", allow_empty=True, max_len=300)
    check(b, "folder", not backup_folder or backup_folder.startswith("/"),
          "must be an absolute path, e.g. /srv/motcua-backups")
    backup_hour = b.integer("hour", 2, low=0, high=23)
    b.done()
    counters = _counters(root)
    services = _services(root, {c.id for c in counters})
    root.done()
    return HallConfig(hall_id, name, name_en, tz, lookup, bind, mqtt_port, http_port, hours,
                      priority, per_minute, footer, rating, notice, counters, services, rating_screen,
                      backup_folder, backup_hour)


def _repeated(ids: list) -> str:
    """The first id that appears twice, quoted, for a message that names it ('' when none does)."""
    return next((repr(i) for i in ids if ids.count(i) > 1), "")


def with_ports(cfg: HallConfig, mqtt_port: int | None = None, http_port: int | None = None) -> HallConfig:
    """The same hall with ports overridden from the command line."""
    from dataclasses import replace
    return replace(cfg, mqtt_port=cfg.mqtt_port if mqtt_port is None else mqtt_port,
                   http_port=cfg.http_port if http_port is None else http_port)
