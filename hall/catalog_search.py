"""catalog.toml's [search] section: the hall's own words for the kiosk's search.

    terms = search_terms(table)      # from hall.catalog's loader: SearchTerms, or ConfigError naming the key
    terms.synonyms[0].means          # 'khai sinh' for "ks"

Filler words, synonyms and abbreviations, and the procedures another office handles, kept in
the catalog file so a hall can extend them (docs/catalog.md, "Search"); hall/search.py uses
them. Apart from hall/catalog.py so that file keeps to the procedures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hall.tomlcheck import Table, check
from hall.wire import Fields


@dataclass(frozen=True)
class Synonym:
    """Words citizens type for what the catalog names otherwise: "ks" and "giấy ks" mean "khai sinh"."""
    words: tuple[str, ...]   # as typed, one or more words each ("sổ đỏ")
    means: str               # the catalog's own words, searched as well as what was typed

    def to_dict(self) -> dict[str, Any]:
        return {"words": list(self.words), "means": self.means}

    @classmethod
    def from_dict(cls, f: Fields) -> Synonym:
        return cls(f.texts("words"), f.text("means"))


@dataclass(frozen=True)
class Elsewhere:
    """A procedure another office handles ("căn cước" → Công an xã): the kiosk says where, lists nothing."""
    words: tuple[str, ...]   # what citizens type for it
    where: str               # the hint the kiosk shows, Vietnamese

    def to_dict(self) -> dict[str, Any]:
        return {"words": list(self.words), "where": self.where}

    @classmethod
    def from_dict(cls, f: Fields) -> Elsewhere:
        return cls(f.texts("words"), f.text("where"))


@dataclass(frozen=True)
class SearchTerms:
    """catalog.toml's [search]: the hall's own words for the kiosk's search (hall/search.py, docs/catalog.md)."""
    filler: tuple[str, ...] = ()            # words of a sentence ("tôi", "muốn") that name no procedure
    synonyms: tuple[Synonym, ...] = ()
    elsewhere: tuple[Elsewhere, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.filler or self.synonyms or self.elsewhere)

    def to_dict(self) -> dict[str, Any]:
        return {"filler": list(self.filler), "synonyms": [s.to_dict() for s in self.synonyms],
                "elsewhere": [e.to_dict() for e in self.elsewhere]}

    @classmethod
    def from_dict(cls, f: Fields) -> SearchTerms:
        return cls(f.texts("filler", ()), f.each("synonyms", Synonym.from_dict, ()),
                   f.each("elsewhere", Elsewhere.from_dict, ()))



def search_terms(t: Table) -> SearchTerms:
    """[search]: filler words, synonyms and the procedures handled elsewhere (docs/catalog.md, "Search")."""
    filler = t.texts("filler", ())
    synonyms = []
    for s in t.tables("synonyms", optional=True):
        synonyms.append(Synonym(_search_words(s, "words"), s.text("means", max_len=200)))
        check(s, "means", bool(_folded_words(synonyms[-1].means)), "must hold at least one word")
        s.done()
    elsewhere = []
    for e in t.tables("elsewhere", optional=True):
        # Two lines on the 7" screen, under "Không tìm thấy thủ tục này …" and above the keyboard.
        elsewhere.append(Elsewhere(_search_words(e, "words"), e.text("where", max_len=120).strip()))
        e.done()
    for i, w in enumerate(filler):
        check(t, "filler", len(_folded_words(w)) == 1, f"entry {i + 1} ({w!r}) must be one word")
    t.done()
    return SearchTerms(tuple(filler), tuple(synonyms), tuple(elsewhere))


def _search_words(t: Table, name: str) -> tuple[str, ...]:
    items = t.texts(name)
    check(t, name, bool(items), "must list at least one word or phrase")
    for i, item in enumerate(items):
        check(t, name, bool(_folded_words(item)), f"entry {i + 1} ({item!r}) has no letters or digits")
    return items


def _folded_words(text: str) -> list[str]:
    # The words hall.search will see (it imports this module, so it cannot be imported here).
    return "".join(c if c.isalnum() else " " for c in text).split()


__all__ = ["Elsewhere", "SearchTerms", "Synonym", "search_terms"]
