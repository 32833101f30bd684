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
cut after their last black byte, and what the layout draws in 2-dot pixels
goes in GS v 0's scaled modes: quadruple (2×2 blocks: the number, the ƯU TIÊN
box, the QR code where no text is beside it) or double width (2×1: the
service name on 80 mm). An 80 mm ticket is ~13 KB instead of 34 KB of raster.
No band sends more than FRAGMENT_HEIGHT = 192 rows: a long single image
times out over USB on a Pi, since the printer takes data only as fast as it
prints (python-escpos #628, a POS-58 on a Pi 3); clones that read only the low
byte of the height (python-escpos #52) need < 256; and 192 × 72 bytes is ~half a
second of printing on a slow printer. Some printers leave a faint line between
raster commands, so a run is split only where that saves SEAM_COST bytes.

Cut: python-escpos's `cut()` feeds 6 lines (~25 mm) before `GS V 0/1`; `GS V
65/66 0` ("function B") feeds exactly to the cutter, about 10 mm less paper
per ticket, and Epson and the clones all know it. A profile without a cutter
gets a feed past the tear bar instead. docs/ticket-layout.md has the whole story.
"""

from __future__ import annotations

import math
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
# 1 for a byte whose dots come in equal pairs (a row of 2-dot-wide pixels), for the double-width test.
_DOUBLED = bytes(int(all((v >> k & 1) == (v >> k + 1 & 1) for k in range(0, 8, 2))) for v in range(256))
# What an extra band must save before a run is split: a seam between raster commands can show as a
# faint line on some printers, so only a real saving (e.g. the QR rows with no text beside them) pays.
SEAM_COST = 600
MIN_SCALED = 8                 # rows: a shorter scaled stretch inside a run never pays for its seams


@dataclass(frozen=True)
class Band:
    """A run of rows sent as one GS v 0: `image`, each pixel printed as sx × sy dots."""
    image: Image.Image
    sx: int
    sy: int
    top: int                   # first row in the ticket image


def bands(image: Image.Image, limit: int = FRAGMENT_HEIGHT) -> list[Band]:
    """The ticket image as GS v 0 bands, each at most `limit` rows printed.

    Blank runs become 8-dot-wide blank bands (they feed the paper exactly, whatever the printer's
    motion unit). Each ink run is split where that saves bytes (see `_plan`); a band is cut at its
    last inked byte (sent left-aligned, nothing is centred by the printer) and sent at the coarsest
    scale that gives back exactly its dots.
    """
    image = image.convert("1")
    stride = (image.width + 7) // 8
    ink = image.tobytes().translate(_INVERT)           # mode "1" packs 1 = white; GS v 0 wants 1 = ink
    rows = [ink[y * stride:(y + 1) * stride] for y in range(image.height)]
    used = [len(r.rstrip(b"\0")) for r in rows]
    out: list[Band] = []
    y = 0
    while y < image.height:
        end = y + 1
        while end < image.height and bool(used[end]) == bool(used[y]):
            end += 1
        if not used[y]:
            for top in range(y, end, limit):
                out.append(Band(Image.new("1", (8, min(limit, end - top)), 1), 1, 1, top))
        else:
            for top, bottom, sx, sy in _plan(rows, used, y, end, limit, stride):
                width = 8 * sx * -(-max(used[top:bottom]) // sx)   # whole bytes at the sent width
                run = image.crop((0, top, width, bottom))
                if sx * sy > 1:
                    run = run.resize((width // sx, run.height // sy), Image.Resampling.NEAREST)
                out.append(Band(run, sx, sy, top))
        y = end
    return out


def _plan(rows: list[bytes], used: list[int], top: int, end: int, limit: int,
          stride: int) -> list[tuple[int, int, int, int]]:
    """The cheapest split of ink rows [top, end) into bands: [(first row, end row, sx, sy)].

    The rows are cut into stretches: 2×2 (pairs of equal rows of 2-dot-wide pixels), 2×1 (rows of
    2-dot-wide pixels), each at least MIN_SCALED rows unless it is the whole run, and 1×1 for the
    rest. A band spans whole stretches and costs its 8-byte header, SEAM_COST unless it is the run's
    first, and its rows × bytes at its scale; the cheapest plan comes from dynamic programming over
    the few stretch ends. A band longer than `limit` rows is cut into pieces of `limit`.
    """
    n = end - top
    wide = [rows[y].translate(_DOUBLED).count(1) == stride for y in range(top, end)]
    quad = [0] * (n + 2)     # quad[i]: rows from top + i on that are pairs of equal double-width rows
    dbl = [0] * (n + 1)      # dbl[i]: double-width rows from top + i on
    for i in range(n - 1, -1, -1):
        dbl[i] = dbl[i + 1] + 1 if wide[i] else 0
        if i + 1 < n and wide[i] and rows[top + i] == rows[top + i + 1]:
            quad[i] = quad[i + 2] + 2
    cuts: list[int] = [0]                # stretch boundaries
    kinds: list[tuple[int, int]] = []    # each stretch's (sx, sy)
    i = 0
    while i < n:
        if quad[i] >= MIN_SCALED or quad[i] == n:
            z, kind = i + quad[i], (2, 2)
        elif dbl[i] >= MIN_SCALED or dbl[i] == n:
            z = i
            while z < n and wide[z] and quad[z] < MIN_SCALED:
                z += 1
            z, kind = (z, (2, 1)) if z - i >= MIN_SCALED or z == n else (i + 1, (1, 1))
        else:
            z, kind = i + 1, (1, 1)
        if kind == (1, 1) and kinds and kinds[-1] == (1, 1):
            cuts[-1] = z                  # one 1×1 stretch for consecutive plain rows
        else:
            cuts.append(z)
            kinds.append(kind)
        i = z
    k = len(kinds)
    cost, pick = [0.0] + [math.inf] * k, [(0, 1, 1)] * (k + 1)
    for j in range(1, k + 1):
        sx = 2
        for i in range(j - 1, -1, -1):
            sx = min(sx, kinds[i][0])
            w = max(used[top + cuts[i]:top + cuts[j]])
            if 16 * -(-w // 2) > 8 * stride:
                sx = 1                    # an odd last byte would have no partner at double width
            sy = kinds[i][1] if i == j - 1 and sx == 2 else 1
            c = cost[i] + 8 + (SEAM_COST if i else 0) + -(-w // sx) * (cuts[j] - cuts[i]) // sy
            if c < cost[j]:
                cost[j], pick[j] = c, (i, sx, sy)
    plan = []
    j = k
    while j:
        i, sx, sy = pick[j]
        step = limit - limit % sy          # a 2×2 band must keep whole row pairs
        plan += [(top + y, top + min(y + step, cuts[j]), sx, sy) for y in range(cuts[i], cuts[j], step)][::-1]
        j = i
    return plan[::-1]


def encode_ticket(image: Image.Image, profile: PrinterProfile, cut: str = "partial", beep: bool = False) -> bytes:
    """The ESC/POS job printing `image` (mode "1", black = ink) on a printer of `profile`."""
    if image.width > profile.width:
        raise ValueError(f"ticket image is {image.width} dots wide; {profile.model} prints {profile.width}")
    p = profile.dummy()
    p.hw("INIT")
    p.set(align="left")                    # bands are cropped on the right: they must start at dot 0
    for band in bands(image):
        # python-escpos: no high density vertically = double height (m bit 1), horizontally = double width.
        p.image(band.image, impl="bitImageRaster", fragment_height=FRAGMENT_HEIGHT,
                high_density_vertical=band.sy == 1, high_density_horizontal=band.sx == 1)
    finish(p, profile, cut, beep)
    return p.output


def cut_action(profile: PrinterProfile, cut: str) -> str:
    """What ends a job on this printer: "partial", "full" or "feed" (past the tear bar)."""
    if cut not in CUTS:
        raise ValueError(f"cut must be one of {', '.join(CUTS)}, not {cut!r}")
    if cut == "none" or not (profile.partial_cut or profile.full_cut):
        return "feed"
    # The cut asked for, else the other one: either separates the ticket.
    return "full" if (cut == "full" and profile.full_cut) or not profile.partial_cut else "partial"


def describe_cut(profile: PrinterProfile, cut: str) -> str:
    """What really happens at the end of a job, for reports: 'no cutter: paper fed past the tear bar'."""
    action = cut_action(profile, cut)
    if action == "feed":
        return ("no cut (cut = \"none\"): paper fed past the tear bar" if cut == "none"
                else "no cutter: paper fed past the tear bar")
    return f"{action} cut" + ("" if action == cut else f" (the printer has no {cut} cut)")


def finish(p, profile: PrinterProfile, cut: str, beep: bool) -> None:
    """End a job on python-escpos printer `p`: feed to the cutter and cut (or past the tear bar), beep."""
    action = cut_action(profile, cut)
    if action == "feed":
        p.print_and_feed(TEAR_FEED_LINES)
    else:
        p._raw(b"\x1dV" + (b"A" if action == "full" else b"B") + b"\x00")   # GS V 65|66 0: feed to the cutter, cut
    if beep:
        p.buzzer(*BEEP)


def render_and_encode(info: TicketInfo, profile: PrinterProfile, cut: str = "partial", beep: bool = False) -> bytes:
    """Lay the ticket out for the profile's width and encode it."""
    return encode_ticket(render_ticket(info, profile.width), profile, cut, beep)
