"""How a thermal printer takes an ESC/POS byte stream apart, for tests/fakeprinter.py.

    Parser().feed(data)    # whole commands: ("query", n), ("asb", n), ("job", ticket bytes up to its end)
    Splitter().feed(data)  # as bytes are received: ("query", n), ("asb", n), ("data", bytes) in pieces
    head = Head(dots_per_mm=8)
    head.unit(buf, 0)      # (bytes, mm of paper, extra seconds, kind) of the next thing to print, or None
    Mechanism(4096, 90)    # a receive buffer drained by a print head at 90 mm/s (FakePrinter's buffered mode)

It knows command lengths (raster images by their declared size, so image bytes that look like a
cut or a status query are not taken for one) and what each command costs in paper: a GS v 0
raster is its height in dots / 8 mm (203 dpi), doubled in its double-height modes; a line feed
is a text line (1/6 inch); a cut first feeds the paper from the head to the blade. A ticket ends
with its cut, or on a printer without a cutter with the feed past the tear bar. The numbers
are approximations of Epson TM and the clones; the code under test never uses them.
"""

from __future__ import annotations

from collections import deque

LINE_MM = 25.4 / 6            # ESC 2: the default line spacing, 1/6 inch
CUT_FEED_MM = 10.0            # print head to cutter blade (~15 mm on a TM-T88III; less on the clones)
CUT_S = 0.1                   # the blade's stroke
TEAR_LINES = 3                # ESC d n with n ≥ 3 ends a ticket without a cut (printer.escpos_job feeds 4)
QR_MM = 25.0                  # a printer-drawn QR code (GS ( k … fn 81), text mode only


def command_size(b: bytes | bytearray, i: int) -> int | None:
    """Bytes in the command starting at b[i] (1 for plain data) once its header is here, else None."""
    def at(k: int) -> int | None:
        return b[i + k] if i + k < len(b) else None

    def have(n: int) -> bool:
        return i + n <= len(b)

    first, second = b[i], at(1)
    if first not in (0x10, 0x1B, 0x1D):
        return 1
    if second is None:
        return None
    if first == 0x10 and second == 0x04:                      # DLE EOT n
        return 3
    if first == 0x1D and second == 0x61:                      # GS a n: automatic status back
        return 3
    if first == 0x1D and second == 0x56:                      # GS V m [n]: cut
        m = at(2)
        return None if m is None else 4 if m in (65, 66, 97, 98, 103, 104) else 3
    if first == 0x1D and second == 0x76:                      # GS v 0 m xL xH yL yH data
        return 8 + (b[i + 4] + 256 * b[i + 5]) * (b[i + 6] + 256 * b[i + 7]) if have(8) else None
    if first == 0x1D and second == 0x28 and at(2) is not None:  # GS ( X pL pH …
        return 5 + b[i + 3] + 256 * b[i + 4] if have(5) else None
    if first == 0x1D and second == 0x38 and at(2) == 0x4C:      # GS 8 L p1 p2 p3 p4 …
        return 7 + int.from_bytes(b[i + 3:i + 7], "little") if have(7) else None
    if first == 0x1B and second == 0x2A:                      # ESC * m nL nH data
        return 5 + (b[i + 3] + 256 * b[i + 4]) * (1 if b[i + 2] in (0, 1) else 3) if have(5) else None
    return 1


def ends_ticket(cmd: bytes | bytearray) -> bool:
    """A cut (GS V), or on a printer without a cutter the feed past its tear bar (ESC d n, n ≥ 3)."""
    return cmd[:2] == b"\x1dV" or (cmd[:2] == b"\x1bd" and len(cmd) == 3 and cmd[2] >= TEAR_LINES)


def command_length(b: bytes | bytearray, i: int) -> int | None:
    """Like command_size, but None until the whole command (data included) is here."""
    n = command_size(b, i)
    return n if n is not None and i + n <= len(b) else None


class Parser:
    """Splits an ESC/POS byte stream into status queries, ASB requests and completed tickets."""

    def __init__(self):
        self.buf = bytearray()
        self.job = bytearray()

    def feed(self, data: bytes):
        self.buf += data
        i = 0
        while i < len(self.buf):
            n = command_length(self.buf, i)
            if n is None:
                break                     # the rest of this command has not arrived yet
            cmd = bytes(self.buf[i:i + n])
            i += n
            if cmd[:2] == b"\x10\x04":
                yield "query", cmd[2]
                continue
            if cmd[:2] == b"\x1da":
                yield "asb", cmd[2]
                continue
            self.job += cmd
            if ends_ticket(cmd):
                yield "job", bytes(self.job)
                self.job.clear()
        del self.buf[:i]


class Splitter:
    """Takes real-time queries (and ASB requests) out of a stream as it is received, in any pieces.

    Unlike Parser it never holds a command's data back: a 14 KB raster passes on as it comes,
    which a printer with a 4 KB buffer needs.
    """

    def __init__(self):
        self.head = bytearray()   # the start of a command whose length is not known yet
        self.skip = 0             # data bytes of the current command still to pass on

    def feed(self, data: bytes) -> list[tuple[str, object]]:
        out: list[tuple[str, object]] = []
        run = bytearray()
        i = 0
        while i < len(data):
            if self.skip:
                take = min(self.skip, len(data) - i)
                run += data[i:i + take]
                self.skip -= take
                i += take
                continue
            self.head.append(data[i])
            i += 1
            while self.head:
                size = command_size(self.head, 0)
                if size is None:
                    break                 # its header is not all here yet
                if size == 3 and self.head[:2] in (b"\x10\x04", b"\x1da"):
                    if len(self.head) < 3:
                        break
                    if run:
                        out.append(("data", bytes(run)))
                        run.clear()
                    out.append(("query" if self.head[0] == 0x10 else "asb", self.head[2]))
                    del self.head[:3]
                elif size <= len(self.head):  # e.g. ESC @: ESC passes alone, '@' starts the next one
                    run += self.head[:size]
                    del self.head[:size]
                else:
                    run += self.head
                    self.skip = size - len(self.head)
                    self.head.clear()
        if run:
            out.append(("data", bytes(run)))
        return out


class Head:
    """The print mechanism's view of the buffer: the next unit to print and what it costs."""

    def __init__(self, dots_per_mm: float = 8.0):
        self.dots_per_mm = dots_per_mm
        self.reset()

    def reset(self) -> None:
        self.rows_left = 0        # rows of the current GS v 0 still to print
        self.row_bytes = 0
        self.row_mm = 0.0
        self.skip = 0             # data bytes of a command that costs no paper (a QR code's data …)

    @property
    def mid_command(self) -> bool:
        return bool(self.rows_left or self.skip)

    def unit(self, b, i: int = 0) -> tuple[int, float, float, str] | None:
        """(bytes, mm, extra seconds, kind) of the next unit at b[i]; None until all of it is here."""
        left = len(b) - i
        if self.rows_left:
            if left < self.row_bytes:
                return None
            self.rows_left -= 1
            return self.row_bytes, self.row_mm, 0.0, "row"
        if self.skip:
            take = min(self.skip, left)
            self.skip -= take
            return take, 0.0, 0.0, "data"
        size = command_size(b, i)
        if size is None:
            return None
        first, second = b[i], b[i + 1] if left > 1 else None
        if first == 0x1D and second == 0x76:                  # raster: header now, rows one by one
            m, width, height = b[i + 3], b[i + 4] + 256 * b[i + 5], b[i + 6] + 256 * b[i + 7]
            self.rows_left, self.row_bytes = height, width
            self.row_mm = (2 if m & 2 else 1) / self.dots_per_mm
            if not width:
                self.rows_left = 0
            return 8, 0.0, 0.0, "raster"
        if first == 0x1D and second == 0x56:
            return (size, CUT_FEED_MM, CUT_S, "cut") if left >= size else None
        if first == 0x1B and second == 0x64:                  # ESC d n: print and feed n lines
            return (3, b[i + 2] * LINE_MM, 0.0, "tear" if b[i + 2] >= TEAR_LINES else "feed") if left >= 3 else None
        if first == 0x0A:
            return 1, LINE_MM, 0.0, "feed"
        if first == 0x1D and second == 0x28 and left > 6 and b[i + 2] == 0x6B and b[i + 6] == 0x51:
            return (size, QR_MM, 0.0, "qr") if left >= size else None     # GS ( k … fn 81: print the QR
        if size > 8:                                          # a long command: its data passes at no cost
            take = min(size, left)
            self.skip = size - take
            return take, 0.0, 0.0, "data"
        return (size, 0.0, 0.0, "command") if left >= size else None


class Mechanism:
    """A printer's receive buffer and print head: bytes come in as room allows and go out at a speed.

        m = Mechanism(capacity=4096, speed_mm_s=90)
        m.room(); m.add(data); m.mark("end")     # a connection ended here (its parser starts afresh)
        m.run(now, stopped=False)                # what was done by `now`: [("printed", ticket), …]

    Not thread-safe: FakePrinter calls it under its lock.
    """

    def __init__(self, capacity: int, speed_mm_s: float, dots_per_mm: float = 8.0):
        self.capacity, self.speed_mm_s = capacity, speed_mm_s
        self.buf = bytearray()
        self.base = 0                    # position of buf[0] in all bytes ever buffered
        self.marks: deque[tuple[int, str, object]] = deque()   # ("end" of a connection | "asb" request)
        self.head = Head(dots_per_mm)
        self.job = bytearray()           # what the head has printed since the last ticket ended
        self.cutting: list[tuple[float, bytes]] = []            # tickets whose cut is done at that time
        self.free_at = 0.0               # when the head has done what it was given
        self.paper_left_mm: float | None = None                 # mm still to print before the roll ends

    def room(self) -> int:
        return self.capacity - len(self.buf)

    def add(self, data: bytes) -> None:
        self.buf += data

    def mark(self, kind: str, arg: object = None) -> None:
        self.marks.append((self.base + len(self.buf), kind, arg))

    def busy(self) -> bool:
        """Something is left to print: bytes in the buffer, a command half done, a cut under way."""
        return bool(self.buf or self.cutting or self.head.mid_command)

    def lose(self) -> bytes | None:
        """Power gone: the buffer is lost; the ticket it was printing, if any, is returned (a stub)."""
        stub = bytes(self.job) if self.job or self.head.mid_command else None
        self.base += len(self.buf)
        self.buf.clear()
        self.marks.clear()
        self.job.clear()
        self.head.reset()
        return stub

    def run(self, now: float, stopped: bool) -> list[tuple[str, object]]:
        """Print what time allows up to `now`: ("printed", ticket), ("partial", stub), ("asb", arg), ("paper_end",)."""
        events: list[tuple[str, object]] = []
        for done in [c for c in self.cutting if c[0] <= now]:
            self.cutting.remove(done)
            events.append(("printed", done[1]))
        if self.free_at < now - 0.01:
            self.free_at = now           # no credit for time spent idle or stopped
        while self.free_at <= now:
            while self.marks and self.marks[0][0] <= self.base:
                _, kind, arg = self.marks.popleft()
                if kind == "end":
                    if self.job or self.head.mid_command:
                        events.append(("partial", bytes(self.job)))
                    self.job.clear()
                    self.head.reset()
                else:
                    events.append((kind, arg))
            if not self.buf or stopped or any(e[0] == "paper_end" for e in events):
                break
            limit = self.marks[0][0] - self.base if self.marks else len(self.buf)
            whole = memoryview(self.buf)
            view = whole[:limit]
            try:
                unit = self.head.unit(view)
            finally:
                view.release()
                whole.release()
            if unit is None:
                if not (self.marks and self.marks[0][1] == "end"):
                    break                # the rest of the command has not been received yet
                unit = (limit, 0.0, 0.0, "cut off")   # its connection ended in the middle of it
                self.head.reset()
            n, mm, extra, kind = unit
            self.job += self.buf[:n]
            del self.buf[:n]
            self.base += n
            self.free_at += mm / self.speed_mm_s + extra
            if mm and self.paper_left_mm is not None:
                self.paper_left_mm -= mm
                if self.paper_left_mm <= 0:
                    self.paper_left_mm = None
                    events.append(("paper_end", None))
            if kind in ("cut", "tear"):
                self.cutting.append((self.free_at, bytes(self.job)))
                self.job.clear()
        return events
