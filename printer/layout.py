"""The ticket as a 1-bit image, laid out from the printer's width in dots.

    img = render_ticket(info, 576)     # PIL image, mode "1", 576 wide; black = ink
    img.save("ticket.png")

Why an image: Vietnamese through printer code pages prints '?' or broken
accents on most cheap printers (docs/ticket-layout.md); a raster image prints
the same everywhere. Top to bottom: the ƯU TIÊN box (priority tickets only),
hall name, service name, the number as large as the width allows, the counters,
the people ahead and the wait, a rule, then the QR code beside the date, the
footer and the ticket id. A test print (`info.test`) has the IN THỬ band at the
top and in place of the QR code.

Every text is checked against the font's cmap first (GlyphMissing, never
tofu); long texts wrap at spaces and shrink, and a word still too wide at the
smallest size is broken, so nothing runs off the paper. What is large is drawn
in 2-dot pixels the encoder sends at a half or a quarter of the bytes: the
number and the 80 mm ƯU TIÊN box 2×2, the service name 2×1. Same TicketInfo and
width → byte-identical image: no clock, FreeType's basic layout (raqm may be
missing on a kiosk), one fixed threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import qrcode
from PIL import Image, ImageChops, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

from printer.fonts import BOLD, REGULAR, check_glyphs, extent, fit, font, ink_box, text_width
from printer.ticket import TEST_MARK, TicketInfo

# Text is drawn anti-aliased on greyscale, then cut at this level: strokes come out a little fuller
# and more even than FreeType's own 1-bit rendering, which thermal dots need at small sizes.
THRESHOLD = 150
_LUT = [0 if v < THRESHOLD else 255 for v in range(256)]
_BLACK, _WHITE = 0, 255
# Text this large (px) is drawn in 2-dot-wide pixels (see _Page._wide): the service name on 80 mm.
WIDE_FROM = 34
# The ƯU TIÊN box goes in 2×2 dot pixels only from this paper width on, where the bytes need it:
# the horn of Ư and the circumflex of Ê are clearest in single dots (see _priority_box).
BOX_HALF_FROM = 576


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
                   priority=40, qr_module=4, min_text=16)


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
            if f.size >= WIDE_FROM and fill == _BLACK:
                self._wide(x, line, f)
            else:
                self.draw.text((x, self.y), line, font=f, fill=fill)
            self.y += step

    def _wide(self, x: int, line: str, f: ImageFont.FreeTypeFont) -> None:
        """A line in 2-dot-wide pixels, drawn at full size, halved across and doubled back: the encoder
        sends it in double-width mode, half the bytes. Only across: stacked marks (ễ, ậ) keep every
        row, and at this size a 2-dot step is not seen."""
        size = int(f.size)                # fonts.font() makes every font at a whole size
        pad = size // 2                   # stacked marks over capitals may rise above the ascent
        top = max(0, self.y - pad)
        strip = Image.new("L", (self.width, self.y - top + 2 * size + pad), _WHITE)
        ImageDraw.Draw(strip).text((x, self.y - top), line, font=f, fill=_BLACK)
        half = strip.resize((self.width // 2, strip.height), Image.Resampling.BOX).point(_LUT)
        wide = half.resize(strip.size, Image.Resampling.NEAREST)      # from dot 0: pairs match the encoder's bytes
        self.room(strip.height)
        box = (0, top, self.width, top + strip.height)
        self.img.paste(ImageChops.darker(self.img.crop(box), wide), box)

    def skip(self, dots: int) -> None:
        self.room(dots)
        self.y += dots

    def image(self) -> Image.Image:
        bottom = self.y + self.sz.margin // 2
        return self.img.crop((0, 0, self.width, bottom)).point(_LUT, "1")


def number_font(label: str, box: int, max_height: int) -> ImageFont.FreeTypeFont:
    """The largest bold size whose ink fits `box` wide and `max_height` tall (binary search)."""
    lo, hi = 8, 4 * max_height
    while lo < hi:
        mid = (lo + hi + 1) // 2
        left, top, right, bottom = ink_box(font(BOLD, mid), label)
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
    left, top, right, bottom = ink_box(f, label)
    half = Image.new("L", (right - left, bottom - top), _WHITE)
    ImageDraw.Draw(half).text((-left, -top), label, font=f, fill=_BLACK)
    _paste_centred(page, half.point(_LUT).resize((2 * half.width, 2 * half.height), Image.Resampling.NEAREST))


def qr_image(text: str, module: int) -> Image.Image:
    """The QR code, `module` dots per module, no quiet zone (the layout keeps white around it)."""
    q = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=0)
    q.add_data(text)
    q.make(fit=True)
    matrix = q.get_matrix()
    n = len(matrix)
    small = Image.new("L", (n, n))
    small.putdata([_BLACK if dark else _WHITE for row in matrix for dark in row])
    return small.resize((n * module, n * module), Image.Resampling.NEAREST)


def check_ticket(info: TicketInfo) -> None:
    """GlyphMissing if any printed string has a character the ticket font lacks."""
    for what, text in info.texts().items():
        check_glyphs(text, REGULAR if what in ("waiting line", "footer", "ticket id") else BOLD, what)


def render_ticket(info: TicketInfo, width: int) -> Image.Image:
    """The ticket image (mode "1", black = ink), `width` dots wide."""
    check_ticket(info)
    sz = Sizes.for_width(width)
    page = _Page(width, sz)
    if info.test:
        _test_band(page)
    if info.priority is not None:     # info.is_priority
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
    qr = None if info.test else qr_image(info.qr_text, sz.qr_module)
    # The date goes beside the QR code when it fits there on one line (80 mm), else across the paper.
    column = width - 2 * sz.margin - (qr.width + 4 * sz.qr_module if qr else 0)
    date_beside = qr is not None and text_width(font(BOLD, sz.small), info.when_text) <= column
    if not date_beside:
        page.text(info.when_text, BOLD, sz.small)
    page.skip(sz.gap)
    page.draw.rectangle((sz.margin, page.y, width - sz.margin - 1, page.y + 1), fill=_BLACK)
    page.skip(2 + sz.gap * 2)
    if qr is None:
        _test_band(page)               # where the QR code would be: a torn-off half still says it
    else:
        _qr_block(page, info, qr, date_beside)
    return page.image()


def _reversed(lines: list[str], f: ImageFont.FreeTypeFont, width: int, pad: int, vpad: int, k: int = 1,
              wide: bool = False) -> Image.Image:
    """White lines on a black block `width` × k dots wide (0: as wide as the text), in k × k pixels.

    Drawn black on white, cut at THRESHOLD and then inverted, so white strokes come out as full as
    black ones (cut white-on-black, they lose a dot a side). `wide`: 2-dot-wide pixels (_Page._wide).
    """
    ascent, descent = f.getmetrics()
    inks = [ink_box(f, line) for line in lines]
    top = min(b[1] for b in inks)
    step = ascent + descent
    width = width or max(b[2] - b[0] for b in inks) + 2 * pad
    img = Image.new("L", (width, step * (len(lines) - 1) + max(b[3] for b in inks) - top + 2 * vpad), _WHITE)
    draw = ImageDraw.Draw(img)
    for n, (line, (left, _, right, _)) in enumerate(zip(lines, inks, strict=True)):
        draw.text(((width - right + left) // 2 - left, vpad - top + n * step), line, font=f, fill=_BLACK)
    if wide:
        half = img.resize((img.width // 2, img.height), Image.Resampling.BOX).point(_LUT)
        img = half.resize(img.size, Image.Resampling.NEAREST)
    img = img.point([255 - v for v in _LUT])
    return img.resize((k * img.width, k * img.height), Image.Resampling.NEAREST) if k > 1 else img


def _paste_centred(page: _Page, block: Image.Image) -> None:
    """`block` centred across the paper at y, advancing y."""
    page.room(block.height)
    x = (page.width - block.width) // 2
    page.img.paste(block, (x + x % 2, page.y))      # even x: 2-dot pixels line up with the encoder's bytes
    page.skip(block.height)


def _priority_box(page: _Page, category: str) -> None:
    """ƯU TIÊN white on a black box, the category under it: seen from afar by clerk and citizen.

    The box hugs the word rather than spanning the paper. On 576 dots, where the bytes are tight,
    it is drawn at half resolution and doubled like the number (a quarter of the bytes; at 20 px
    the horn is still a hook); narrower, at full resolution: the 2×2 blocks of a smaller box made
    the horn of Ư one block and Ê's circumflex a bar (OCR read 'ƯU TIỀN').
    """
    sz = page.sz
    k = 2 if page.width >= BOX_HALF_FROM else 1
    f, _ = fit("ƯU TIÊN", BOLD, sz.priority // k, sz.min_text // k, (page.width - 4 * sz.margin) // k)
    _paste_centred(page, _reversed(["ƯU TIÊN"], f, 0, 2 * sz.gap // k, 3 * sz.gap // 2 // k, k))
    page.skip(sz.gap // 2)
    if category:
        page.text(category, BOLD, sz.small)
    page.skip(sz.gap * 2)                          # apart from the hall name: it is not the same thing


def _test_band(page: _Page) -> None:
    """TEST_MARK white on black across the paper: a test print nobody can take for a ticket."""
    sz = page.sz
    inner = page.width - 2 * sz.margin
    f, lines = fit(TEST_MARK, BOLD, sz.priority, sz.min_text, inner - 4 * sz.gap, max_lines=2)
    # In 2-dot-wide pixels, half the bytes of a band this big; every row kept for the marks (Ử, ị).
    _paste_centred(page, _reversed(lines, f, inner, 0, sz.gap, wide=True))
    page.skip(sz.gap * 2)


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
