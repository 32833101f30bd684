"""How long a job takes to come out of the printer, and so how long its status answer may take.

    t = print_seconds(job_bytes, dpi=203, speed_mm_s=50)   # ~1.8 s for an 80 mm image ticket at 50 mm/s
    answer_wait(t, status_timeout_s=0.5)                      # 0.5 + 2 × t: silence before that is not news

A printer reads what it is sent only as fast as it prints (its receive buffer is a few KB: 4 KB
on the Epson TM-T20II/T88), and a status query sent after a ticket waits behind the ticket's
bytes until the printer has room to take it in. So the answer to the query that follows a
17 KB ticket comes when most of the ticket is printed: 0.6-0.8 s on a 90 mm/s printer, not
the milliseconds of an idle one. The spool waits answer_wait() for it and says "printed" only
after the printer had print_seconds() to finish (issue 13).

The paper length is read from the job itself: a GS v 0 raster is its height in dots at the
printer's dpi (double in its double-height modes), a line feed 1/6 inch (times the character
height GS ! sets), ESC d n n lines, a cut
first feeds from the head to the blade (~15 mm on Epson TM). Anything else costs nothing: the
estimate is meant to be a little long, never short, for the jobs printer.escpos_job and
printer.textmode make.
"""

from __future__ import annotations

LINE_MM = 25.4 / 6          # the default line spacing (ESC 2)
CUT_FEED_MM = 15.0          # print head to cutter blade, fed before a cut (GS V)
CUT_S = 0.3                 # the cut itself, and the motor starting and stopping
QR_MM = 30.0                # a QR code the printer draws itself (GS ( k fn 81, text mode)
ANSWER_MARGIN = 2.0         # the printer may be slower than its profile says (graphics, heat, a weak supply)


def paper_mm(data: bytes, dpi: int = 203) -> float:
    """The length of paper a job feeds, in mm (see the module docstring for what counts)."""
    return _walk(data, dpi)[0]


def print_seconds(data: bytes, dpi: int = 203, speed_mm_s: float = 50.0) -> float:
    """Seconds the job takes to print at `speed_mm_s`, its cut included."""
    mm, cuts = _walk(data, dpi)
    return mm / speed_mm_s + CUT_S * max(cuts, 1)


def answer_wait(print_s: float, status_timeout_s: float) -> float:
    """How long the answer to a query sent right after the job may take before it counts as silence."""
    return status_timeout_s + ANSWER_MARGIN * print_s


def _walk(data: bytes, dpi: int) -> tuple[float, int]:
    mm, cuts, tall, i, n = 0.0, 0, 1, 0, len(data)
    while i < n:
        b = data[i]
        nxt = data[i + 1] if i + 1 < n else -1
        if b == 0x0A:
            mm += LINE_MM * tall
            i += 1
        elif b == 0x1D and nxt == 0x21 and i + 2 < n:        # GS ! n: character size, height in the low bits
            tall = (data[i + 2] & 0x07) + 1
            i += 3
        elif b == 0x1D and nxt == 0x76 and i + 8 <= n:       # GS v 0 m xL xH yL yH data
            m, width = data[i + 3], data[i + 4] + 256 * data[i + 5]
            height = data[i + 6] + 256 * data[i + 7]
            mm += height * (2 if m & 2 else 1) * 25.4 / dpi
            i += 8 + width * height
        elif b == 0x1D and nxt == 0x56:                      # GS V m [n]: feed to the blade, cut
            mm += CUT_FEED_MM
            cuts += 1
            i += 4 if i + 2 < n and data[i + 2] in (65, 66, 97, 98, 103, 104) else 3
        elif b == 0x1D and nxt == 0x28 and i + 5 <= n:       # GS ( X pL pH …: skip its data
            if data[i + 2] == 0x6B and i + 6 < n and data[i + 6] == 0x51:
                mm += QR_MM
            i += 5 + data[i + 3] + 256 * data[i + 4]
        elif b == 0x1B and nxt == 0x64 and i + 2 < n:        # ESC d n: print and feed n lines
            mm += data[i + 2] * LINE_MM
            i += 3
        else:
            i += 1
    return mm, cuts
