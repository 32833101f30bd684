"""The posted procedures as the kiosk shows them, from the retained `catalog` message.

    cat = KioskCatalog.from_payload(payload)     # on paho's thread: parsing and indexing stay off the UI
    cat.fields                                   # [FieldInfo(id, name, name_en, count)]
    cat.in_field("ho-tich")                      # [Proc, …] in catalog order
    cat.search("ket hon")                        # [Proc, …] best first (accents and case ignored)
    cat.answer("lam can cuoc")                   # SearchResult(procs=(), found=False, where="… Công an xã …")
    cat.get("dang-ky-ket-hon").sections          # (("documents", "• Tờ khai … (bản chính)", True), …)

hall.catalog owns the catalog's model and payload; this module turns it into what the screens
need: display text per posted item, in the order a citizen reads them, with each item's
"verified" flag. Search is hall.search's (accents, case, slips, synonyms; "not found" and where
else to go when nothing explains the query well enough).
"""

from __future__ import annotations

from dataclasses import dataclass

from hall.catalog import Catalog, Procedure
from hall.search import SearchIndex
from hall.search_words import fold
from kiosk.texts import nfc

# Posted item (hall.catalog.ITEMS) → heading key of kiosk.texts, in the order the detail page
# shows them: what to bring, how long, how much first; the law's references last.
SECTIONS = (("documents", "documents"), ("time_limit", "time_limit"), ("fee", "fee"), ("steps", "steps"),
            ("channels", "how"), ("applicants", "who"), ("requirements", "conditions"), ("agency", "agency"),
            ("result", "result"), ("forms", "forms"), ("legal_basis", "legal_basis"))


@dataclass(frozen=True)
class Proc:
    id: str
    name: str
    name_en: str
    field: str                                   # field id
    service: str                                 # the hall service whose ticket it takes
    time_limit: str
    fee: str
    sections: tuple[tuple[str, str, bool], ...]  # (heading key, text, verified) in reading order
    source: str = ""

    @property
    def unverified(self) -> bool:
        return not all(v for _, _, v in self.sections)


@dataclass(frozen=True)
class SearchResult:
    """What the search screen shows: the procedures best first, or "not found" and where to ask."""
    procs: tuple[Proc, ...]
    found: bool            # False: the hall does not handle what was typed (or nothing explains it)
    where: str = ""        # the catalog's [search].elsewhere hint for it, Vietnamese; "" when unknown


@dataclass(frozen=True)
class FieldInfo:
    id: str
    name: str
    name_en: str
    count: int


def _item_text(p: Procedure, item: str) -> str:
    value = getattr(p, item)
    if item == "documents":
        return "\n".join(_document(d) for d in value)
    if isinstance(value, tuple):
        return "\n".join(f"• {nfc(v)}" for v in value)
    return nfc(value)


def _document(d) -> str:
    """'• Tờ khai đăng ký khai sinh (bản chính)', '• Ảnh 4x6 (2 bản)'."""
    extra = ([f"{d.count} bản"] if d.count > 1 else []) + ([nfc(d.kind)] if d.kind else [])
    return f"• {nfc(d.name)}" + (f" ({', '.join(extra)})" if extra else "")


class KioskCatalog:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.version = catalog.version
        self.note = nfc(catalog.note)
        self.procs = [Proc(p.id, nfc(p.name), nfc(p.name_en), p.field, p.service, nfc(p.time_limit), nfc(p.fee),
                           tuple((key, _item_text(p, item), p.is_verified(item))
                                 for item, key in SECTIONS if _item_text(p, item)), nfc(p.source))
                      for p in catalog.procedures]
        counts: dict[str, int] = {}
        for p in self.procs:
            counts[p.field] = counts.get(p.field, 0) + 1
        self.fields = [FieldInfo(f.id, nfc(f.name), nfc(f.name_en or f.name), counts.get(f.id, 0))
                       for f in catalog.fields]
        self._by_id = {p.id: p for p in self.procs}
        self._index = SearchIndex(catalog)     # built here, on paho's thread: a few ms per catalog

    @classmethod
    def from_payload(cls, payload: bytes) -> KioskCatalog:
        """Parse the retained message; hall.protocol.ProtocolError when it is not a catalog."""
        return cls(Catalog.from_payload(payload))

    def get(self, proc_id: str) -> Proc | None:
        return self._by_id.get(proc_id)

    def field(self, field_id: str) -> FieldInfo | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def in_field(self, field_id: str) -> list[Proc]:
        return [p for p in self.procs if p.field == field_id]

    def search(self, query: str, limit: int = 30) -> list[Proc]:
        """Procedures for `query`, best first; empty for an empty query and when nothing is found."""
        return list(self.answer(query, limit).procs)

    def answer(self, query: str, limit: int = 30) -> SearchResult:
        """The search screen's answer: the list, or not found (found=False) with the hint of where to go."""
        if not fold(query).strip():
            return SearchResult((), True)
        a = self._index.answer(query, limit=limit)
        return SearchResult(tuple(self._by_id[h.procedure.id] for h in a.hits), a.found, nfc(a.where))
