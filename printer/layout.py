"""The ticket as a 1-bit image, laid out from the printer's width in dots.

    img = render_ticket(info, 576)     # PIL image, mode "1", 576 wide; black = ink
    img.save("ticket.png")

Why an image: Vietnamese through printer code pages prints '?' or broken
accents on most cheap printers (docs/ticket-layout.md); a raster image prints
the same everywhere. Top to bottom: the ƯU TIÊN box (priority tickets only),
hall name, service name, the number as large as the width allows, the counters,
the people ahead and the wait, a rule, then the QR code beside the date, the
footer and the ticket id.

Every text is checked against the font's cmap first (GlyphMissing, never
tofu); long texts wrap at spaces and shrink, and a word still too wide at the
smallest size is broken, so nothing runs off the paper. Same TicketInfo and
width → byte-identical image: no clock, FreeType's basic layout (raqm may be
missing on a kiosk), one fixed threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from printer.fonts import BOLD, REGULAR, check_glyphs, font
from printer.ticket import TicketInfo

# Text is drawn anti-aliased on greyscale, then cut at this level: strokes come out a little fuller
# and more even than FreeType's own 1-bit rendering, which thermal dots need at small sizes.
THRESHOLD = 150
_LUT = [0 if v < THRESHOLD else 255 for v in range(256)]
_BLACK, _WHITE = 0, 255


@dataclass(frozen=True)
class Sizes:
    """Pixel sizes for one paper width; everything scales from 576 dots (80 mm) with floors for 58 mm."""
    margin: int
    gap: int
    hall: int
    service: int
    service_en: int
    number_max_height: int
    counters: int
    wait: int
    small: int
    priority: int
    qr_module: int
    min_text: int

    @classmethod
    def for_width(cls, width: int) -> Sizes:
        k = width / 576

        def s(px: float, floor: int) -> int:
            return max(floor, round(px * k))
        # 58 mm text stays near 80 mm sizes (legibility); only the number and the margins really shrink.
        # Even margin: the 2×-scaled number must start on an even dot (see _number).
        return cls(margin=s(16, 10) // 2 * 2, gap=s(8, 6), hall=s(26, 22), service=s(38, 30), service_en=s(20, 18),
                   number_max_height=s(136, 80), counters=s(32, 26), wait=s(23, 20), small=s(21, 18),
                   priority=s(36, 30), qr_module=4, min_text=16)


class _Page:
    """A tall greyscale canvas written top to bottom; cropped and thresholded at the end."""

    def __init__(self, width: int, sizes: Sizes):
        self.width, self.sz = width, sizes
        self.img = Image.new("L", (width, 2 * width), _WHITE)
        self.draw = ImageDraw.Draw(self.img)
        self.y = sizes.margin // 2   # the printer's own top margin (head to cutter) is already generous

    def room(self, rows: int) -> None:
        """Make sure `rows` more rows fit below y: very long texts grow the canvas, never fall off it."""
        if self.y + rows > self.img.height:
            grown = Image.new("L", (self.width, 2 * (self.y + rows)), _WHITE)
            grown.paste(self.img, (0, 0))
            self.img, self.draw = grown, ImageDraw.Draw(grown)

    def text(self, text: str, path: Path, size: int, *, x0: int | None = None, box: int | None = None,
             align: str = "center", fill: int = _BLACK, leading: float = 1.0, max_lines: int = 0,
             min_size: int | None = None) -> None:
        """A paragraph wrapped into [x0, x0 + box), advancing y."""
        x0 = self.sz.margin if x0 is None else x0
        box = self.width - 2 * self.sz.margin if box is None else box
        f, lines = fit(text, path, size, min_size or self.sz.min_text, box, max_lines)
        ascent, descent = f.getmetrics()
        step = round((ascent + descent) * leading)
        self.room(step * len(lines) + ascent + descent)
        for line in lines:
            over, w = extent(f, line)
            x = (x0 if align == "left" else x0 + (box - w) // 2) + over
            self.draw.text((x, self.y), line, font=f, fill=fill)
            self.y += step

    def skip(self, dots: int) -> None:
        self.room(dots)
        self.y += dots

    def image(self) -> Image.Image:
        bottom = self.y + self.sz.margin // 2
        return self.img.crop((0, 0, self.width, bottom)).point(_LUT, "1")


def fit(text: str, path: Path, size: int, min_size: int, box: int,
        max_lines: int = 0) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The size and lines of a paragraph in `box` dots.

    One line if shrinking by ≤ 2 px makes it fit; else the largest size ≤ `size` at which every
    word fits and (with max_lines) the text takes at most that many lines, or else the fewest;
    wrapped at spaces, breaking first at ' · '. A word too wide even at `min_size` is broken.
    """
    for s in range(size, max(min_size, size - 2) - 1, -1):
        if _len(font(path, s), text) <= box:
            return font(path, s), [text]
    parts = text.split(" · ")
    best = None
    for s in range(size, min_size - 1, -1):
        f = font(path, s)
        if all(_len(f, w) <= box for w in text.split()):
            lines = [line for part in parts for line in wrap(part, f, box)]
            if not max_lines or len(lines) <= max_lines:
                return f, lines
            if best is None or len(lines) < len(best[1]):   # too long anyway: the fewest lines
                best = (f, lines)
    if best:
        return best
    f = font(path, min_size)
    return f, [line for part in parts for line in wrap(part, f, box, break_words=True)]


def extent(f: ImageFont.FreeTypeFont, text: str) -> tuple[int, int]:
    """(left overhang, width) of a line: its advance, widened by any ink that pokes out either side
    (an accent over a final 'ỗ' can reach a dot past the advance)."""
    if not text:
        return 0, 0
    left, _, right, _ = f.getbbox(text)
    over = max(0, -left)
    return over, over + max(right, math.ceil(f.getlength(text)))


def wrap(text: str, f: ImageFont.FreeTypeFont, box: int, break_words: bool = False) -> list[str]:
    """Greedy word wrap; with break_words a word wider than the box is cut between characters."""
    lines: list[str] = []
    for word in text.split():
        pieces = _break(word, f, box) if break_words and _len(f, word) > box else [word]
        for piece in pieces:
            if lines and _len(f, f"{lines[-1]} {piece}") <= box:
                lines[-1] = f"{lines[-1]} {piece}"
            else:
                lines.append(piece)
    return lines or [""]


def _len(f: ImageFont.FreeTypeFont, text: str) -> int:
    return extent(f, text)[1]


def _break(word: str, f: ImageFont.FreeTypeFont, box: int) -> list[str]:
    out, cur = [], ""
    for ch in word:
        if cur and _len(f, cur + ch) > box:
            out.append(cur)
            cur = ""
        cur += ch
    return out + [cur]


def number_font(label: str, box: int, max_height: int) -> ImageFont.FreeTypeFont:
    """The largest bold size whose ink fits `box` wide and `max_height` tall (binary search)."""
    lo, hi = 8, 4 * max_height
    while lo < hi:
        mid = (lo + hi + 1) // 2
        left, top, right, bottom = font(BOLD, mid).getbbox(label)
        if right - left <= box and bottom - top <= max_height:
            lo = mid
        else:
            hi = mid - 1
    return font(BOLD, lo)


def _number(page: _Page, label: str) -> None:
    """The number, drawn at half resolution and doubled: every 2×2 dot block is one pixel.

    The encoder sends such a band with GS v 0's quadruple mode, a quarter of the bytes: the number
    is a third of the ticket's dots. At 0.25 mm per step its edges still look smooth on paper.
    """
    sz = page.sz
    inner = page.width - 2 * sz.margin
    f = number_font(label, inner // 2, sz.number_max_height // 2)
    left, top, right, bottom = f.getbbox(label)
    half = Image.new("L", (right - left, bottom - top), _WHITE)
    ImageDraw.Draw(half).text((-left, -top), label, font=f, fill=_BLACK)
    big = half.point(_LUT).resize((2 * half.width, 2 * half.height), Image.NEAREST)
    page.room(big.height)
    x = sz.margin + (inner - big.width) // 2
    page.img.paste(big, (x + x % 2, page.y))     # even x: blocks line up with the encoder's bytes
    page.skip(big.height)


def qr_image(text: str, module: int) -> Image.Image:
    """The QR code, `module` dots per module, no quiet zone (the layout keeps white around it)."""
    q = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=0)
    q.add_data(text)
    q.make(fit=True)
    matrix = q.get_matrix()
    n = len(matrix)
    small = Image.new("L", (n, n))
    small.putdata([_BLACK if dark else _WHITE for row in matrix for dark in row])
    return small.resize((n * module, n * module), Image.NEAREST)


def check_ticket(info: TicketInfo) -> None:
    """GlyphMissing if any printed string has a character the ticket font lacks."""
    for what, text in info.texts().items():
        check_glyphs(text, REGULAR if what in ("waiting line", "footer", "ticket id") else BOLD, what)


def render_ticket(info: TicketInfo, width: int) -> Image.Image:
    """The ticket image (mode "1", black = ink), `width` dots wide."""
    check_ticket(info)
    sz = Sizes.for_width(width)
    page = _Page(width, sz)
    if info.is_priority:
        _priority_box(page, info.priority)
    # Long names shrink to stay within 2–3 lines (paper), but never below a size read at arm's length.
    page.text(info.hall_name, BOLD, sz.hall, max_lines=2, min_size=sz.small)
    page.skip(sz.gap // 2)
    page.text(info.service_name, BOLD, sz.service, leading=0.95, max_lines=2, min_size=sz.counters - 4)
    if info.service_name_en:
        page.text(info.service_name_en, REGULAR, sz.service_en)
    page.skip(sz.gap * 3 // 2)
    _number(page, info.label)
    page.skip(sz.gap * 3 // 2)
    page.text(info.counters_text, BOLD, sz.counters)
    page.text(info.wait_text, REGULAR, sz.wait)
    qr = qr_image(info.qr_text, sz.qr_module)
    column = width - 2 * sz.margin - qr.width - 4 * sz.qr_module
    # The date goes beside the QR code when it fits there on one line (80 mm), else across the paper.
    date_beside = _len(font(BOLD, sz.small), info.when_text) <= column
    if not date_beside:
        page.text(info.when_text, BOLD, sz.small)
    page.skip(sz.gap)
    page.draw.rectangle((sz.margin, page.y, width - sz.margin - 1, page.y + 1), fill=_BLACK)
    page.skip(2 + sz.gap * 2)
    _qr_block(page, info, qr, date_beside)
    return page.image()


def _priority_box(page: _Page, category: str) -> None:
    """ƯU TIÊN white on a black box, the category under it: seen from afar by clerk and citizen.

    The box hugs the word rather than spanning the paper, and like the number it is drawn at half
    resolution and doubled (the encoder sends it at a quarter of the bytes): a priority ticket
    then stays under 20 KB, 1.4 s at 115200 baud.
    """
    sz = page.sz
    f, _ = fit("ƯU TIÊN", BOLD, sz.priority // 2, sz.min_text // 2, (page.width - 4 * sz.margin) // 2)
    left, top, right, bottom = f.getbbox("ƯU TIÊN")
    pad = sz.gap
    half = Image.new("L", (right - left + 2 * pad, bottom - top + pad + sz.gap // 2), _BLACK)
    ImageDraw.Draw(half).text((pad - left, (half.height - (bottom - top)) // 2 - top), "ƯU TIÊN", font=f,
                              fill=_WHITE)
    big = half.point(_LUT).resize((2 * half.width, 2 * half.height), Image.NEAREST)
    page.room(big.height)
    x = (page.width - big.width) // 2
    page.img.paste(big, (x + x % 2, page.y))      # even x: blocks line up with the encoder's bytes
    page.skip(big.height + sz.gap // 2)
    if category:
        page.text(category, BOLD, sz.small)
    page.skip(sz.gap * 2)                          # apart from the hall name: it is not the same thing


def _qr_block(page: _Page, info: TicketInfo, qr: Image.Image, with_date: bool) -> None:
    """QR code on the left, (date,) footer and ticket id beside it: one short block, not three rows."""
    sz = page.sz
    quiet = 4 * sz.qr_module           # the QR standard's quiet zone on the side facing the text
    page.room(qr.height)
    top = page.y
    page.img.paste(qr, (sz.margin, top))
    x0 = sz.margin + qr.width + quiet
    box = page.width - sz.margin - x0
    if with_date:
        page.text(info.when_text, BOLD, sz.small, x0=x0, box=box, align="left")
        page.skip(sz.gap // 2)
    page.text(info.footer, REGULAR, sz.small, x0=x0, box=box, align="left")
    page.skip(sz.gap // 2)
    page.text(f"Mã phiếu: {info.ticket_id}", REGULAR, sz.min_text, x0=x0, box=box, align="left")
    text_bottom = page.y
    # Centre the text column on the QR when it is shorter; else the QR sits at the column's top.
    if text_bottom - top < qr.height:
        shift = (qr.height - (text_bottom - top)) // 2
        region = page.img.crop((x0, top, page.width, text_bottom))
        page.draw.rectangle((x0, top, page.width - 1, text_bottom), fill=_WHITE)
        page.img.paste(region, (x0, top + shift))
    page.y = max(text_bottom, top + qr.height)
