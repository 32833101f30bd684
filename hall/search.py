"""Search the catalog as citizens type on a kiosk: no accents, any case, a letter missed or doubled.

    index = SearchIndex(catalog)              # once per catalog version (a few ms)
    hits = index.search("ket hon")            # [Hit(procedure=Đăng ký kết hôn, score=…), …]
    index.search("")                          # every procedure, in catalog order

How it ranks: every query word is matched against the words of each procedure —
exactly, as the start of a word (only the last word, while it is being typed, i.e.
not followed by a space), or with one letter missing, extra, wrong or swapped
(same first letter). A procedure is scored by
where each query word matched (name > keywords and English name > field name >
the posted text) and how well (exact > start of word > one-letter slip), plus a
bonus for names the query covers fully and in order. Procedures matching more of
the query words come first; only those matching the most query words are kept.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import pairwise

from hall.catalog import Catalog, Procedure

# Where a word was found: the name counts most; the posted text least.
NAME, ALIAS, FIELD, BODY = 4.0, 3.0, 2.0, 1.0
# How it matched. A whole word beats the start of a word, which beats a one-letter slip,
# so that a typo never outranks what the citizen typed correctly.
EXACT, PREFIX, FUZZY = 1.0, 0.75, 0.3
COVER_BONUS = 1.0    # times the share of the name's words the query matched
ORDER_BONUS = 0.5    # per pair of query words matching neighbouring words of the name, in order
FUZZY_MIN = 3        # shorter words have too many one-letter neighbours ("ho", "hô", "hồ" …)

_DROP_MARKS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Lower case without diacritics: 'Đăng ký' → 'dang ky'."""
    decomposed = unicodedata.normalize("NFD", text.translate(_DROP_MARKS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class Hit:
    procedure: Procedure
    score: float


class SearchIndex:
    """An index of one catalog; build it once, then search on every keystroke."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.procedures = catalog.procedures
        self._names = [words(p.name) for p in self.procedures]
        # word -> {procedure index: best zone weight}; one entry per procedure keeps scoring cheap.
        self._postings: dict[str, dict[int, float]] = {}
        for i, p in enumerate(self.procedures):
            fld = catalog.field(p.field)
            zones = ((NAME, p.name), (ALIAS, " ".join((p.name_en, *p.keywords))),
                     (FIELD, fld.name if fld else ""), (BODY, _body(p)))
            for weight, text in zones:
                for w in words(text):
                    post = self._postings.setdefault(w, {})
                    if post.get(i, 0.0) < weight:
                        post[i] = weight
        self._prefixes: dict[str, list[str]] = {}
        self._deletes: dict[str, list[str]] = {}
        for w in self._postings:
            for n in range(1, len(w)):
                self._prefixes.setdefault(w[:n], []).append(w)
            if len(w) >= FUZZY_MIN:
                for variant in _deletes(w):
                    self._deletes.setdefault(variant, []).append(w)
        self._cache: dict[tuple[str, bool], dict[str, float]] = {}

    def search(self, query: str, field: str | None = None, limit: int | None = None) -> list[Hit]:
        """Procedures for the query, best first; an empty query gives all in catalog order."""
        terms = words(query)
        allowed = range(len(self.procedures)) if field is None else \
            [i for i, p in enumerate(self.procedures) if p.field == field]
        if not terms:
            hits = [Hit(self.procedures[i], 0.0) for i in allowed]
            return hits[:limit] if limit is not None else hits
        # Only the word being typed is matched as the start of a word; a word followed by a space
        # (or by more words) is finished, and 'than' then means 'thân', not 'thành'.
        typing = not query[-1:].isspace()
        matches = [self._matches(t, typing and k == len(terms) - 1) for k, t in enumerate(terms)]
        total: dict[int, float] = {}
        count: dict[int, int] = {}
        for found in matches:
            best: dict[int, float] = {}
            for word, how in found.items():
                for i, weight in self._postings[word].items():
                    s = how * weight
                    if s > best.get(i, 0.0):
                        best[i] = s
            for i, s in best.items():
                total[i] = total.get(i, 0.0) + s
                count[i] = count.get(i, 0) + 1
        allowed_set = set(allowed)
        most = max((count[i] for i in count if i in allowed_set), default=0)
        ranked = []
        for i in allowed:
            if count.get(i, 0) == most and most:
                ranked.append((-(total[i] + self._name_bonus(i, matches)), i))
        ranked.sort()
        hits = [Hit(self.procedures[i], -neg) for neg, i in ranked]
        return hits[:limit] if limit is not None else hits

    def clear_cache(self) -> None:
        """Forget the matches of words already typed (benchmarks measure the uncached keystroke)."""
        self._cache.clear()

    def _matches(self, term: str, prefix: bool) -> dict[str, float]:
        """Index words a query word matches, with how well; cached, since typing repeats earlier words."""
        found = self._cache.get((term, prefix))
        if found is not None:
            return found
        found = {}
        if prefix:
            for w in self._prefixes.get(term, ()):
                found[w] = PREFIX
        if len(term) >= FUZZY_MIN:
            dels = _deletes(term)
            # term = word - a letter: in _deletes[term]; term = word + a letter: a delete of term is the
            # word; one letter wrong or swapped: both share a delete. one_slip weeds out the rest.
            candidates = [w for d in (term, *dels) for w in self._deletes.get(d, ())]
            candidates += [d for d in dels if d in self._postings]
            for w in candidates:
                if w not in found and w[0] == term[0] and len(w) >= FUZZY_MIN and one_slip(term, w):
                    found[w] = FUZZY
        if term in self._postings:
            found[term] = EXACT
        if len(self._cache) > 512:       # bounded: a kiosk runs for months
            self._cache.clear()
        self._cache[(term, prefix)] = found
        return found

    def _name_bonus(self, i: int, matches: list[dict[str, float]]) -> float:
        """Reward names the query covers fully and in order ('Đăng ký khai sinh' over 'Đăng ký lại khai sinh')."""
        name = self._names[i]
        if not name:
            return 0.0
        hit_at = [[j for j, w in enumerate(name) if w in found] for found in matches]
        covered = len({j for at in hit_at for j in at})
        in_order = sum(1 for a, b in pairwise(hit_at) if any(j + 1 in b for j in a))
        return COVER_BONUS * covered / len(name) + ORDER_BONUS * in_order


def _body(p: Procedure) -> str:
    """The posted text searched at the lowest weight (not the source: web addresses are noise)."""
    parts = [*p.steps, *p.channels, *(d.name for d in p.documents), p.time_limit, p.fee, p.applicants,
             p.agency, p.result, *p.legal_basis, *p.forms, p.requirements]
    return " ".join(parts)


def _deletes(word: str) -> set[str]:
    """The word with one letter left out, every way: a missing letter on either side meets here."""
    return {word[:k] + word[k + 1:] for k in range(len(word))}


def one_slip(a: str, b: str) -> bool:
    """True when a and b differ by one letter missing, extra, wrong, or two neighbours swapped."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    k = 0
    while k < min(la, lb) and a[k] == b[k]:
        k += 1
    if la == lb:
        return a[k + 1:] == b[k + 1:] or (a[k + 2:] == b[k + 2:] and a[k:k + 2] == b[k:k + 2][::-1])
    return a[k + 1:] == b[k:] if la > lb else a[k:] == b[k + 1:]
