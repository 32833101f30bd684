"""The ticket's fonts, a glyph-coverage check (a ticket never prints tofu) and how a text fits.

    f = font(BOLD, 32)                        # a cached Pillow FreeTypeFont
    check_glyphs("UBND xã Dang Kang", BOLD)      # fine
    check_glyphs("漢", BOLD, "hall name")      # GlyphMissing: hall name: U+6F22 '漢' (CJK …)
                                              #   is not in DejaVuSans-Bold.ttf
    f, lines = fit("Bảo trợ xã hội – Người có công", BOLD, 38, 28, 544, max_lines=2)
                                              # 38 px, ["Bảo trợ xã hội –", "Người có công"]

DejaVu Sans covers all of Vietnamese (precomposed letters and the combining
marks) and is the `fonts-dejavu-core` package, which `./motcua` installs.
Pillow draws the .notdef box for a character a font lacks, silently; so before
drawing we look every character up in the font's own `cmap` table (read here
with `struct`: fontTools would be one more dependency for ~40 lines).
"""

from __future__ import annotations

import math
import struct
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
REGULAR = FONT_DIR / "DejaVuSans.ttf"
# Characters a ticket may hold that no font draws: spacing only.
_INVISIBLE = {"\n", "\t"}


class FontMissing(RuntimeError):
    """The font file is not installed."""


class GlyphMissing(ValueError):
    """A text holds a character the ticket font cannot draw."""


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FontMissing(f"ticket font {path} is missing: install the Debian package fonts-dejavu-core "
                          "(./motcua does it)")
    return path


@lru_cache(maxsize=256)
def font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """The font at a pixel size; cached, since layout tries many sizes per ticket.

    Basic layout, not raqm: libraqm may be missing on a kiosk (the output would then differ from
    here), and NFC Vietnamese needs no shaping: every letter is one precomposed glyph.
    """
    return ImageFont.truetype(str(_require(path)), size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=8)
def covered(path: Path) -> frozenset[int]:
    """Every code point the font maps to a real glyph (its cmap, formats 4 and 12)."""
    data = _require(path).read_bytes()
    tables = {}
    (count,) = struct.unpack_from(">H", data, 4)
    for i in range(count):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        tables[tag] = offset
    base = tables[b"cmap"]
    (n,) = struct.unpack_from(">H", data, base + 2)
    subtables = {}
    for i in range(n):
        platform, encoding, offset = struct.unpack_from(">HHI", data, base + 4 + 8 * i)
        subtables[(platform, encoding)] = base + offset
    # Prefer the full-Unicode table (3,10), then the BMP one (3,1) or (0,3).
    for key in ((3, 10), (0, 4), (3, 1), (0, 3)):
        if key in subtables:
            return frozenset(_read_cmap(data, subtables[key]))
    raise FontMissing(f"{path} has no Unicode cmap table")


def _read_cmap(data: bytes, at: int) -> set[int]:
    (fmt,) = struct.unpack_from(">H", data, at)
    points: set[int] = set()
    if fmt == 12:
        (groups,) = struct.unpack_from(">I", data, at + 12)
        for g in range(groups):
            start, end, glyph = struct.unpack_from(">III", data, at + 16 + 12 * g)
            points.update(c for c in range(start, end + 1) if glyph + c - start)
        return points
    if fmt != 4:
        raise FontMissing(f"cmap format {fmt} is not supported")
    (seg2,) = struct.unpack_from(">H", data, at + 6)
    ends = at + 14
    starts = ends + seg2 + 2
    deltas, ranges = starts + seg2, starts + 2 * seg2
    for s in range(seg2 // 2):
        (end,), (start,) = struct.unpack_from(">H", data, ends + 2 * s), struct.unpack_from(">H", data, starts + 2 * s)
        (delta,) = struct.unpack_from(">h", data, deltas + 2 * s)
        (rng,) = struct.unpack_from(">H", data, ranges + 2 * s)
        for c in range(start, min(end, 0xFFFE) + 1):
            if rng == 0:
                glyph = (c + delta) & 0xFFFF
            else:   # idRangeOffset is relative to its own slot in the array
                (glyph,) = struct.unpack_from(">H", data, ranges + 2 * s + rng + 2 * (c - start))
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                points.add(c)
    return points


def check_glyphs(text: str, path: Path, what: str = "text") -> None:
    """Raise GlyphMissing naming every character of `text` (NFC) the font has no glyph for."""
    have = covered(path)
    missing = sorted({ch for ch in unicodedata.normalize("NFC", text)
                      if ord(ch) not in have and ch not in _INVISIBLE})
    if missing:
        names = ", ".join(f"U+{ord(c):04X} {c!r} ({unicodedata.name(c, 'unnamed')})" for c in missing)
        raise GlyphMissing(f"{what} {text!r}: {names} not in the ticket font {path.name}; "
                           "the ticket would print empty boxes — change the text in the config")


# --- how a text fits a width: size and lines -----------------------------------------------------


def fit(text: str, path: Path, size: int, min_size: int, box: int,
        max_lines: int = 0) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The size and lines of a paragraph in `box` dots.

    One line if shrinking by ≤ 2 px makes it fit; else the largest size ≤ `size` at which every
    word fits and (with max_lines) the text takes at most that many lines, or else the fewest;
    wrapped at spaces, breaking first at ' · ', then preferably after ' – ' (see `_rebreak`). A word
    too wide even at `min_size` is broken.
    """
    for s in range(size, max(min_size, size - 2) - 1, -1):
        if text_width(font(path, s), text) <= box:
            return font(path, s), [text]
    parts = text.split(" · ")
    best = None
    for s in range(size, min_size - 1, -1):
        f = font(path, s)
        if all(text_width(f, w) <= box for w in text.split()):
            counts = [len(wrap(part, f, box)) for part in parts]
            if not max_lines or sum(counts) <= max_lines:
                best = (f, counts)
                break
            if best is None or sum(counts) < sum(best[1]):   # too long anyway: the fewest lines
                best = (f, counts)
    if best:   # the size is chosen on greedy line counts; then each part's breaks are chosen well
        f, counts = best
        return f, [line for part, n in zip(parts, counts, strict=True) for line in _rebreak(part.split(), f, box, n)]
    f = font(path, min_size)
    return f, [line for part in parts for line in wrap(part, f, box, break_words=True)]


def ink_box(f: ImageFont.FreeTypeFont, text: str) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a line's ink, in dots. FreeType measures a line drawn without
    a stroke in whole pixels; Pillow types the box as float for stroked text, which no ticket draws."""
    left, top, right, bottom = f.getbbox(text)
    return int(left), int(top), int(right), int(bottom)


def extent(f: ImageFont.FreeTypeFont, text: str) -> tuple[int, int]:
    """(left overhang, width) of a line: its advance, widened by any ink that pokes out either side
    (an accent over a final 'ỗ' can reach a dot past the advance)."""
    if not text:
        return 0, 0
    left, _, right, _ = ink_box(f, text)
    over = max(0, -left)
    return over, over + max(right, math.ceil(f.getlength(text)))


def wrap(text: str, f: ImageFont.FreeTypeFont, box: int, break_words: bool = False) -> list[str]:
    """Greedy word wrap (the fewest lines); with break_words a word wider than the box is cut
    between characters."""
    lines: list[str] = []
    for word in text.split():
        pieces = _break(word, f, box) if break_words and text_width(f, word) > box else [word]
        for piece in pieces:
            if lines and text_width(f, f"{lines[-1]} {piece}") <= box:
                lines[-1] = f"{lines[-1]} {piece}"
            else:
                lines.append(piece)
    return lines or [""]


_DASHES = {"–", "—", "-"}


def _rebreak(words: list[str], f: ImageFont.FreeTypeFont, box: int, count: int) -> list[str]:
    """The best `count` lines for `words`: after a dash ('Bảo trợ xã hội –' / 'Người có công') or
    else a comma, no word left alone on the last line ('Người có' / 'công') and no line opening with
    a dash when another break exists; else as full as the greedy fill (the slack of all but the last).

    Dynamic programming over (lines, words); a line's width only grows with its words, so each
    line end tries the few starts that fit.
    """
    n = len(words)
    if count < 2:
        return [" ".join(words)]
    # fits[j]: (start, width) of every line ending before word j that fits, measured once.
    fits: list[list[tuple[int, int]]] = [[] for _ in range(n + 1)]
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            width = text_width(f, " ".join(words[i:j]))
            if width > box:
                break
            fits[j].append((i, width))
    best = [[math.inf] * (n + 1) for _ in range(count + 1)]
    start = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = 0.0
    for k in range(1, count + 1):
        for j in range(k, n + 1):
            for i, width in fits[j]:
                if best[k - 1][i] == math.inf:
                    continue
                last = k == count
                c = best[k - 1][i] + (0.0 if last else ((box - width) / box) ** 2)
                c += 10.0 if words[i] in _DASHES else 0.0                # '– Người có công'
                c -= 0.5 if not last and words[j - 1] in _DASHES else 0.0
                c -= 0.2 if not last and words[j - 1][-1] in ",;:" else 0.0   # '(khiếu nại,' / 'tố cáo'
                c += 1.0 if last and j - i == 1 else 0.0                 # 'công' alone
                if c < best[k][j]:
                    best[k][j], start[k][j] = c, i
    lines, j = [], n
    for k in range(count, 0, -1):
        i = start[k][j]
        lines.append(" ".join(words[i:j]))
        j = i
    return lines[::-1]


def text_width(f: ImageFont.FreeTypeFont, text: str) -> int:
    """The width in dots a line takes on paper (its extent)."""
    return extent(f, text)[1]


def _break(word: str, f: ImageFont.FreeTypeFont, box: int) -> list[str]:
    out, cur = [], ""
    for ch in word:
        if cur and text_width(f, cur + ch) > box:
            out.append(cur)
            cur = ""
        cur += ch
    return out + [cur]
