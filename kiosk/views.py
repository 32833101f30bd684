"""What each kiosk screen shows, built from the model: plain data, every text in the chosen language.

    v = view(model, now)       # View(screen="home", title="Chọn dịch vụ", body=HomeBody(...), ...)
    clock_text(model, now)     # ('09:41', 'Thứ Tư, 25/11'), changes once a minute

The Kivy screens copy these into labels and buttons and do nothing else, so what a citizen
reads is tested here without Kivy (tests/test_kiosk_model.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from hall.config import weekday_names
from hall.payloads import DEFAULT_TIMEZONE, NO_PRINTER
from kiosk.model import KioskModel
from kiosk.texts import join_or, nfc, tr
from printer.status import NOT_READY


@dataclass(frozen=True)
class Item:
    """One big button of a list: a service, a category, a field, a procedure."""
    id: str
    title: str
    sub: str = ""
    badge: str = ""          # services: who is waiting and for how long, at the button's right


@dataclass(frozen=True)
class HomeBody:
    services: tuple[Item, ...]
    priority: str            # the button
    priority_who: str
    lookup: str
    banner: str              # "Số ưu tiên: Người cao tuổi" while one is chosen, else ""
    cancel: str
    printer_note: str        # the printer is out of paper etc., else ""


@dataclass(frozen=True)
class TicketBody:
    heading: str
    number: str
    service: str
    priority: str
    go_to: str
    ahead: str
    wait: str
    print_text: str
    print_state: str         # printing | printed | trouble
    done: str


@dataclass(frozen=True)
class ListBody:
    """Priority categories, fields, procedures of a field."""
    items: tuple[Item, ...]
    subtitle: str = ""
    search: str = ""
    empty: str = ""
    note: str = ""           # the catalog's note to citizens


@dataclass(frozen=True)
class DetailBody:
    name: str                # the procedure's name (the header shows its field)
    sections: tuple[tuple[str, str], ...]    # (heading, text) in posting order
    take: str
    take_sub: str
    can_take: bool
    note: str                # "unverified" warning, else ""


@dataclass(frozen=True)
class SearchBody:
    query: str
    hint: str
    count: str
    items: tuple[Item, ...]
    space: str
    delete: str
    clear: str
    # Nothing found: the title, where to go instead (the catalog's [search].elsewhere, or a hint to
    # type less) and "ask a clerk"; () while something is found or nothing is typed.
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class InfoBody:
    """The closed and offline screens: a big title, a few lines and the way to the procedures."""
    title: str
    lines: tuple[str, ...]
    detail: str
    lookup: str


@dataclass(frozen=True)
class View:
    screen: str
    lang: str
    hall_name: str
    lang_button: str
    title: str               # the header's second line: what this screen is for ("" for none)
    back: str
    home: str
    busy: str                # "" or "Đang lấy số…"
    message: str             # "" or a message shown over the screen, with an OK button
    ok: str
    body: object


class Named(Protocol):
    """A service, counter or priority category of the hall's config (hall.payloads)."""
    name: str
    name_en: str


def view(m: KioskModel, now: float) -> View:
    lang, screen = m.lang, m.screen(now)
    t = lambda key, **kw: tr(key, lang, **kw)  # noqa: E731
    hall = m.config.hall if m.config else None
    title, body = _BODIES[screen](m, now, t)
    busy = t("busy") if m.pending else ""
    # The hall's English name as given, even empty: the header then shows none rather than the Vietnamese.
    hall_name = nfc((hall.name_en if lang == "en" else hall.name) if hall else "")
    return View(screen, lang, hall_name, t("other_lang"), title, t("back"), t("home"), busy, _message(m, t), t("ok"),
                body)


def _name(obj: Named, lang: str) -> str:
    return nfc(obj.name_en or obj.name) if lang == "en" else nfc(obj.name)


def _message(m: KioskModel, t) -> str:
    if m.message is None:
        return ""
    key, server_text = m.message
    if m.lang == "vi" and server_text:
        return nfc(server_text)          # the hall's own words, written to be shown
    return t(key) if key in ("no_reply", "rate_limited", "hall_closed", "numbers_exhausted", "disk_full") \
        else t("refused")


def _home(m: KioskModel, now: float, t):
    cfg, lang = m.config, m.lang
    services = []
    for s in cfg.services if cfg else ():
        w = m.board.service(s.id) if m.board else None
        badge = "" if w is None else t("waiting", n=w.waiting, m=w.wait_min) if w.waiting else t("nobody_waiting")
        name, detail = split_name(_name(s, lang))
        services.append(Item(s.id, name, detail, badge))
    chosen = cfg.category(m.priority) if cfg and m.priority else None
    banner = t("priority_banner", name=_name(chosen, lang)) if chosen else ""
    note = ""
    if m.printer_state == NO_PRINTER:
        note = t("no_printer_banner")
    elif m.printer_state in NOT_READY:
        note = t("paper_out_banner") if m.printer_state == "paper_out" else t("printer_trouble")
    body = HomeBody(tuple(services), t("priority"), t("priority_who"), t("lookup"), banner, t("cancel"), note)
    return t("choose_service"), body


def split_name(name: str) -> tuple[str, str]:
    """'Lĩnh vực khác (khiếu nại, thi đua, giáo dục)' → ('Lĩnh vực khác', 'khiếu nại, thi đua, giáo dục'):
    the name in large type, what it covers in small type under it."""
    m = re.fullmatch(r"(.+?)\s*\((.+)\)\s*", name)
    return (m.group(1), m.group(2)) if m else (name, "")


def _priority(m: KioskModel, now: float, t):
    cats = m.config.priority.categories if m.config else ()
    return t("priority_title"), ListBody(tuple(Item(c.id, _name(c, m.lang)) for c in cats))


def _ticket(m: KioskModel, now: float, t):
    cfg, lang, tk = m.config, m.lang, m.ticket
    d = tk.data
    svc = cfg.service(d.service) if cfg else None
    names = {c.id: _name(c, lang) for c in (cfg.counters if cfg else ())}
    # In number order: "Quầy 1 hoặc Quầy 2" reads as a place to look for, whatever the hall's preference.
    counters = [names.get(n, f"{'Counter' if lang == 'en' else 'Quầy'} {n}") for n in sorted(d.counters)]
    ahead = d.ahead
    ahead_text = t("ahead_none") if ahead == 0 else t("ahead_one") if ahead == 1 else t("ahead", n=ahead)
    category = cfg.category(d.priority) if cfg and d.priority else None
    prio = t("priority_ticket", name=_name(category, lang)) if category else ""
    state = "trouble" if tk.print_state in ("waiting", "failed", "none") else tk.print_state
    if tk.print_state == "none":
        key = "no_printer"
    elif tk.print_state == "waiting":
        key = {"paper_out": "paper_out", "cover_open": "cover_open", "stopped": "printer_stopped"}.get(
            tk.reason, "print_failed")
    else:
        key = {"printed": "printed", "failed": "print_failed"}.get(tk.print_state, "printing")
    wait = t("wait_min", m=d.wait_min) if ahead and d.wait_min else ""
    service = _name(svc, lang) if svc else d.service
    go_to = t("go_to", counters=join_or(counters, lang))
    return "", TicketBody(t("your_number"), d.ticket, service, prio, go_to, ahead_text, wait, t(key), state, t("done"))


def _fields(m: KioskModel, now: float, t):
    cat = m.catalog
    items = tuple(Item(f.id, f.name_en if m.lang == "en" else f.name, t("n_procedures", n=f.count))
                  for f in (cat.fields if cat else []) if f.count)
    return t("choose_field"), ListBody(items, t("choose_field"), t("search"), "" if items else t("no_catalog"),
                                 cat.note if cat and m.lang == "vi" else "")


def _procedures(m: KioskModel, now: float, t):
    cat = m.catalog
    f = cat.field(m.field_id) if cat and m.field_id else None
    items = tuple(_proc_item(p, m.lang) for p in cat.in_field(m.field_id)) if f else ()
    return (f.name_en if m.lang == "en" else f.name) if f else t("lookup"), ListBody(items)


def _proc_name(p, lang: str) -> str:
    return p.name_en if lang == "en" and p.name_en else p.name


def _proc_item(p, lang: str) -> Item:
    """The name, and under it the time limit's first clause ("Giải quyết ngay trong ngày tiếp nhận hồ sơ")."""
    first = re.split(r"[;.]\s", p.time_limit + " ", maxsplit=1)[0].strip()
    return Item(p.id, _proc_name(p, lang), first if len(first) <= 90 else first[:88].rsplit(" ", 1)[0] + " …")


def _detail(m: KioskModel, now: float, t):
    p = m.catalog.get(m.proc_id) if m.catalog and m.proc_id else None
    if p is None:
        return t("lookup"), DetailBody("", (), t("take_for"), "", False, t("no_catalog"))
    svc = m.config.service(p.service) if m.config else None
    can = svc is not None and m.can_take(now)
    sub = (t("take_service", service=_name(svc, m.lang)) if can else
           t("cannot_take_offline") if not m.reachable(now) else t("cannot_take_closed") if svc else "")
    sections = tuple((t(key) + ("" if ok else f" — {t('unverified_item')}"), text) for key, text, ok in p.sections)
    f = m.catalog.field(p.field)
    heading = (f.name_en if m.lang == "en" else f.name) if f else t("lookup")
    return heading, DetailBody(_proc_name(p, m.lang), sections, t("take_for"), sub, can,
                               t("unverified") if p.unverified else "")


def _search(m: KioskModel, now: float, t):
    results = tuple(_proc_item(p, m.lang) for p in m.catalog.search(m.query)) if m.catalog else ()
    count = "" if not m.query.strip() else t("found", n=len(results)) if results else t("not_found")
    missing: tuple[str, ...] = ()
    if m.query.strip() and not results:
        answer = m.search_answer()
        missing = (t("not_here"), (answer.where if answer is not None else "") or t("try_other"), t("ask_staff"))
    return t("find_title"), SearchBody(m.query, t("find_hint"), count, results, t("key_space"), t("key_delete"),
                                       t("key_clear"), missing)


def _closed(m: KioskModel, now: float, t):
    cfg = m.config
    local = cfg.local(now) if cfg else None
    lines = tuple(cfg.hours.lines(m.lang)) if cfg else ()
    opens = cfg.hours.next_opening(local, m.lang) if cfg and local else None
    detail = t("holiday") if cfg and local and local.date() in cfg.hours.closed_dates else ""
    lines = ((t("hours") + ":",) + lines if lines else ()) + ((t("opens", when=opens),) if opens else ())
    return "", InfoBody(t("closed"), lines, detail, t("lookup") if m.catalog else "")


def _offline(m: KioskModel, now: float, t):
    if m.connecting(now):
        return "", InfoBody(t("connecting"), (), "", t("lookup") if m.catalog else "")
    if m.failure == "not_authorised":
        return "", InfoBody(t("not_registered_title"), (t("not_registered"),), t("not_registered_detail"),
                            t("lookup") if m.catalog else "")
    why = t("offline_server") if m.connected and m.server_online is False else t("offline_broker")
    return "", InfoBody(t("offline"), (t("reconnects"),), why, t("lookup") if m.catalog else "")


_BODIES = {"home": _home, "priority": _priority, "ticket": _ticket, "fields": _fields, "procedures": _procedures,
           "detail": _detail, "search": _search, "closed": _closed, "offline": _offline}


def clock_text(m: KioskModel, now: float) -> tuple[str, str]:
    """('09:41', 'Thứ Tư, 25/11') in the hall's time zone (the year does not fit the header's corner)."""
    zone = m.config.hall.zone if m.config else ZoneInfo(DEFAULT_TIMEZONE)
    local = datetime.fromtimestamp(now, zone)
    return local.strftime("%H:%M"), f"{weekday_names(m.lang)[local.weekday()]}, {local:%d/%m}"
