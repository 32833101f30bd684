"""The ticket's fonts and a glyph-coverage check, so a ticket never prints tofu.

    f = font(BOLD, 32)                        # a cached Pillow FreeTypeFont
    check_glyphs("UBND xã Cư Kty", BOLD)      # fine
    check_glyphs("漢", BOLD, "hall name")      # GlyphMissing: hall name: U+6F22 '漢' (CJK …) is not in DejaVuSans-Bold.ttf

DejaVu Sans covers all of Vietnamese (precomposed letters and the combining
marks) and is the `fonts-dejavu-core` package, which `./motcua` installs.
Pillow draws the .notdef box for a character a font lacks, silently; so before
drawing we look every character up in the font's own `cmap` table (read here
with `struct`: fontTools would be one more dependency for ~40 lines).
"""

from __future__ import annotations

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
    points = set()
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
        (delta,), (rng,) = struct.unpack_from(">h", data, deltas + 2 * s), struct.unpack_from(">H", data, ranges + 2 * s)
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
