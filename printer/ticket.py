"""What a ticket says: everything printed, built from a take-ticket reply and the hall config.

    info = TicketInfo.from_reply(issued, config)   # a TicketIssued and the retained Config (or hall.toml's
                                                   # HallConfig); hall time zone, the hall's footer unless given
    info.label, info.counters_text, info.wait_text, info.when_text, info.qr_text

The wording lives here, once, so the image ticket (printer.layout) and the text
ticket (printer.textmode) say exactly the same thing. Strings are NFC: every
Vietnamese letter is one precomposed character, which both the glyph check and
the code pages of text mode need.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from hall.config import DEFAULT_FOOTER, WEEKDAYS_VI, HallConfig
from hall.protocol import Config, TicketIssued

TEST_MARK = "IN THỬ — không có giá trị"     # printed across a test ticket, top and bottom
_COUNTER_NAME = re.compile(r"quầy\s+(\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class TicketInfo:
    """Everything one printed ticket shows; no clock is read anywhere after this is built."""
    hall_name: str                  # "UBND xã Dang Kang"
    service_name: str               # "Hộ tịch"
    label: str                      # the number as called: "1023", "A001"
    ticket_id: str                  # "20261125-1023", for the QR code
    issued_at: datetime             # local hall time of issue (aware)
    counters: tuple[str, ...]       # counter names that serve the service: ("Quầy 1", "Quầy 2")
    ahead: int                      # citizens waiting before this one
    wait_min: int | None            # estimated minutes, None when unknown
    priority: str | None = None     # the priority category's Vietnamese name, None for ordinary tickets
    service_name_en: str = ""       # printed small under the Vietnamese name when not empty
    lookup_url: str = ""            # hall.toml lookup_url; "" → the QR holds only the ticket id
    page_code: str = ""             # the reply's `page` ("20261125-1023.k7f3q9ab"): what opens the ticket's page
    footer: str = DEFAULT_FOOTER
    test: bool = False              # a printer test (`motcua printer test`): TEST_MARK, no QR code

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                object.__setattr__(self, f.name, unicodedata.normalize("NFC", value))
        object.__setattr__(self, "counters", tuple(unicodedata.normalize("NFC", c) for c in self.counters))
        if not self.label.strip():
            raise ValueError(f"ticket {self.ticket_id!r} has no number to print")

    @classmethod
    def from_reply(cls, data: TicketIssued, hall: Config | HallConfig, footer: str | None = None,
                   tz: tzinfo | str | None = None, english: bool = False) -> TicketInfo:
        """Build from a take-ticket reply's data and the hall: on a kiosk the retained `config`
        (Config), elsewhere its hall.toml (HallConfig, published the way the hall service does)."""
        c = Config.from_hall(hall) if isinstance(hall, HallConfig) else hall
        svc = c.service(data.service)
        if svc is None:
            raise ValueError(f"ticket {data.ticket_id}: service {data.service!r} is not in the "
                             "hall config this kiosk has; is it older than the server's?")
        zone = ZoneInfo(tz) if isinstance(tz, str) else (tz or c.hall.zone)
        names = [k.name if (k := c.counter(n)) else f"Quầy {n}" for n in data.counters]
        category = None
        if data.priority:
            # An id this kiosk's config does not know still prints "ƯU TIÊN"; only the category name is lost.
            category = cat.name if (cat := c.category(data.priority)) else ""
        return cls(hall_name=c.hall.name, service_name=svc.name, label=data.ticket, ticket_id=data.ticket_id,
                   issued_at=datetime.fromtimestamp(data.issued_at, zone), counters=tuple(names), ahead=data.ahead,
                   wait_min=data.wait_min, priority=category, service_name_en=svc.name_en if english else "",
                   lookup_url=c.hall.lookup_url, page_code=data.page,
                   footer=c.kiosk.ticket_footer if footer is None else footer)

    @property
    def is_priority(self) -> bool:
        return self.priority is not None

    @property
    def counters_text(self) -> str:
        """'Mời đến quầy 1, 2' — the names shortened when they all read 'Quầy <n>'."""
        numbers = [m.group(1) for c in self.counters if (m := _COUNTER_NAME.fullmatch(c.strip()))]
        if numbers and len(numbers) == len(self.counters):
            if all(n.isdigit() for n in numbers):   # config order is no use to a citizen: 3, 4 not 4, 3
                numbers.sort(key=int)
            return "Mời đến quầy " + ", ".join(numbers)
        return "Mời đến " + ", ".join(self.counters)

    @property
    def wait_text(self) -> str:
        """'Có 3 người đang chờ trước bạn · khoảng 15 phút'."""
        if self.ahead <= 0:
            return "Không có người chờ trước bạn"
        text = f"Có {self.ahead} người đang chờ trước bạn"
        if self.wait_min:
            hours, minutes = divmod(int(self.wait_min), 60)
            span = (f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ") if hours else f"{minutes} phút"
            text += f" · khoảng {span}"
        return text

    @property
    def when_text(self) -> str:
        """'08:15 · Thứ Tư, 25/11/2026' (hall time)."""
        t = self.issued_at
        return f"{t:%H:%M} · {WEEKDAYS_VI[t.weekday()]}, {t:%d/%m/%Y}"

    @property
    def qr_text(self) -> str:
        """The QR code's content: the lookup address with ?t=<page code>, or the bare ticket id.

        The page code (the ticket id and a key the hall server makes) is what the ticket page accepts:
        a bare id is easy to guess, so the server answers it with "không tìm thấy phiếu". The id stands
        in only for a reply without a code (a hall server older than the ticket page; the samples) and,
        without a lookup address, when there is no page to open: then the QR repeats the printed id.
        """
        if not self.lookup_url:
            return self.ticket_id
        return f"{self.lookup_url}{'&' if '?' in self.lookup_url else '?'}t={self.page_code or self.ticket_id}"

    def texts(self) -> dict[str, str]:
        """Every printed string by what it is, for glyph checks and error messages."""
        out = {"hall name": self.hall_name, "service name": self.service_name, "ticket number": self.label,
               "counters": self.counters_text, "waiting line": self.wait_text, "date line": self.when_text,
               "footer": self.footer, "ticket id": f"Mã phiếu: {self.ticket_id}"}
        if self.service_name_en:
            out["English service name"] = self.service_name_en
        if self.priority is not None:     # self.is_priority
            out["priority category"] = self.priority
        if self.test:
            out["test mark"] = TEST_MARK
        return out


SAMPLE_TIME = datetime(2026, 11, 25, 8, 15)    # a Wednesday morning, hall time: fixed, so samples never change


def sample_ticket(cfg: HallConfig, service_id: str | None = None, priority: bool = False,
                  ahead: int = 3, footer: str | None = None) -> TicketInfo:
    """A believable ticket of the hall (number first + 22, e.g. Hộ tịch 1023), through from_reply.

    For `motcua printer preview`, test prints and the benchmark; the wait is estimated the way the
    engine does before it has real service times: ahead × minutes / counters.
    """
    svc = cfg.service(service_id) if service_id else cfg.services[0]
    if svc is None:
        raise ValueError(f"no service {service_id!r} in the hall config; there are: "
                         + ", ".join(s.id for s in cfg.services))
    number = min(svc.first + 22, svc.last)
    label = svc.label(number)
    category = cfg.priority.categories[0].id if priority and cfg.priority.categories else None
    data = TicketIssued(ticket=label, ticket_id=f"{SAMPLE_TIME:%Y%m%d}-{label}", service=svc.id,
                        priority=category, counters=svc.counters, ahead=ahead,
                        wait_min=round(ahead * svc.minutes / len(svc.counters)),
                        issued_at=SAMPLE_TIME.replace(tzinfo=cfg.zone).timestamp(), day=f"{SAMPLE_TIME:%Y-%m-%d}")
    if priority and category is None:   # a hall without categories still gets a priority sample
        return replace(TicketInfo.from_reply(data, cfg, footer), priority="")
    return TicketInfo.from_reply(data, cfg, footer)
