"""A loopback TCP "printer" that behaves like a network thermal printer on port 9100.

    with FakePrinter() as fp:                    # listens on 127.0.0.1:<free port>, in a thread
        cfg = check_printer({"transport": "network", "host": "127.0.0.1", "port": fp.port})
        fp.jobs()            # completed tickets, each from its first byte to its cut (GS V), status queries removed
        fp.received          # every byte received, on every connection, nothing ignored
        fp.paper_low() / fp.paper_out() / fp.paper_in() / fp.open_cover() / fp.close_cover()
        fp.stall(after=0)    # stop reading (after N more bytes): connections are accepted, nothing is answered
        fp.resume()          # "power-cycled": stalled connections are dropped, with the bytes they held
        fp.drop_after(500)   # close the connection after 500 more bytes (once)
        fp.silent = True     # a printer that does not answer DLE EOT at all

What it does, and why (modelled on Epson TM and the Xprinter/POS-58 clones):
- It parses the ESC/POS stream enough to find whole commands: raster images (GS v 0,
  GS ( L, GS 8 L, ESC *) are skipped by their declared length, so image bytes that
  happen to look like a cut or a status query are not taken for one.
- DLE EOT 1/2/3/4 is answered at once with the status byte of its current state, also
  while out of paper or with the cover open: that is what real-time status is for.
- Out of paper or cover open: it keeps receiving, and a ticket that is completed meanwhile
  is *held* (in the printer's buffer) and printed when the paper is back and the cover
  closed — like a real printer, which stops printing but does not throw data away.
- A new connection starts with a fresh command parser, and bytes of a ticket cut off by
  a closed connection are kept in `partials`, never in `jobs()`: no cut, no ticket.
- Its receive buffer is small (like a printer's few KB), so a writer to a stalled
  printer blocks and times out instead of filling megabytes of loopback buffers.
"""

from __future__ import annotations

import socket
import threading
import time

RCVBUF = 8192


class FakePrinter:
    def __init__(self, host: str = "127.0.0.1"):
        self.received = bytearray()
        self.printed: list[bytes] = []   # completed tickets, in order
        self.held: list[bytes] = []      # completed while out of paper / cover open
        self.partials: list[bytes] = []  # ticket bytes cut off by a closed connection
        self.queries: list[int] = []     # every DLE EOT n asked
        self.connections = 0
        self.silent = False
        self._paper = "ok"               # ok | low | out
        self._cover_open = False
        self._stall_after: int | None = None
        self._drop_after: int | None = None
        self._paper_out_after: int | None = None
        self._stalled = False
        self._generation = 0             # bumped by resume(): stalled connections of older ones are dropped
        self._lock = threading.Condition()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closing = False
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)  # inherited by accepted sockets
        self._server.bind((host, 0))
        self._server.listen(8)
        self._server.settimeout(0.05)    # so that the accept loop notices close()
        self.host, self.port = self._server.getsockname()

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> "FakePrinter":
        self._spawn(self._accept_loop)
        return self

    def close(self) -> None:
        self._closing = True
        with self._lock:
            self._lock.notify_all()
            conns = list(self._conns)
        for c in conns:
            _abort(c)
        self._server.close()
        for t in self._threads:
            t.join(2)

    def __enter__(self) -> "FakePrinter":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # --- what the test tells it -----------------------------------------------------

    def paper_low(self) -> None:
        self._set(paper="low")

    def paper_out(self, after: int | None = None) -> None:
        """Run out of paper now, or after `after` more bytes (in the middle of a ticket)."""
        if after is None:
            self._set(paper="out")
        else:
            with self._lock:
                self._paper_out_after = after

    def paper_in(self) -> None:
        self._set(paper="ok")

    def open_cover(self) -> None:
        self._set(cover=True)

    def close_cover(self) -> None:
        self._set(cover=False)

    def stall(self, after: int = 0) -> None:
        with self._lock:
            if after:
                self._stall_after = after
            else:
                self._stalled = True

    def resume(self) -> None:
        """The printer was switched off and on: stalled connections and their unread bytes are gone."""
        with self._lock:
            self._stalled, self._stall_after = False, None
            self._generation += 1
            self._lock.notify_all()

    def drop_after(self, n: int) -> None:
        with self._lock:
            self._drop_after = n

    # --- what the test reads ----------------------------------------------------------

    def jobs(self) -> list[bytes]:
        with self._lock:
            return list(self.printed)

    def wait_jobs(self, n: int, timeout: float = 5.0) -> list[bytes]:
        """Wait until at least n tickets are printed; return them all."""
        with self._lock:
            self._lock.wait_for(lambda: len(self.printed) >= n, timeout)
            return list(self.printed)

    def status_byte(self, n: int) -> int | None:
        """The answer to DLE EOT n in the current state (Epson bit layout, see printer/status.py)."""
        out = self._paper == "out"
        stopped = out or self._cover_open
        return {1: 0x12 | (0x08 if stopped else 0),
                2: 0x12 | (0x04 if self._cover_open else 0) | (0x20 if out else 0),
                3: 0x12,
                4: 0x12 | (0x0C if self._paper != "ok" else 0) | (0x60 if out else 0)}.get(n)

    # --- inside --------------------------------------------------------------------------

    def _set(self, paper: str | None = None, cover: bool | None = None) -> None:
        with self._lock:
            if paper is not None:
                self._paper = paper
            if cover is not None:
                self._cover_open = cover
            if self._paper != "out" and not self._cover_open and self.held:
                self.printed += self.held   # the printer goes on with what it kept in its buffer
                self.held.clear()
            self._lock.notify_all()

    def _spawn(self, fn, *args) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True, name="fakeprinter")
        self._threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        parser = _Parser()
        generation = self._generation
        conn.settimeout(0.02)
        try:
            while not self._closing:
                with self._lock:
                    if self._stalled:
                        if self._lock.wait_for(lambda: not self._stalled or self._closing, 0.05) and \
                                self._generation != generation:
                            return      # power-cycled: whatever this connection held is lost
                        continue
                    limit = min(x for x in (4096, self._stall_after, self._drop_after, self._paper_out_after)
                                if x is not None) or 1
                try:
                    data = conn.recv(limit)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                answer = self._received(parser, data)
                if answer is None:
                    return      # dropped
                if answer:
                    conn.sendall(answer)
        finally:
            if parser.job or parser.buf:   # a ticket (or one command of it) never finished
                with self._lock:
                    self.partials.append(bytes(parser.job + parser.buf))
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            _abort(conn)

    def _received(self, parser: "_Parser", data: bytes) -> bytes | None:
        """Record and act on bytes; the answers to send back, or None to drop the connection."""
        with self._lock:
            self.received += data
            answers = bytearray()
            for kind, value in parser.feed(data):
                if kind == "query":
                    self.queries.append(value)
                    byte = self.status_byte(value)
                    if byte is not None and not self.silent:
                        answers.append(byte)
                else:  # a complete ticket
                    (self.held if self._paper == "out" or self._cover_open else self.printed).append(value)
            n = len(data)
            if self._paper_out_after is not None:
                self._paper_out_after -= n
                if self._paper_out_after <= 0:
                    self._paper_out_after, self._paper = None, "out"
            if self._stall_after is not None:
                self._stall_after -= n
                if self._stall_after <= 0:
                    self._stall_after, self._stalled = None, True
            self._lock.notify_all()
            if self._drop_after is not None:
                self._drop_after -= n
                if self._drop_after <= 0:
                    self._drop_after = None
                    return None
            return bytes(answers)


class _Parser:
    """Splits an ESC/POS byte stream into status queries and completed tickets."""

    def __init__(self):
        self.buf = bytearray()
        self.job = bytearray()

    def feed(self, data: bytes):
        self.buf += data
        i = 0
        while i < len(self.buf):
            n = _command_length(self.buf, i)
            if n is None:
                break                     # the rest of this command has not arrived yet
            cmd = bytes(self.buf[i:i + n])
            i += n
            if cmd[:2] == b"\x10\x04":
                yield "query", cmd[2]
                continue
            self.job += cmd
            if cmd[:2] == b"\x1dV":
                yield "job", bytes(self.job)
                self.job.clear()
        del self.buf[:i]


def _command_length(b: bytearray, i: int) -> int | None:
    """Bytes in the command starting at b[i] (1 for plain data), None if it is not all here yet."""
    def need(n: int) -> int | None:
        return n if i + n <= len(b) else None

    def at(k: int) -> int | None:
        return b[i + k] if i + k < len(b) else None

    first, second = b[i], at(1)
    if first not in (0x10, 0x1B, 0x1D):
        return 1
    if second is None:
        return None
    if first == 0x10 and second == 0x04:                      # DLE EOT n
        return need(3)
    if first == 0x1D and second == 0x56:                      # GS V m [n]: cut
        m = at(2)
        return None if m is None else need(4 if m in (65, 66, 97, 98, 103, 104) else 3)
    if first == 0x1D and second == 0x76:                      # GS v 0 m xL xH yL yH data
        if need(8) is None:
            return None
        return need(8 + (b[i + 4] + 256 * b[i + 5]) * (b[i + 6] + 256 * b[i + 7]))
    if first == 0x1D and second == 0x28 and at(2) is not None:  # GS ( X pL pH …
        if need(5) is None:
            return None
        return need(5 + b[i + 3] + 256 * b[i + 4])
    if first == 0x1D and second == 0x38 and at(2) == 0x4C:      # GS 8 L p1 p2 p3 p4 …
        if need(7) is None:
            return None
        return need(7 + int.from_bytes(b[i + 3:i + 7], "little"))
    if first == 0x1B and second == 0x2A:                      # ESC * m nL nH data
        if need(5) is None:
            return None
        return need(5 + (b[i + 3] + 256 * b[i + 4]) * (1 if b[i + 2] in (0, 1) else 3))
    return 1


def _abort(conn: socket.socket) -> None:
    try:
        conn.close()
    except OSError:
        pass


def wait_until(predicate, timeout: float = 5.0, step: float = 0.01) -> bool:
    """Poll a condition (tests use it for state that lives in another thread)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def ticket_bytes(n: int = 1, rows: int = 96, width: int = 384, cut: bool = True) -> bytes:
    """A real ESC/POS job from python-escpos's Dummy printer: an image that differs for each n, then a cut."""
    from escpos.printer import Dummy
    from PIL import Image, ImageDraw

    img = Image.new("1", (width, rows), 1)
    draw = ImageDraw.Draw(img)
    for k in range(n % 7 + 1):                      # n-dependent bars: two jobs never have the same bytes
        draw.rectangle((k * 40, 0, k * 40 + 20 + n % 13, rows - 1 - k), fill=0)
    draw.text((4, 4), f"ticket {n}", fill=0)
    d = Dummy(profile="TM-T20II")
    d.image(img, impl="bitImageRaster", fragment_height=128)
    if cut:
        d.cut()
    return d.output
