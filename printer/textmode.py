"""The same ticket as text, for slow serial printers: ~1 KB instead of ~18 KB.

    job = encode_text_ticket(info, load_profile("TM-T88V"))        # TCVN-3: every accent printed
    job = encode_text_ticket(info, load_profile("NT-80-V-UL"))     # no Vietnamese page: "Ho tich"
    encoding_for(profile)                                          # "TCVN-3" | "CP1258" | "ASCII"

Which code page, from what the profile claims (its `ESC t` table):
- "TCVN-3": pages TCVN-3-1 (lower case) and TCVN-3-2 (upper case) hold every
  Vietnamese letter precomposed, one byte each; python-escpos's MagicEncode
  switches between the two pages as the text needs. Epson TM printers have it.
- "CP1258": Windows Vietnamese. It has the base letters (ă â ê ô ơ ư đ) but
  writes the five tone marks as combining characters after the letter; cheap
  printers often draw the mark beside the letter instead of over it (docs/
  ticket-layout.md). Still every letter survives, so it beats stripping.
- "ASCII": no Vietnamese page: accents removed (NFD, marks dropped, đ→d, Đ→D).
Digits and ASCII letters are the same in every page, so the number is always exact.
A character no chosen page has is replaced by its accent-less form, then by '?'.
The number is printed big with GS ! (character size), the ƯU TIÊN line reversed
(GS B), the QR code by the printer itself (GS ( k) where the profile has it.
"""

from __future__ import annotations

import textwrap
import unicodedata

from printer.escpos_job import finish
from printer.profiles import PrinterProfile
from printer.ticket import TEST_MARK, TicketInfo

ENCODINGS = ("TCVN-3", "CP1258", "ASCII")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}       # huyền, sắc, ngã, hỏi, nặng
_PLAIN = {"đ": "d", "Đ": "D", "·": "-", "–": "-", "—": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "…": "..."}
MAX_NUMBER_SCALE = 5       # GS ! allows 8; 5 × 24 dots is a 15 mm number, enough without wasting paper


def encoding_for(profile: PrinterProfile) -> str:
    """The best Vietnamese-capable code page family the profile claims."""
    pages = set(profile.code_pages)
    if {"TCVN-3-1", "TCVN-3-2"} <= pages:
        return "TCVN-3"
    if "CP1258" in pages:
        return "CP1258"
    return "ASCII"


def fold(text: str) -> str:
    """Vietnamese without accents: 'Đăng ký khai sinh' → 'Dang ky khai sinh'."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        ch = _PLAIN.get(ch, ch)
        out.append("".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)))
    return "".join(out)


def to_cp1258(text: str) -> str:
    """CP1258's own normal form: base letters it has precomposed, tone marks as combining characters."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if _in_cp1258(ch):
            out.append(ch)
            continue
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", parts[0] + "".join(c for c in parts[1:] if c not in _TONES))
        tones = "".join(c for c in parts[1:] if c in _TONES)
        out.append(base + tones if _in_cp1258(base) and all(map(_in_cp1258, tones)) else _plain(ch))
    return "".join(out)


def _in_cp1258(ch: str) -> bool:
    try:
        ch.encode("cp1258")
        return True
    except UnicodeEncodeError:
        return False


def _plain(ch: str) -> str:
    folded = fold(ch)
    return folded if folded.isascii() else "?"


class _Writer:
    """Text through python-escpos's MagicEncode, restricted to the pages of one encoding family."""

    def __init__(self, profile: PrinterProfile, encoding: str):
        from escpos.magicencode import Encoder, MagicEncode

        self.p = profile.dummy()
        self.encoding = encoding
        pages = {"TCVN-3": ("TCVN-3-1", "TCVN-3-2"), "CP1258": ("CP1258",)}.get(encoding, ())
        self.pages = {name: profile.code_page(name) for name in pages}
        if self.pages:
            self.encoder = Encoder(self.pages)
            self.p.magic = MagicEncode(self.p, encoder=self.encoder)

    def prepare(self, text: str) -> str:
        """The text in characters the chosen pages can carry (accents dropped only where they cannot)."""
        text = unicodedata.normalize("NFC", text)
        if self.encoding == "CP1258":
            return to_cp1258(text)
        if self.encoding == "TCVN-3":
            # escpos-printer-db lists Đ in TCVN-3-2 as U+00D0 (Ð, the Icelandic eth) — same glyph, same byte.
            text = text.replace("Đ", "Ð")
            return "".join(ch if any(self.encoder.can_encode(p, ch) for p in self.pages) else _plain(ch)
                           for ch in text)
        return fold(text).encode("ascii", "replace").decode("ascii")

    def line(self, text: str, columns: int) -> None:
        """Wrapped at `columns`, breaking first at ' · ' separators (as the image ticket does)."""
        parts = [text] if len(text) <= columns else text.split(" · ")
        for part in parts:
            for piece in textwrap.wrap(part, columns) or [""]:
                self.p.text(self.prepare(piece) + "\n")


def encode_text_ticket(info: TicketInfo, profile: PrinterProfile, cut: str = "partial", beep: bool = False,
                       encoding: str | None = None) -> bytes:
    """The ticket as ESC/POS text; `encoding` overrides the profile's best (e.g. "ASCII")."""
    encoding = encoding or encoding_for(profile)
    if encoding not in ENCODINGS:
        raise ValueError(f"text encoding must be one of {', '.join(ENCODINGS)}, not {encoding!r}")
    w = _Writer(profile, encoding)
    p, cols = w.p, profile.columns
    p.hw("INIT")
    p.set(align="center")
    if info.test:
        _test_band(w, cols)
    if info.is_priority:
        p.set(bold=True, invert=True, custom_size=True, width=2, height=2)
        p.text(w.prepare(" ƯU TIÊN ") + "\n")          # not wrapped: the spaces pad the reversed box
        p.set(invert=False, custom_size=True, width=1, height=1)
        if info.priority:
            w.line(info.priority, cols)
        p.set(bold=False)
    w.line(info.hall_name, cols)
    p.set(bold=True, custom_size=True, width=1, height=2)
    w.line(info.service_name, cols)
    scale = max(2, min(MAX_NUMBER_SCALE, cols // max(1, len(info.label))))
    p.set(custom_size=True, width=scale, height=scale)
    w.line(info.label, cols // scale)
    p.set(custom_size=True, width=1, height=2)
    w.line(info.counters_text, cols)
    p.set(bold=False, custom_size=True, width=1, height=1)
    w.line(info.wait_text, cols)
    w.line(info.when_text, cols)
    if profile.native_qr and not info.test:   # a test's QR must not open a real ticket's page
        p.qr(info.qr_text, size=4, native=True)
    w.line(f"Mã phiếu: {info.ticket_id}", cols)
    w.line(info.footer, cols)
    if info.test:
        _test_band(w, cols)
    finish(p, profile, cut, beep)
    return p.output


def _test_band(w: _Writer, cols: int) -> None:
    """TEST_MARK reversed and double height, as the image ticket's band: it must not pass for a number."""
    w.p.set(bold=True, invert=True, custom_size=True, width=1, height=2)
    w.line(TEST_MARK, cols)
    w.p.set(bold=False, invert=False, custom_size=True, width=1, height=1)
