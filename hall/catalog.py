"""The posted procedure catalog (niêm yết công khai): catalog.toml → frozen dataclasses → retained `catalog`.

    cat = load_catalog("examples/dang-kang/catalog.toml", hall=cfg)  # CatalogError names file, line, key
    cat.procedure("dang-ky-khai-sinh").documents[0].count          # 1
    payload = cat.to_payload()                                     # the retained `catalog` message
    Catalog.from_payload(payload) == cat                           # True

The file format is described for clerks in docs/catalog.md; the payload in docs/protocol.md.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hall.catalog_search import Elsewhere, SearchTerms, Synonym, search_terms
from hall.config import ID_PATTERN
from hall.tomlcheck import ConfigError, Table, check, line_of
from hall.wire import Fields, ProtocolError, decode, encode

if TYPE_CHECKING:
    from hall.config import HallConfig

# Procedure ids are slugs of long Vietnamese names ("cap-giay-xac-nhan-tinh-trang-hon-nhan").
PROCEDURE_ID = r"[a-z0-9][a-z0-9-]{0,63}"
# The posted items of a procedure, in the order a detail page shows them.
ITEMS = ("steps", "channels", "documents", "time_limit", "fee", "applicants", "agency", "result",
         "legal_basis", "forms", "requirements")
# Mosquitto cuts packets over 256 KiB (broker/mosquitto.py max_packet_size); leave room for the header.
MAX_CATALOG_PAYLOAD = 240 * 1024
_LONG = 2000   # longest text of one posted item or step


class CatalogError(ConfigError):
    """A catalog file is wrong; the message names the file, the line when known, the key and the problem."""

    def __init__(self, file: str | Path, key: str, problem: str, line: int | None = None):
        super().__init__(file, key, problem)
        self.line = line
        if line:
            where = f": key '{key}'" if key else ""
            self.args = (f"{file}:{line}{where}: {problem}",)


@dataclass(frozen=True)
class Document:
    """One paper of the dossier (thành phần hồ sơ)."""
    name: str
    count: int = 1    # copies to hand in (số lượng)
    kind: str = ""    # 'bản chính', 'bản sao', 'xuất trình' …; empty when the source does not say

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "count": self.count, "kind": self.kind}

    @classmethod
    def from_dict(cls, f: Fields) -> Document:
        return cls(f.text("name"), f.integer("count", 1), f.text("kind", ""))


@dataclass(frozen=True)
class Field:
    """A field (lĩnh vực), e.g. Hộ tịch; the kiosk's first list."""
    id: str
    name: str
    name_en: str
    service: str      # the hall.toml service its procedures queue for, unless a procedure says otherwise

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "name_en": self.name_en, "service": self.service}

    @classmethod
    def from_dict(cls, f: Fields) -> Field:
        return cls(f.text("id"), f.text("name"), f.text("name_en", ""), f.text("service"))


@dataclass(frozen=True)
class Verification:
    """Where each verified item of a procedure was checked, and when (catalog.toml's `sources`, `verified_on`).

    Kept for the people who maintain the catalog (`motcua catalog check --report`); not posted in the
    retained `catalog` message, whose readers need only which items are unverified.
    """
    verified_on: date | None                # the day the verified items were last checked
    sources: tuple[tuple[str, str], ...]    # (item, the law/decree/circular and article, or the procedure page)
    why: tuple[tuple[str, str], ...]        # (item, why it is still unverified), from `unverified_why`

    def source(self, item: str) -> str:
        return next((text for i, text in self.sources if i == item), "")

    def reason(self, item: str) -> str:
        return next((text for i, text in self.why if i == item), "")


@dataclass(frozen=True)
class Procedure:
    """One administrative procedure with every item the law requires to be posted."""
    id: str
    field: str
    service: str                       # the hall.toml service "Lấy số cho thủ tục này" takes a ticket for
    name: str
    name_en: str
    keywords: tuple[str, ...]          # words citizens use ("giấy khai sinh"), only for search
    steps: tuple[str, ...]             # trình tự thực hiện
    channels: tuple[str, ...]          # cách thức thực hiện
    documents: tuple[Document, ...]    # thành phần, số lượng hồ sơ
    time_limit: str                    # thời hạn giải quyết
    fee: str                           # phí, lệ phí
    applicants: str                    # đối tượng thực hiện
    agency: str                        # cơ quan thực hiện
    result: str                        # kết quả thực hiện
    legal_basis: tuple[str, ...]       # căn cứ pháp lý
    forms: tuple[str, ...]             # mẫu đơn, tờ khai
    requirements: str                  # yêu cầu, điều kiện
    source: str                        # where the facts come from
    unverified: tuple[str, ...]        # items (of ITEMS) not checked against the source
    # Only a catalog read from its file has it; not in the payload, so not compared or hashed.
    checked: Verification | None = dataclass_field(default=None, compare=False, repr=False)

    @property
    def verified(self) -> bool:
        return not self.unverified

    def is_verified(self, item: str) -> bool:
        """False for an item the kiosk should show as "chưa được kiểm chứng"."""
        assert item in ITEMS, item
        return item not in self.unverified

    def to_dict(self) -> dict[str, Any]:
        """Field order is the version hash's input: never reorder."""
        return {"id": self.id, "field": self.field, "service": self.service, "name": self.name,
                "name_en": self.name_en, "keywords": list(self.keywords), "steps": list(self.steps),
                "channels": list(self.channels), "documents": [d.to_dict() for d in self.documents],
                "time_limit": self.time_limit, "fee": self.fee, "applicants": self.applicants,
                "agency": self.agency, "result": self.result, "legal_basis": list(self.legal_basis),
                "forms": list(self.forms), "requirements": self.requirements, "source": self.source,
                "unverified": list(self.unverified), "verified": self.verified}

    @classmethod
    def from_dict(cls, f: Fields) -> Procedure:
        # `verified` is derived from `unverified`: read for people, not back.
        return cls(f.text("id"), f.text("field"), f.text("service"), f.text("name"), f.text("name_en", ""),
                   f.texts("keywords", ()), f.texts("steps", ()), f.texts("channels", ()),
                   f.each("documents", Document.from_dict), f.text("time_limit", ""), f.text("fee", ""),
                   f.text("applicants", ""), f.text("agency", ""), f.text("result", ""),
                   f.texts("legal_basis", ()), f.texts("forms", ()), f.text("requirements", ""),
                   f.text("source", ""), f.texts("unverified", ()))


@dataclass(frozen=True)
class Catalog:
    name: str
    note: str
    fields: tuple[Field, ...]
    procedures: tuple[Procedure, ...]
    version: str    # sha256 of the canonical JSON of everything above: kiosks redraw when it changes
    search: SearchTerms = SearchTerms()   # hashed too; absent from the payload when empty (older hashes hold)

    def field(self, field_id: str) -> Field | None:
        return next((f for f in self.fields if f.id == field_id), None)

    def procedure(self, procedure_id: str) -> Procedure | None:
        return next((p for p in self.procedures if p.id == procedure_id), None)

    def procedures_of(self, field_id: str) -> tuple[Procedure, ...]:
        """A field's procedures in catalog order."""
        return tuple(p for p in self.procedures if p.field == field_id)

    def to_dict(self) -> dict[str, Any]:
        """The content without the version: what the version hashes."""
        content = {"name": self.name, "note": self.note, "fields": [f.to_dict() for f in self.fields],
                   "procedures": [p.to_dict() for p in self.procedures]}
        return {**content, "search": self.search.to_dict()} if self.search else content

    def to_payload(self) -> bytes:
        """The retained `catalog` message."""
        return encode({"version": self.version, **self.to_dict()})

    @classmethod
    def from_dict(cls, f: Fields) -> Catalog:
        return cls(f.text("name"), f.text("note", ""), f.each("fields", Field.from_dict),
                   f.each("procedures", Procedure.from_dict), f.text("version"),
                   SearchTerms.from_dict(f.sub("search")) if "search" in f.obj else SearchTerms())

    @classmethod
    def from_payload(cls, payload: bytes) -> Catalog:
        """A catalog from the retained message; ProtocolError if it is not one (unknown fields are ignored)."""
        try:
            obj = decode(payload, limit=MAX_CATALOG_PAYLOAD)
        except ProtocolError as err:
            raise ProtocolError(err.code, f"catalog: {err.detail or 'not a v1 JSON object'}") from None
        return cls.from_dict(Fields(obj, "catalog", "bad_json"))


def make_catalog(name: str, note: str, fields, procedures, search: SearchTerms | None = None) -> Catalog:
    """A catalog with its version computed from its content."""
    draft = Catalog(name, note, tuple(fields), tuple(procedures), "", search or SearchTerms())
    canonical = json.dumps(draft.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Catalog(draft.name, draft.note, draft.fields, draft.procedures,
                   hashlib.sha256(canonical.encode("utf-8")).hexdigest(), draft.search)


# --- loading catalog.toml --------------------------------------------------------

def load_catalog(path: str | Path, hall: HallConfig | None = None) -> Catalog:
    """Read and check catalog.toml (against the hall's services when given); raises CatalogError."""
    try:
        return _load(path, hall)
    except CatalogError:
        raise
    except ConfigError as err:
        raise CatalogError(err.file, err.key, err.problem, line_of(path, err.key)) from None


def _load(path: str | Path, hall: HallConfig | None) -> Catalog:
    root = Table.load(path)
    # Text typed with a "Unicode tổ hợp" keyboard setting is decomposed; store one form so that
    # hashes, search and fonts all see the same letters.
    root.data = _nfc(root.data)
    c = root.table("catalog")
    name = c.text("name", max_len=300)
    note = c.text("note", "", allow_empty=True, max_len=_LONG)
    c.done()
    services = {s.id for s in hall.services} if hall else None
    fields = []
    for f in root.tables("fields"):
        fld = Field(f.text("id", pattern=ID_PATTERN), f.text("name"), f.text("name_en", "", allow_empty=True),
                    _service(f, "service", services))
        f.done()
        fields.append(fld)
    check(root, "fields", bool(fields), "the catalog needs at least one field ([[fields]])")
    _unique(root, "fields", [f.id for f in fields])
    by_id = {f.id: f for f in fields}
    procedures = [_procedure(p, by_id, services) for p in root.tables("procedures")]
    check(root, "procedures", bool(procedures), "the catalog needs at least one procedure ([[procedures]])")
    _unique(root, "procedures", [p.id for p in procedures])
    for i, fld in enumerate(fields):
        # An empty field would be a dead end on the kiosk's first screen.
        check(root, f"fields[{i + 1}]", any(p.field == fld.id for p in procedures),
              f"field '{fld.id}' has no procedures")
    search = search_terms(root.table("search", optional=True))
    root.done()
    catalog = make_catalog(name, note, fields, procedures, search)
    size = len(catalog.to_payload())
    check(root, "", size <= MAX_CATALOG_PAYLOAD, f"the catalog is {size // 1024} KB as an MQTT message; "
          f"at most {MAX_CATALOG_PAYLOAD // 1024} KB fit (shorten texts or split the hall's catalog)")
    return catalog


_KEYS = {"id", "field", "service", "name", "name_en", "keywords", "source", "verified", "unverified",
         "verified_on", "sources", "unverified_why", *ITEMS}


def _procedure(p: Table, fields: dict[str, Field], services: set[str] | None) -> Procedure:
    # Unknown keys first: 'fees' is a typo of 'fee', which "fee is missing" would hide.
    unknown = sorted(set(p.data) - _KEYS)
    if unknown:
        raise p.error(unknown[0], "is not a known setting (check the spelling)")
    pid = p.text("id", pattern=PROCEDURE_ID)
    field_id = p.text("field", pattern=ID_PATTERN)
    check(p, "field", field_id in fields, f"'{field_id}' is not a field id of [[fields]] "
          f"({', '.join(fields)})")
    service = _service(p, "service", services) if p.has("service") else fields[field_id].service
    verified = p.boolean("verified")
    unverified = p.texts("unverified", ())
    for item in unverified:
        check(p, "unverified", item in ITEMS, f"'{item}' is not a posted item ({', '.join(ITEMS)})")
    check(p, "unverified", not (verified and unverified), "lists unverified items but 'verified = true'")
    if not verified and not unverified:
        unverified = ITEMS   # verified = false alone: nothing in it was checked
    checked = _verification(p, unverified)
    proc = Procedure(
        id=pid, field=field_id, service=service, name=p.text("name", max_len=300),
        name_en=p.text("name_en", "", allow_empty=True, max_len=300), keywords=p.texts("keywords", ()),
        steps=_texts(p, "steps"), channels=_texts(p, "channels"), documents=_documents(p),
        time_limit=_long(p, "time_limit"), fee=_long(p, "fee"), applicants=_long(p, "applicants"),
        agency=_long(p, "agency"), result=_long(p, "result"), legal_basis=_texts(p, "legal_basis"),
        forms=_texts(p, "forms"), requirements=_long(p, "requirements"), source=_long(p, "source"),
        unverified=tuple(i for i in ITEMS if i in unverified),   # ITEMS order: stable hash
        checked=checked)
    p.done()
    return proc


def _verification(p: Table, unverified: tuple[str, ...]) -> Verification:
    """`sources`, `unverified_why`, `verified_on`; an item may be shown as verified only with its source."""
    sources = _item_texts(p, "sources")
    why = _item_texts(p, "unverified_why")
    for item, _ in why:
        check(p, f"unverified_why.{item}", item in unverified,
              f"'{item}' is not in 'unverified': a reason is only for an unverified item")
    named = {item for item, _ in sources}
    claimed = [item for item in ITEMS if item not in unverified]
    for item in claimed:
        check(p, "sources", item in named, f"'{item}' is shown as verified but has no source: add "
              f"sources.{item} = \"<law, decree, circular or procedure page, with the article>\", "
              f"or list '{item}' in 'unverified'")
    # tomlcheck.Table has no date reader; _get marks the key as read for done().
    on = p._get("verified_on", None)
    if on is not None:
        check(p, "verified_on", isinstance(on, date) and not isinstance(on, datetime),
              f"must be a date written as 2026-12-02 (no quotes, no time), not {on!r}")
        check(p, "verified_on", on <= date.today(), f"{on.isoformat()} is in the future")
    check(p, "verified_on", on is not None or not claimed,
          f"is required when items are shown as verified ({', '.join(claimed)}): the day they were checked")
    return Verification(on, sources, why)


def _item_texts(p: Table, name: str) -> tuple[tuple[str, str], ...]:
    """A table of posted item → text (`sources`, `unverified_why`), in ITEMS order."""
    t = p.table(name, optional=True)
    for item in t.data:
        check(t, item, item in ITEMS, f"'{item}' is not a posted item ({', '.join(ITEMS)})")
    return tuple((item, _long(t, item)) for item in ITEMS if item in t.data)


def _service(t: Table, name: str, services: set[str] | None) -> str:
    value = t.text(name, pattern=ID_PATTERN)
    if services is not None:
        check(t, name, value in services, f"service '{value}' is not in the hall's hall.toml "
              f"({', '.join(sorted(services))})")
    return value


def _long(t: Table, name: str) -> str:
    return t.text(name, max_len=_LONG).strip()


def _texts(t: Table, name: str) -> tuple[str, ...]:
    items = t.texts(name)
    check(t, name, bool(items), "must list at least one text")
    for i, item in enumerate(items):
        check(t, name, bool(item.strip()), f"entry {i + 1} is empty")
        check(t, name, len(item) <= _LONG, f"entry {i + 1} is longer than {_LONG} characters")
    return tuple(item.strip() for item in items)


def _documents(p: Table) -> tuple[Document, ...]:
    raw = p.data.get("documents")
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        docs = tuple(Document(text) for text in _texts(p, "documents"))   # plain names: one copy each
    else:
        tables = []
        for d in p.tables("documents"):
            tables.append(Document(_long(d, "name"), d.integer("count", 1, low=1, high=99),
                                   d.text("kind", "", allow_empty=True, max_len=100).strip()))
            d.done()
        docs = tuple(tables)
    check(p, "documents", bool(docs), "must list at least one document")
    return docs


def _unique(t: Table, name: str, ids: list[str]) -> None:
    seen: dict[str, int] = {}
    for k, i in enumerate(ids, 1):
        # Name the second entry's id, so the error has a line to point at.
        check(t, f"{name}[{k}].id", i not in seen, f"entry {seen.get(i)} has the same id '{i}'")
        seen[i] = k


def _nfc(value):
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, dict):
        return {k: _nfc(v) for k, v in value.items()}
    return value


__all__ = ["Catalog", "CatalogError", "Document", "Elsewhere", "Field", "ITEMS", "MAX_CATALOG_PAYLOAD",
           "Procedure", "SearchTerms", "Synonym",
           "Verification", "load_catalog", "make_catalog"]
