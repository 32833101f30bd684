"""A ticket image as ESC/POS bytes, through python-escpos's Dummy printer.

    job = render_and_encode(info, load_profile("TM-T20II"), cut="partial", beep=False)
    transport.send(job)                       # bytes; the transports live in printer/transports.py

The job:

    ESC @                  reset: whatever the last (maybe interrupted) job left set is gone
    ESC a 0                left-justified: every band starts at dot 0
    GS v 0 … (~20 of them) the image in bands (see `bands`)
    GS V 66 0 | GS V 65 0  feed to the cutter, then partial | full cut   (or ESC d 4 without a cutter)
    ESC B 2 2              beep, only when asked (see BEEP)

Bands, not one image: blank runs go as 8-dot-wide blank bands, ink runs are
cut after their last black byte, and the number (drawn as 2×2 blocks by the
layout) goes in GS v 0's quadruple mode: 17.5 KB instead of 34 KB for an 80 mm
ticket. No band sends more than FRAGMENT_HEIGHT = 192 rows: a long single image
times out over USB on a Pi, since the printer takes data only as fast as it
prints (python-escpos #628, a POS-58 on a Pi 3); clones that read only the low
byte of the height (python-escpos #52) need < 256; and 192 × 72 bytes is ~half a
second of printing on a slow printer. Finer would put seams inside the QR code
(some printers leave a faint line between raster commands).

Cut: python-escpos's `cut()` feeds 6 lines (~25 mm) before `GS V 0/1`; `GS V
65/66 0` ("function B") feeds exactly to the cutter, about 10 mm less paper
per ticket, and Epson and the clones all know it. A profile without a cutter
gets a feed past the tear bar instead. docs/ticket-layout.md has the whole story.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from printer.layout import render_ticket
from printer.profiles import PrinterProfile
from printer.ticket import TicketInfo

FRAGMENT_HEIGHT = 192          # rows sent per GS v 0 at most (see the module docstring)
TEAR_FEED_LINES = 4            # without a cutter: ~17 mm, past the tear bar of 58 mm printers
CUTS = ("partial", "full", "none")
# python-escpos's buzzer() sends ESC B n t (Xprinter and most clones; capabilities.json has no flag
# for it). Epson TM printers use another command for their optional buzzer, so beep is off by default.
BEEP = (2, 2)                  # two short beeps
_INVERT = bytes(255 - v for v in range(256))


@dataclass(frozen=True)
class Band:
    """A run of rows sent as one GS v 0: `image` at `scale` (2: each pixel prints as 2×2 dots)."""
    image: Image.Image
    scale: int
    top: int                   # first row in the ticket image


def bands(image: Image.Image, limit: int = FRAGMENT_HEIGHT) -> list[Band]:
    """The ticket image as GS v 0 bands, each at most `limit` rows sent.

    Blank runs become 8-dot-wide blank bands (they feed the paper exactly, whatever the printer's
    motion unit), ink runs are cut at their last inked byte (sent left-aligned, nothing is centred
    by the printer), and a run whose 2×2 dot blocks are all uniform (the number) goes at half
    resolution in both directions.
    """
    image = image.convert("1")
    width = image.width
    stride = (width + 7) // 8
    ink = image.tobytes().translate(_INVERT)           # mode "1" packs 1 = white; GS v 0 wants 1 = ink
    used = [len(ink[y * stride:(y + 1) * stride].rstrip(b"\0")) for y in range(image.height)]
    out: list[Band] = []
    y = 0
    while y < image.height:
        end = y + 1
        while end < image.height and bool(used[end]) == bool(used[y]):
            end += 1
        if not used[y]:
            for top in range(y, end, limit):
                out.append(Band(Image.new("1", (8, min(limit, end - top)), 1), 1, top))
        else:
            out += _ink_bands(image, y, end, max(used[y:end]) * 8, limit)
        y = end
    return out


def _ink_bands(image: Image.Image, top: int, end: int, width: int, limit: int) -> list[Band]:
    run = image.crop((0, top, width, end))
    wide = width + width % 16                           # whole bytes at half width
    half = None
    if run.height % 2 == 0 and wide <= image.width:
        run = image.crop((0, top, wide, end))
        candidate = run.resize((wide // 2, run.height // 2), Image.NEAREST)
        if candidate.resize(run.size, Image.NEAREST).tobytes() == run.tobytes():
            half = candidate
    source, scale = (half, 2) if half is not None else (run, 1)
    step = limit // scale
    return [Band(source.crop((0, y, source.width, min(y + step, source.height))), scale, top + y * scale)
            for y in range(0, source.height, step)]


def encode_ticket(image: Image.Image, profile: PrinterProfile, cut: str = "partial", beep: bool = False) -> bytes:
    """The ESC/POS job printing `image` (mode "1", black = ink) on a printer of `profile`."""
    if image.width > profile.width:
        raise ValueError(f"ticket image is {image.width} dots wide; {profile.model} prints {profile.width}")
    p = profile.dummy()
    p.hw("INIT")
    p.set(align="left")                    # bands are cropped on the right: they must start at dot 0
    for band in bands(image):
        dense = band.scale == 1
        p.image(band.image, impl="bitImageRaster", fragment_height=FRAGMENT_HEIGHT,
                high_density_vertical=dense, high_density_horizontal=dense)
    finish(p, profile, cut, beep)
    return p.output


def finish(p, profile: PrinterProfile, cut: str, beep: bool) -> None:
    """End a job on python-escpos printer `p`: feed to the cutter and cut (or past the tear bar), beep."""
    if cut not in CUTS:
        raise ValueError(f"cut must be one of {', '.join(CUTS)}, not {cut!r}")
    if cut != "none" and (profile.partial_cut or profile.full_cut):
        # The cut asked for, else the other one: either separates the ticket.
        full = (cut == "full" and profile.full_cut) or not profile.partial_cut
        p._raw(b"\x1dV" + (b"A" if full else b"B") + b"\x00")     # GS V 65|66 0: feed to the cutter, cut
    else:
        p.print_and_feed(TEAR_FEED_LINES)
    if beep:
        p.buzzer(*BEEP)


def render_and_encode(info: TicketInfo, profile: PrinterProfile, cut: str = "partial", beep: bool = False) -> bytes:
    """Lay the ticket out for the profile's width and encode it."""
    return encode_ticket(render_ticket(info, profile.width), profile, cut, beep)
