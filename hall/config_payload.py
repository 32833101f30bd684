"""The retained `config` message as frozen dataclasses: the part of hall.toml every device needs.

    cfg = Config.from_payload(payload)     # or Config.from_hall(hall_config) on the hall server
    cfg.service("ho-tich").name, cfg.counter(1).name, cfg.category("elderly").name
    cfg.is_open(now), cfg.hours.lines("en"), cfg.hours.next_opening(cfg.local(now), "vi")

One of the payload families of hall/payloads.py (which re-exports every name here and says
why they are written by hand); `hours` is a hall.config.Hours, so a device reads the opening
hours with the very code the hall server checks them with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hall.config import DEFAULT_FOOTER, Hours
from hall.wire import Fields, ProtocolError, as_tuple, encode, message_fields

if TYPE_CHECKING:
    from hall.config import HallConfig

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


# --- the retained `config` -----------------------------------------------------------

@dataclass(frozen=True)
class HallInfo:
    id: str
    name: str
    name_en: str = ""
    timezone: str = DEFAULT_TIMEZONE
    lookup_url: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "timezone": self.timezone,
                "lookup_url": self.lookup_url}

    @classmethod
    def from_dict(cls, f: Fields) -> HallInfo:
        tz = f.text("timezone", DEFAULT_TIMEZONE)
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ProtocolError(f.code, f"{f.where}.timezone {tz!r} is not a known time zone") from None
        return cls(f.text("id"), f.text("name"), f.text("name_en", ""), tz, f.text("lookup_url", ""))


@dataclass(frozen=True)
class ServiceInfo:
    id: str
    name: str
    name_en: str
    prefix: str
    first: int
    last: int
    counters: tuple[int, ...]    # the counters that serve it, in the hall's order

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "prefix": self.prefix,
                "first": self.first, "last": self.last, "counters": list(self.counters)}

    @classmethod
    def from_dict(cls, f: Fields) -> ServiceInfo:
        return cls(f.text("id"), f.text("name"), f.text("name_en", ""), f.text("prefix", ""),
                   f.integer("first"), f.integer("last"), f.integers("counters"))


@dataclass(frozen=True)
class CounterInfo:
    id: int
    name: str
    name_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en}

    @classmethod
    def from_dict(cls, f: Fields) -> CounterInfo:
        return cls(f.integer("id"), f.text("name"), f.text("name_en", ""))


@dataclass(frozen=True)
class HoursInfo(Hours):
    """hall.config.Hours as published, with its Vietnamese `text`: is_open(), lines(), next_opening()
    are Hours' own, so a device reads the hours exactly as the hall server does."""
    text: str = ""

    @classmethod
    def from_hours(cls, hours: Hours) -> HoursInfo:
        return cls(hours.reset_hour, hours.week, hours.closed_dates, hours.describe())

    def to_dict(self) -> dict[str, Any]:
        return {"reset_hour": self.reset_hour, "text": self.text,
                "week": [[[a, b] for a, b in day] for day in self.week],
                "closed_dates": [d.isoformat() for d in self.closed_dates]}

    @classmethod
    def from_dict(cls, f: Fields) -> HoursInfo:
        week = f.items("week")
        if len(week) != 7:
            raise ProtocolError(f.code, f"{f.where}.week must list 7 days (Monday first), not {len(week)}")
        days = []
        for i, spans in enumerate(week):
            if not isinstance(spans, list) or not all(
                    isinstance(s, list) and len(s) == 2 and all(type(m) is int for m in s) for s in spans):
                raise ProtocolError(f.code, f"{f.where}.week[{i}] must be a list of [start, end] minutes")
            days.append(tuple((a, b) for a, b in spans))
        closed = []
        for text in f.texts("closed_dates", ()):
            try:
                closed.append(date.fromisoformat(text))
            except ValueError:
                raise ProtocolError(f.code, f"{f.where}.closed_dates: {text!r} is not a date") from None
        return cls(f.integer("reset_hour"), tuple(days), tuple(closed), f.text("text", ""))


@dataclass(frozen=True)
class NamedItem:
    """An item of a list in hall.toml that is only an id and its names: {"id", "name", "name_en"}."""
    id: str
    name: str
    name_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en}

    @classmethod
    def from_dict(cls, f: Fields) -> Self:
        return cls(f.text("id"), f.text("name"), f.text("name_en", ""))


@dataclass(frozen=True)
class CategoryInfo(NamedItem):
    """A priority category (elderly, disabled …)."""


@dataclass(frozen=True)
class PriorityInfo:
    policy: str
    every: int
    categories: tuple[CategoryInfo, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "categories", as_tuple(self.categories))

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "every": self.every, "categories": [c.to_dict() for c in self.categories]}

    @classmethod
    def from_dict(cls, f: Fields) -> PriorityInfo:
        return cls(f.text("policy"), f.integer("every"), f.each("categories", CategoryInfo.from_dict, ()))


@dataclass(frozen=True)
class RatingInfo:
    """One level of the satisfaction scale (1 = worst)."""
    score: int
    name: str
    name_en: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "name": self.name, "name_en": self.name_en}

    @classmethod
    def from_dict(cls, f: Fields) -> RatingInfo:
        return cls(f.integer("score"), f.text("name"), f.text("name_en", ""))


@dataclass(frozen=True)
class ReasonInfo(NamedItem):
    """A reason a low rating may give (hall.toml [[rating_screen.reasons]])."""


@dataclass(frozen=True)
class RatingScreenInfo:
    """How the counter pad and the ticket page ask for a rating (hall.toml [rating_screen])."""
    close_after_s: int = 30
    ask_reason_at_most: int = 1
    reasons: tuple[ReasonInfo, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "reasons", as_tuple(self.reasons))

    def to_dict(self) -> dict[str, Any]:
        return {"close_after_s": self.close_after_s, "ask_reason_at_most": self.ask_reason_at_most,
                "reasons": [r.to_dict() for r in self.reasons]}

    @classmethod
    def from_dict(cls, f: Fields) -> RatingScreenInfo:
        return cls(f.integer("close_after_s", 30), f.integer("ask_reason_at_most", 1),
                   f.each("reasons", ReasonInfo.from_dict, ()))


@dataclass(frozen=True)
class KioskInfo:
    tickets_per_minute: int = 6
    ticket_footer: str = DEFAULT_FOOTER

    def to_dict(self) -> dict[str, Any]:
        return {"tickets_per_minute": self.tickets_per_minute, "ticket_footer": self.ticket_footer}

    @classmethod
    def from_dict(cls, f: Fields) -> KioskInfo:
        return cls(f.integer("tickets_per_minute", 6), f.text("ticket_footer", DEFAULT_FOOTER))


@dataclass(frozen=True)
class Config:
    """The retained `config`: what every device needs of hall.toml to draw the hall."""
    hall: HallInfo
    services: tuple[ServiceInfo, ...]
    counters: tuple[CounterInfo, ...]
    hours: HoursInfo
    priority: PriorityInfo
    rating: tuple[RatingInfo, ...] = ()
    notice: str = ""
    kiosk: KioskInfo = KioskInfo()
    rating_screen: RatingScreenInfo = RatingScreenInfo()

    def __post_init__(self):
        for name in ("services", "counters", "rating"):
            object.__setattr__(self, name, as_tuple(getattr(self, name)))

    @classmethod
    def from_hall(cls, cfg: HallConfig) -> Config:
        """What the hall service publishes from its hall.toml."""
        return cls(
            HallInfo(cfg.id, cfg.name, cfg.name_en, cfg.timezone, cfg.lookup_url),
            tuple(ServiceInfo(s.id, s.name, s.name_en, s.prefix, s.first, s.last, tuple(s.counters))
                  for s in cfg.services),
            tuple(CounterInfo(c.id, c.name, c.name_en) for c in cfg.counters),
            HoursInfo.from_hours(cfg.hours),
            PriorityInfo(cfg.priority.policy, cfg.priority.every,
                         tuple(CategoryInfo(c.id, c.name, c.name_en) for c in cfg.priority.categories)),
            tuple(RatingInfo(r.score, r.name, r.name_en) for r in cfg.rating),
            cfg.notice, KioskInfo(cfg.kiosk_tickets_per_minute, cfg.ticket_footer),
            RatingScreenInfo(cfg.rating_screen.close_after_s, cfg.rating_screen.ask_reason_at_most,
                             tuple(ReasonInfo(r.id, r.name, r.name_en) for r in cfg.rating_screen.reasons)))

    def service(self, service_id: str) -> ServiceInfo | None:
        return next((s for s in self.services if s.id == service_id), None)

    def counter(self, counter_id: int) -> CounterInfo | None:
        return next((c for c in self.counters if c.id == counter_id), None)

    def category(self, category_id: str | None) -> CategoryInfo | None:
        return next((c for c in self.priority.categories if c.id == category_id), None)

    def local(self, now: float) -> datetime:
        """Epoch seconds as the hall's local time."""
        return datetime.fromtimestamp(now, self.hall.zone)

    def is_open(self, now: float) -> bool:
        """By the configured hours (a board's `open`, from the server's clock, wins when there is one)."""
        return self.hours.is_open(self.local(now))

    def to_dict(self) -> dict[str, Any]:
        return {"hall": self.hall.to_dict(), "services": [s.to_dict() for s in self.services],
                "counters": [c.to_dict() for c in self.counters], "hours": self.hours.to_dict(),
                "priority": self.priority.to_dict(), "rating": [r.to_dict() for r in self.rating],
                "notice": self.notice, "kiosk": self.kiosk.to_dict(), "rating_screen": self.rating_screen.to_dict()}

    def to_payload(self) -> bytes:
        return encode(self.to_dict())

    @classmethod
    def from_dict(cls, f: Fields) -> Config:
        return cls(HallInfo.from_dict(f.sub("hall")), f.each("services", ServiceInfo.from_dict),
                   f.each("counters", CounterInfo.from_dict), HoursInfo.from_dict(f.sub("hours")),
                   PriorityInfo.from_dict(f.sub("priority")) if "priority" in f.obj else PriorityInfo("interleave", 3),
                   f.each("rating", RatingInfo.from_dict, ()), f.text("notice", ""),
                   KioskInfo.from_dict(f.sub("kiosk")) if "kiosk" in f.obj else KioskInfo(),
                   RatingScreenInfo.from_dict(f.sub("rating_screen")) if "rating_screen" in f.obj
                   else RatingScreenInfo())

    @classmethod
    def from_payload(cls, payload: bytes) -> Config:
        return cls.from_dict(message_fields(payload, "config"))
