"""The words of search (hall.search): folded, spelled one way, as they sound, and their slips.

    fold("Đăng ký") == "dang ky";  terms("Lý lịch") == ["li", "lich"];  sound("trinh") == "chin"
    one_slip("sinh", "sih")        # True: a letter missing, extra, wrong, or two neighbours swapped
"""

from __future__ import annotations

import re
import unicodedata

_DROP_MARKS = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})
_WORD = re.compile(r"[a-z0-9]+")
_FINAL_Y = re.compile(r"^([^aeiouy]+)y$")       # kỳ/kì, lý/lí, sỹ/sĩ: one syllable written two ways
_VOWELS = set("aeiouy")


def fold(text: str) -> str:
    """Lower case without diacritics: 'Đăng ký' → 'dang ky'."""
    decomposed = unicodedata.normalize("NFD", text.translate(_DROP_MARKS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def terms(text: str) -> list[str]:
    """The words search compares: folded, and 'ky' read as 'ki' (both spellings are correct)."""
    return [w[:-1] + "i" if w[-1] == "y" and _FINAL_Y.match(w) else w for w in words(text)]


def sound(word: str) -> str:
    """A word as it sounds across regions: x/s, tr/ch, gi/r/d, k/c, ngh/ng, final c/t, ng/nh/n, doubled letters."""
    w = word
    for a, b in (("ngh", "ng"), ("gh", "g"), ("tr", "ch"), ("gi", "d"), ("r", "d"), ("x", "s"), ("q", "c")):
        if w.startswith(a):
            w = b + w[len(a):]
            break
    if w.startswith("k") and not w.startswith("kh"):
        w = "c" + w[1:]
    w = re.sub(r"(.)\1+", r"\1", w)
    for a, b in (("ng", "n"), ("nh", "n"), ("ch", "t"), ("c", "t")):
        if w.endswith(a) and len(w) > len(a) and w[-len(a) - 1] in _VOWELS:
            w = w[:-len(a)] + b
            break
    return w


def deletes(word: str) -> set[str]:
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
