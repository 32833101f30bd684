"""Search the catalog as citizens type on a kiosk: no accents, any case, slips, everyday words.

    index = SearchIndex(catalog)              # once per catalog version (~70 ms for 200 procedures)
    index.search("ket hon")                   # [Hit(procedure=Đăng ký kết hôn, score=…), …]: every match
    a = index.answer("lam can cuoc")          # what the kiosk shows: a.found, a.hits, a.where
    index.search("")                          # every procedure, in catalog order

The ranking's rules (kinds of match, weights, the name bonus, "not found") work on one index and
read best together; the words themselves (folding, spellings, sounds, slips) are hall.search_words',
the hall's own words (filler, synonyms, elsewhere) hall.catalog_search's.

How it ranks (docs/catalog.md, "Search", says it for the people who keep the catalog):
- Each query word is matched against each procedure's words: its name counts most, then its
  keywords and English name, its field, and least the posted text. A whole word beats the start
  of a word, which beats a slip (a letter missing, extra, wrong or swapped; or a sound spelled
  as it is said in another region: x/s, tr/ch, gi/r/d, final c/t and ng/n, i/y).
- Only the last word may be a start of a word: the kiosk never adds a trailing space, but
  earlier words were finished with one. A last word that is itself a whole word of the catalog
  ("than" for thân) is taken as whole; its longer words ("thành") count little.
- A slip is only looked for when no name, keyword or field has the word ("sih"), and never
  against the posted text: "tranh" is tranh (chấp), never "trình" in a document's name. A typed
  word that is itself a word of the posted text ("dien": điện tử) may well mean that word: its
  slips ("điều") count little (SLIP_OF_WORD).
- Words weigh what they tell: a word in few procedures ("nghèo") more than one in many
  ("đăng ký"); the hall's filler words ("tôi muốn … cho") little; a word the catalog does not
  know counts fully against every procedure, which is what makes "not found" possible.
- Synonyms and abbreviations of catalog.toml's [search] ("ks" → khai sinh, "chết" → khai tử)
  are matched as well as the typed words, slightly below what was typed literally.
- A bonus for a name (or a keyword phrase) the query covers fully and in order, and a procedure
  whose name is another's plus words (Đăng ký **lại** khai sinh) comes after that everyday one
  unless the query says such a word or types one of its keywords whole ("mất giấy khai sinh").
  So does a re-issue ("Đổi, cấp lại Giấy xác nhận khuyết tật") after the act it repeats, which
  another name joins with "và" ("Xác định … và cấp Giấy xác nhận khuyết tật").
Every procedure matching something stays in the list (more words never drop a name match).
"Not found" is answer()'s: when the best procedure explains less than FOUND_MIN of what was
typed, weighed as above; a phrase of [search].elsewhere then names where to go instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from hall.catalog import Catalog, Elsewhere, Procedure, SearchTerms
from hall.search_words import deletes, one_slip, sound, terms

# Where a word was found (a share of a name match).
NAME, ALIAS, FIELD, BODY = 1.0, 0.8, 0.5, 0.25
# How it matched: a typo never outranks what the citizen typed correctly.
EXACT, PREFIX, FUZZY = 1.0, 0.75, 0.45
SLIP_OF_WORD = 0.2     # a word of the posted text ("điện") is a real word: its slip ("điều") is a guess
PREFIX_OF_WORD = 0.35  # the last word is a whole word of the catalog: "than" means thân, a bit "thành"
SYNONYM = 0.85         # a synonym's words, against a literal match
FILLER = 0.2           # the weight of a filler word ("tôi", "muốn")
PHRASE = 0.6           # the name / keyword phrase bonus, against the words' own scores
COVER, ORDER = 1.0, 0.5
KEYWORD_PHRASE = 0.8   # a keyword phrase covered earns this share of what the name would
FUZZY_MIN = 3          # shorter words have too many one-letter neighbours ("ho", "hô", "hồ" …)
# Found: the best procedure explains at least this share of the query, words weighed by what they
# tell; below it, what matched is a word or two of little meaning ("đăng ký" of "đăng ký kinh
# doanh") and the list would send the citizen to the wrong counter. tests/test_search_quality.py
# and `motcua bench search` measure it on queries written before this was chosen.
FOUND_MIN = 0.5
# Listed once found: procedures explaining at least this share. The intended procedure of every
# answerable query of the set explained 0.53 or more; the tail below 0.35 is a word of the posted
# text or one filler word ("ket hon" listed 20, Đăng ký khai sinh among them for its body's "kết hôn").
LIST_MIN = 0.35

_SLIPS = (FUZZY, SLIP_OF_WORD)
# Words a procedure's name uses for doing it again: "Đổi, cấp lại Giấy X" is the rarer case of "… cấp Giấy X".
_AGAIN = frozenset({"lai", "doi"})


@dataclass(frozen=True)
class Hit:
    procedure: Procedure
    score: float     # per unit of what was typed: comparable between queries (1 ≈ every word in the name)


@dataclass(frozen=True)
class Answer:
    """What the kiosk shows for a query: the list, or "not found" and where else to ask."""
    hits: tuple[Hit, ...]        # empty when not found
    found: bool
    where: str = ""              # the matched [search].elsewhere hint, when not found


@dataclass(frozen=True)
class _Unit:
    """One thing the citizen typed: a word, or a phrase a synonym or an elsewhere entry knows."""
    weight: float                                   # what it tells (idf-like), at most 1
    alternatives: tuple[tuple[dict[str, float], ...], ...]   # per reading, per word: index word → quality
    synonym_from: int                               # readings from this one on are a synonym's
    elsewhere: Elsewhere | None = None


class SearchIndex:
    """An index of one catalog; build it once, then search on every keystroke."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.procedures = catalog.procedures
        n = len(self.procedures)
        terms_of: SearchTerms = catalog.search
        self._phrases = [[terms(p.name)] + [terms(k) for k in p.keywords] for p in self.procedures]
        # word -> {procedure index: best zone weight}; one entry per procedure keeps scoring cheap.
        self._postings: dict[str, dict[int, float]] = {}
        for i, p in enumerate(self.procedures):
            fld = catalog.field(p.field)
            zones = ((NAME, p.name), (ALIAS, " ".join((p.name_en, *p.keywords))),
                     (FIELD, fld.name if fld else ""), (BODY, _body(p)))
            for weight, text in zones:
                for w in terms(text):
                    post = self._postings.setdefault(w, {})
                    if post.get(i, 0.0) < weight:
                        post[i] = weight
        # How telling a word is: 1 in one procedure, about 0.2 in all (log-scaled document frequency).
        self._idf: dict[str, float] = {}
        for w, post in self._postings.items():
            df = sum(1 for z in post.values() if z > BODY) or len(post)
            self._idf[w] = math.log(1 + n / df) / math.log(1 + n) if n > 1 else 1.0
        self._filler = {t for f in terms_of.filler for t in terms(f)}
        for w in self._filler & self._idf.keys():
            self._idf[w] = FILLER
        # Per procedure: (words, their set, their idf total) of its name, then of each keyword phrase.
        self._phrase_info = [[(ph, frozenset(ph), sum(self._idf.get(w, 1.0) for w in ph)) for ph in phrases]
                             for phrases in self._phrases]
        self._named = {w for w, post in self._postings.items() if any(z > BODY for z in post.values())}
        self._prefixes: dict[str, list[str]] = {}
        self._deletes: dict[str, list[str]] = {}
        self._sounds: dict[str, list[str]] = {}
        for w in self._named:
            self._sounds.setdefault(sound(w), []).append(w)
        for w in self._postings:
            for k in range(1, len(w)):
                self._prefixes.setdefault(w[:k], []).append(w)
            if len(w) >= FUZZY_MIN and w in self._named:
                for variant in deletes(w):
                    self._deletes.setdefault(variant, []).append(w)
        self._synonyms = sorted(((tuple(terms(w)), tuple(terms(s.means))) for s in terms_of.synonyms
                                 for w in s.words), key=lambda s: -len(s[0]))
        self._phrase_words = {frozenset(ph) for phrases in self._phrases for ph in phrases}
        # An elsewhere phrase that a procedure of this catalog names (itself or through a synonym) is
        # the hall's own now: it is searched, not sent away.
        self._elsewhere = sorted(((tuple(terms(w)), e) for e in terms_of.elsewhere for w in e.words
                                  if not self._named_phrase(tuple(terms(w)))), key=lambda x: -len(x[0]))
        # "Đăng ký lại khai sinh" is "Đăng ký khai sinh" and a word more: the rarer case of the same thing.
        # So is "Đổi, cấp lại Giấy xác nhận khuyết tật" of "Xác định … và cấp Giấy xác nhận khuyết tật":
        # without its words of doing again it is one of the acts the other's name joins with "và". What
        # makes it rarer is what its name and keywords say and the other's do not ("lại", "mất", "hỏng").
        self._variants: dict[int, list[tuple[int, set[str]]]] = {}
        names = [set(ph[0]) for ph in self._phrases]
        acts = [_acts(ph[0]) for ph in self._phrases]
        said_by = [set().union(*map(set, phrases)) - self._filler for phrases in self._phrases]
        for b, nb in enumerate(names):
            again = nb - _AGAIN
            for a, na in enumerate(names):
                if a != b and na and (na < nb or (again != nb and again in acts[a])):
                    self._variants.setdefault(b, []).append((a, said_by[b] - said_by[a]))
        self._cache: dict[tuple[str, bool], dict[str, float]] = {}

    # --- searching ----------------------------------------------------------------------------

    def search(self, query: str, field: str | None = None, limit: int | None = None) -> list[Hit]:
        """Procedures matching the query, best first; an empty query gives all in catalog order."""
        allowed = range(len(self.procedures)) if field is None else \
            [i for i, p in enumerate(self.procedures) if p.field == field]
        units = self._units(terms(query), typing=not query[-1:].isspace())
        if not units:
            hits = [Hit(self.procedures[i], 0.0) for i in allowed]
            return hits[:limit] if limit is not None else hits
        total = sum(u.weight for u in units)
        ranked = sorted(((-v, i) for i, (v, _) in self._scores(units, allowed).items()))
        hits = [Hit(self.procedures[i], -neg / total) for neg, i in ranked]
        return hits[:limit] if limit is not None else hits

    def answer(self, query: str, field: str | None = None, limit: int | None = None) -> Answer:
        """What a kiosk shows: the ranked list when the best explains enough of the query, else where to go."""
        allowed = range(len(self.procedures)) if field is None else \
            [i for i, p in enumerate(self.procedures) if p.field == field]
        units = self._units(terms(query), typing=not query[-1:].isspace())
        if not units:
            return Answer(tuple(Hit(self.procedures[i], 0.0) for i in allowed)[:limit], True)
        scores = self._scores(units, allowed)
        total = sum(u.weight for u in units)
        best = max((share for _, share in scores.values()), default=0.0)
        if best / total >= FOUND_MIN:
            ranked = sorted((-v, i) for i, (v, share) in scores.items() if share / total >= LIST_MIN)
            return Answer(tuple(Hit(self.procedures[i], -neg / total) for neg, i in ranked)[:limit], True)
        where = next((u.elsewhere.where for u in units if u.elsewhere), "")
        return Answer((), False, where)

    def clear_cache(self) -> None:
        """Forget the matches of words already typed (benchmarks measure the uncached keystroke)."""
        self._cache.clear()

    # --- how ------------------------------------------------------------------------------------

    def _units(self, typed: list[str], typing: bool) -> list[_Unit]:
        """The query as units: elsewhere phrases and synonyms found (longest first), else single words.

        `typing`: the last word may be the start of a word (no space after it; a physical keyboard
        may type one, the kiosk's never leaves one at the end of what was meant).
        """
        units: list[_Unit] = []
        k, last = 0, len(typed) - 1
        started = last if typing else -1     # the one word that may be a start of a word
        while k <= last:
            gone = next(((len(ph), e) for ph, e in self._elsewhere if tuple(typed[k:k + len(ph)]) == ph), None)
            if gone:
                # Counted as typed and matched by nothing: the list must explain the rest well enough.
                units.append(_Unit(1.0, (), 0, gone[1]))
                k += gone[0]
                continue
            syn = next(((lhs, rhs) for lhs, rhs in self._synonyms if tuple(typed[k:k + len(lhs)]) == lhs), None)
            span = len(syn[0]) if syn else 1
            literal = tuple(self._matches(t, k + j == started) for j, t in enumerate(typed[k:k + span]))
            readings = [literal]
            if syn:
                readings.append(tuple(self._matches(t, False) for t in syn[1]))
            weight = self._weight(typed[k:k + span], readings)
            units.append(_Unit(weight, tuple(readings), 1))
            k += span
        return units

    def _weight(self, typed: list[str], readings: list[tuple[dict[str, float], ...]]) -> float:
        if len(typed) == 1 and typed[0] in self._filler:
            return FILLER
        best = [max((self._idf[w] for w in found if w in self._named), default=0.0)
                for reading in readings for found in reading]
        told = max(best, default=0.0)
        # A word no name, keyword or field holds (at most the posted text) still counts fully: the
        # citizen meant something this catalog does not name.
        return told if told > 0 else 1.0

    def _scores(self, units: list[_Unit], allowed) -> dict[int, tuple[float, float]]:
        """procedure index → (rank value, the weighted share of the query it explains)."""
        share: dict[int, float] = {}
        literal: list[set[str]] = []     # per unit: the index words its typed words matched
        meant: list[set[str]] = []       # …and those its synonym matched
        for u in units:
            best: dict[int, float] = {}
            seen: list[set[str]] = [set(), set()]
            for r, reading in enumerate(u.alternatives):
                factor = SYNONYM if r >= u.synonym_from else 1.0
                per_word = []
                for found in reading:
                    wbest: dict[int, float] = {}
                    for w, how in found.items():
                        seen[r >= u.synonym_from].add(w)
                        for i, zone in self._postings[w].items():
                            if how in _SLIPS and zone <= BODY:
                                continue      # a slip against the posted text is noise, not meaning
                            s = how * zone
                            if s > wbest.get(i, 0.0):
                                wbest[i] = s
                    per_word.append(wbest)
                # A synonym means all of its words ("hộ nghèo"): half of them is another procedure.
                ids = set.intersection(*map(set, per_word)) if r >= u.synonym_from else set().union(*per_word)
                for i in ids:
                    s = factor * sum(pw.get(i, 0.0) for pw in per_word) / len(per_word)
                    if s > best.get(i, 0.0):
                        best[i] = s
            literal.append(seen[0])
            meant.append(seen[0] | seen[1])
            for i, s in best.items():
                share[i] = share.get(i, 0.0) + u.weight * s
        weights = [u.weight for u in units]
        allowed_set = set(allowed)
        scores = {i: (s + PHRASE * self._phrase_bonus(i, literal, meant, weights), s)
                  for i, s in share.items() if i in allowed_set}
        said = set().union(*meant)
        for b, bases in self._variants.items():
            if b not in scores or self._keyword_typed(b, literal):
                continue
            for a, extra in bases:
                # The rarer variant comes after the everyday procedure unless the query says what
                # makes it rarer ("lại") or types one of its keywords as they are.
                if a in scores and not extra & said and scores[b][0] >= scores[a][0]:
                    scores[b] = (scores[a][0] - 1e-6, scores[b][1])
        return scores

    def _keyword_typed(self, i: int, literal: list[set[str]]) -> bool:
        """Is one of the procedure's keyword phrases typed whole, word after word ("mất giấy chứng tử")?"""
        for ph in self._phrases[i][1:]:
            n = len(ph)
            for k in range(len(literal) - n + 1):
                if all(ph[j] in literal[k + j] for j in range(n)):
                    return True
        return False

    def _phrase_bonus(self, i: int, literal: list[set[str]], meant: list[set[str]], weights: list[float]) -> float:
        """Reward a name (and a keyword phrase) the query covers fully, in order, with little else typed.

        Coverage is weighed by what words tell: "Đăng ký lại kết hôn" left without its "lại" loses
        more than "Đăng ký kết hôn" left without "đăng ký". A name is covered by synonyms too
        ("ks" covers "khai sinh"); a keyword phrase, being the citizens' own words, only literally.
        """
        phrases = self._phrase_info[i]
        total = sum(weights)
        any_literal, any_meant = set().union(*literal), set().union(*meant)
        value = self._phrase_value(phrases[0], meant, any_meant, weights, total)
        keyword = max((self._phrase_value(ph, literal, any_literal, weights, total) for ph in phrases[1:]),
                      default=0.0)
        return value + KEYWORD_PHRASE * keyword

    def _phrase_value(self, info: tuple[list[str], frozenset[str], float], hit_words: list[set[str]],
                      any_hit: set[str], weights: list[float], total: float) -> float:
        phrase, words_of, idf_total = info
        if not phrase or words_of.isdisjoint(any_hit):
            return 0.0
        hit_at = [[j for j, w in enumerate(phrase) if w in found] if not words_of.isdisjoint(found) else []
                  for found in hit_words]
        covered = {j for at in hit_at for j in at}
        idf = self._idf
        of_phrase = sum(idf.get(phrase[j], 1.0) for j in covered) / idf_total
        of_query = sum(wt for wt, at in zip(weights, hit_at, strict=True) if at) / total
        in_order = sum(1 for a, b in pairwise(hit_at) if any(j + 1 in b for j in a))
        return COVER * of_phrase * of_query + ORDER * in_order / max(len(hit_at) - 1, 1)

    def _matches(self, term: str, last: bool) -> dict[str, float]:
        """Index words a query word matches, with how well; cached, since typing repeats earlier words."""
        found = self._cache.get((term, last))
        if found is not None:
            return found
        found = {}
        # A word of the posted text only ("khảo") may still be a slip of a name's word ("khai").
        named = term in self._named
        if last:
            start = PREFIX_OF_WORD if term in self._named else PREFIX
            for w in self._prefixes.get(term, ()):
                found[w] = start
        # The posted text holds it ("dien": điện tử, đại diện): the citizen may well mean that word.
        slip = FUZZY if term not in self._postings else SLIP_OF_WORD
        if not named and len(term) >= FUZZY_MIN:
            dels = deletes(term)
            # term = word - a letter: in _deletes[term]; term = word + a letter: a delete of term is the
            # word; one letter wrong or swapped: both share a delete. one_slip weeds out the rest.
            candidates = [w for d in (term, *dels) for w in self._deletes.get(d, ())]
            candidates += [d for d in dels if d in self._named]
            for w in candidates:
                if w not in found and w[0] == term[0] and one_slip(term, w):
                    found[w] = slip
        if not named:
            for w in self._sounds.get(sound(term), ()):
                found.setdefault(w, slip)
        if term in self._postings:
            found[term] = EXACT
        if len(self._cache) > 512:       # bounded: a kiosk runs for months
            self._cache.clear()
        self._cache[(term, last)] = found
        return found

    def _named_phrase(self, phrase: tuple[str, ...]) -> bool:
        """Does some procedure's name or keyword hold all these words (or a synonym's meaning of them)?"""
        meanings = [set(phrase)] + [set(rhs) for lhs, rhs in self._synonyms if lhs == phrase]
        return any(m <= words_ for m in meanings for words_ in self._phrase_words)


def _body(p: Procedure) -> str:
    """The posted text searched at the lowest weight (not the source: web addresses are noise)."""
    parts = [*p.steps, *p.channels, *(d.name for d in p.documents), p.time_limit, p.fee, p.applicants,
             p.agency, p.result, *p.legal_basis, *p.forms, p.requirements]
    return " ".join(parts)


def _acts(name: list[str]) -> list[set[str]]:
    """A name's words, and those of each act it joins with "và" ("Xác định … và cấp Giấy …")."""
    parts: list[set[str]] = [set(name)]
    part: set[str] = set()
    for w in name:
        if w == "va":
            parts.append(part)
            part = set()
        else:
            part.add(w)
    return parts + [part] if len(parts) > 1 else parts
