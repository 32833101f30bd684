"""A loopback TCP "printer" that behaves like a network thermal printer on port 9100.

(Over 400 lines: one printer's whole behaviour, every test's instrument, reads best in one place;
the ESC/POS parsing and the print head are in tests/escpos_stream.py already.)

    with FakePrinter() as fp:                    # listens on 127.0.0.1:<free port>, in a thread
        cfg = check_printer({"transport": "network", "host": "127.0.0.1", "port": fp.port})
        fp.jobs()            # completed tickets, each from its first byte to its cut (GS V) or tear feed (ESC d n),
                             # status queries removed
        fp.received          # every byte received, on every connection, nothing ignored
        fp.paper_low() / fp.paper_out() / fp.paper_in() / fp.open_cover() / fp.close_cover()
        fp.stall(after=0)    # stop reading (after N more bytes): connections are accepted, nothing is answered
        fp.resume()          # "power-cycled": stalled connections are dropped, with the bytes they held
        fp.power_cycle()     # the same for every connection, stalled or not
        fp.drop_after(500)   # close the connection after 500 more bytes (once)
        fp.silent = True     # a printer that does not answer DLE EOT at all
        fp.wait_queries(more=6)      # positive signals before a negative check: 6 more DLE EOT received,
        fp.wait_connections(more=2)  # 2 more connections accepted,
        fp.wait_accepting()          # the accept loop looked again: a connection made before is counted

    with FakePrinter(buffer=4096, speed_mm_s=90) as fp:   # the hardware's timing (issue 13)
        fp.paper_out(after_mm=30)  # the roll ends 30 mm further on: in the middle of the next ticket
        fp.wait_idle()             # its buffer is empty and the last cut is done

What it does, and why (modelled on Epson TM and the Xprinter/POS-58 clones):
- It parses the ESC/POS stream enough to find whole commands (tests/escpos_stream.py): raster
  images are skipped by their declared length, so image bytes that happen to look like a cut or
  a status query are not taken for one.
- DLE EOT 1/2/3/4 is answered with the status byte of its state the moment it is *received*, also
  while out of paper or with the cover open: that is what real-time status is for (Epson: "the
  printer executes this command upon receiving it"). GS a n (automatic status back, ASB) makes it
  send Epson's 4 status bytes at once and on every change, even while nothing can be received.
- Instant (the default): it reads whatever comes and prints each ticket the moment its cut
  arrives. Out of paper or cover open: it keeps receiving, and a ticket completed meanwhile is
  *held* and printed when the paper is back and the cover closed.
- buffer=N, speed_mm_s=S: like the hardware. Received bytes wait in a receive buffer of N bytes,
  and the connection is read only while the buffer has room, so the sender blocks as a real
  printer's TCP window makes it (the kernel keeps 2 KB more, like a printer's network chip). A
  print head takes the buffer apart at S mm/s: a GS v 0 raster costs its height in dots / 8 mm,
  a cut feeds to the blade first. So a status query sent after a 17 KB job waits in the stream
  until the buffer has room for it, and its answer comes late; paper_out(after_mm=…) stops the
  head in the middle of a ticket (the buffer stays full, and nothing more is received), and
  paper_in() lets it finish the ticket from its buffer. A ticket counts as printed when its cut
  is done. The head keeps its speed on a loaded machine: a late wake-up of its thread is made up.
- A new connection starts with a fresh command parser, and bytes of a ticket cut off by a closed
  connection are kept in `partials`, never in `jobs()`: no cut, no ticket.
"""

from __future__ import annotations

import socket
import threading
import time

from escpos_stream import Mechanism, Parser, Splitter

RCVBUF = 8192        # instant mode: small, so a writer to a stalled printer times out
# Buffered mode: the kernel holds 2 KB ahead of the printer's own buffer, like a network chip's. Not
# less: at the kernel's minimum (SO_RCVBUF 1: 2304 bytes, a 1152-byte window on loopback) Linux
# sometimes stops sending window updates, and the sender trickles 573 bytes per 200 ms zero-window
# probe: the head starved 4.8 s in one 17 KB ticket (`ss -tmi`: timer:persist, rwnd_limited 99%).
# A real printer's interface opens its window as its buffer empties; no hardware prints like that.
CHIP_RCVBUF = 2048
REPLAY_STEP_S = 0.005   # under Mechanism.run's 10 ms: a gap longer than that it takes for the head idle


class FakePrinter:
    def __init__(self, host: str = "127.0.0.1", *, buffer: int | None = None, speed_mm_s: float = 150.0,
                 dots_per_mm: float = 8.0):
        self.received = bytearray()
        self.printed: list[bytes] = []   # completed tickets, in order
        self.held: list[bytes] = []      # instant mode: completed while out of paper / cover open
        self.partials: list[bytes] = []  # ticket bytes cut off by a closed connection
        self.queries: list[int] = []     # every DLE EOT n asked
        self.answer_times: list[float] = []  # time.monotonic() of each DLE EOT answer sent
        self.asb_requests: list[int] = []    # every GS a n received
        self.connections = 0
        self.accept_rounds = 0           # times the accept loop took a connection or found none waiting
        self.silent = False
        self.buffer, self.speed_mm_s = buffer, speed_mm_s
        self._paper = "ok"               # ok | low | out
        self._cover_open = False
        self._stall_after: int | None = None
        self._drop_after: int | None = None
        self._paper_out_after: int | None = None     # bytes still to receive before the paper ends
        self._stalled = False
        self._generation = 0             # bumped by resume(): stalled connections of older ones are dropped
        self._lock = threading.Condition()
        self._conns: list[socket.socket] = []
        self._asb: dict[socket.socket, bytes] = {}   # connections that asked for ASB: the status last sent
        self._threads: list[threading.Thread] = []
        self._closing = False
        self._mech = Mechanism(buffer or 0, speed_mm_s, dots_per_mm)   # buffered mode's buffer and head
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Inherited by accepted sockets. Buffered: small, so the buffer that counts is the printer's own.
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF if buffer is None else CHIP_RCVBUF)
        self._server.bind((host, 0))
        self._server.listen(8)
        self._server.settimeout(0.05)    # so that the accept loop notices close()
        self.host, self.port = self._server.getsockname()

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> FakePrinter:
        self._spawn(self._accept_loop)
        if self.buffer is not None:
            self._spawn(self._print_loop)
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

    def __enter__(self) -> FakePrinter:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # --- what the test tells it -----------------------------------------------------

    def paper_low(self) -> None:
        self._set(paper="low")

    def paper_out(self, after: int | None = None, after_mm: float | None = None) -> None:
        """Run out of paper now, after `after` more bytes received, or after `after_mm` more mm printed."""
        with self._lock:
            if after is not None:
                self._paper_out_after = after
            elif after_mm is not None:
                self._mech.paper_left_mm = after_mm
            else:
                self._set(paper="out")

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
            stub = self._mech.lose()
            if stub is not None:
                self.partials.append(stub)
            self._lock.notify_all()

    def power_cycle(self) -> None:
        """Switched off and on: every connection is dropped, and what the buffer held is lost."""
        self.resume()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            _abort(c)

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

    # Positive signals: a negative check ("nothing was sent again") waits for one first, so that
    # the time passed is known to be enough (a fixed sleep passes on a slow machine unchecked).

    def wait_queries(self, more: int, timeout: float = 5.0) -> bool:
        """Wait until `more` DLE EOT queries more than now have been received (the spool asks every round)."""
        return self._wait_more(lambda: len(self.queries), more, timeout)

    def wait_connections(self, more: int, timeout: float = 5.0) -> bool:
        """Wait until `more` connections more than now have been accepted (also while stalled)."""
        return self._wait_more(lambda: self.connections, more, timeout)

    def wait_accepting(self, rounds: int = 2, timeout: float = 5.0) -> bool:
        """Wait until the accept loop has looked for new connections `rounds` more times: a connection
        made before the call (the kernel queues it at once) is in `connections` by then."""
        return self._wait_more(lambda: self.accept_rounds, rounds, timeout)

    def _wait_more(self, count, more: int, timeout: float) -> bool:
        with self._lock:
            target = count() + more
            return self._lock.wait_for(lambda: count() >= target, timeout)

    def idle(self) -> bool:
        """Nothing left to print: the buffer is empty and no cut is under way (always so when instant)."""
        with self._lock:
            return not self._mech.busy()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: not self._mech.busy(), timeout)

    def buffered(self) -> int:
        """Bytes in the receive buffer, not printed yet."""
        with self._lock:
            return len(self._mech.buf)

    def only_status_received(self) -> bool:
        """Nothing but status traffic (DLE EOT n, GS a n) reached the printer: no byte of a ticket."""
        with self._lock:
            return len(self.received) == 3 * (len(self.queries) + len(self.asb_requests))

    def status_byte(self, n: int) -> int | None:
        """The answer to DLE EOT n in the current state (Epson bit layout, see printer/status.py)."""
        return epson_status_byte(n, self._paper, self._cover_open)

    def asb_status(self) -> bytes:
        """The 4 bytes of automatic status back (GS a) in the current state, Epson's layout."""
        out = self._paper == "out"
        return bytes([0x10 | (0x08 if out or self._cover_open else 0) | (0x20 if self._cover_open else 0), 0x00,
                      (0x03 if self._paper != "ok" else 0) | (0x0C if out else 0), 0x00])

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
            self._push_status()
            self._lock.notify_all()

    def _push_status(self, only: socket.socket | None = None) -> None:
        # ASB: the printer sends its status when it changes, whatever its receive buffer holds.
        if self.silent:
            return
        now = self.asb_status()
        for conn, sent in list(self._asb.items()):
            if conn is only or (only is None and sent != now):
                self._asb[conn] = now
                _send(conn, now)

    def _spawn(self, fn, *args) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True, name="fakeprinter")
        self._threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                with self._lock:
                    self.accept_rounds += 1
                    self._lock.notify_all()
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(conn)
                self.accept_rounds += 1
                self._lock.notify_all()
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        parser = Parser() if self.buffer is None else Splitter()
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
                    room = 4096 if self.buffer is None else self._mech.room()
                    if room <= 0:       # the buffer is full: the TCP window stays shut
                        self._lock.wait(0.01)
                        continue
                    limit = min(x for x in (room, self._stall_after, self._drop_after, self._paper_out_after)
                                if x is not None) or 1
                try:
                    data = conn.recv(limit)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data or not self._received(conn, parser, data):
                    return      # closed by the kiosk, or dropped
        finally:
            with self._lock:
                if isinstance(parser, Parser) and (parser.job or parser.buf):   # a ticket never finished
                    self.partials.append(bytes(parser.job + parser.buf))
                if isinstance(parser, Splitter) and self._generation == generation:
                    self._mech.mark("end")
                if conn in self._conns:
                    self._conns.remove(conn)
                self._asb.pop(conn, None)
                self._lock.notify_all()
            _abort(conn)

    def _received(self, conn: socket.socket, parser, data: bytes) -> bool:
        """Record and act on bytes received; False to drop the connection."""
        with self._lock:
            self.received += data
            answers = bytearray()
            for kind, value in parser.feed(data):
                if kind == "query":
                    self.queries.append(value)
                    byte = self.status_byte(value)
                    if byte is not None and not self.silent:
                        answers.append(byte)
                        self.answer_times.append(time.monotonic())
                elif kind == "asb":
                    self.asb_requests.append(value)
                    if isinstance(parser, Parser):
                        self._asb_request(conn, value)
                    else:               # not a real-time command: done when the head gets to it
                        self._mech.mark("asb", (conn, value))
                elif kind == "data":
                    self._mech.add(value)
                else:  # instant mode: a complete ticket
                    (self.held if self._paper == "out" or self._cover_open else self.printed).append(value)
            if answers:
                _send(conn, bytes(answers))
            n = len(data)
            if self._paper_out_after is not None:
                self._paper_out_after -= n
                if self._paper_out_after <= 0:
                    self._paper_out_after, self._paper = None, "out"
                    self._push_status()
            if self._stall_after is not None:
                self._stall_after -= n
                if self._stall_after <= 0:
                    self._stall_after, self._stalled = None, True
            self._lock.notify_all()
            if self._drop_after is not None:
                self._drop_after -= n
                if self._drop_after <= 0:
                    self._drop_after = None
                    return False
            return True

    def _asb_request(self, conn: socket.socket, n: int) -> None:
        if n:
            self._asb[conn] = b""
            self._push_status(only=conn)     # the first status goes out at once
        else:
            self._asb.pop(conn, None)

    # --- buffered mode: the print head --------------------------------------------------

    def _print_loop(self) -> None:
        last, was_stopped = time.monotonic(), True
        while not self._closing:
            with self._lock:
                now = time.monotonic()
                # A print head does not pause when the kiosk's CPU is busy, but this thread may wake
                # late, and Mechanism.run takes a long gap for idle time. So the gap is replayed in
                # short steps: the head prints what its buffer held meanwhile (and idles once it is
                # empty). Not across a change of state (paper, cover, stall): its moment is unknown.
                t = last if self._stopped() == was_stopped else now
                while True:
                    t = min(now, t + REPLAY_STEP_S)
                    self._head_run(t)
                    if t >= now:
                        break
                last, was_stopped = now, self._stopped()
                busy = self._mech.busy() or self._mech.marks
                if busy or not was_stopped:
                    self._lock.notify_all()  # room in the buffer, a ticket done, or idle at last
                self._lock.wait(0.002 if busy else 0.05)

    def _stopped(self) -> bool:
        return self._stalled or self._paper == "out" or self._cover_open

    def _head_run(self, now: float) -> None:
        # Called with the lock held: what the head did by `now`.
        for kind, value in self._mech.run(now, self._stopped()):
            if kind == "printed":
                self.printed.append(value)
            elif kind == "partial":
                self.partials.append(value)
            elif kind == "asb":
                self._asb_request(*value)
            else:                   # the roll ended under the head
                self._paper = "out"
                self._push_status()


def epson_status_byte(n: int, paper: str, cover_open: bool) -> int | None:
    """What an Epson TM answers to DLE EOT n with its paper `ok`, `low` or `out` and its cover open or not."""
    out = paper == "out"
    stopped = out or cover_open
    return {1: 0x12 | (0x08 if stopped else 0),
            2: 0x12 | (0x04 if cover_open else 0) | (0x20 if out else 0),
            3: 0x12,
            4: 0x12 | (0x0C if paper != "ok" else 0) | (0x60 if out else 0)}.get(n)


def _send(conn: socket.socket, data: bytes) -> None:
    try:
        conn.sendall(data)
    except OSError:
        pass            # the kiosk went away; nothing to tell it


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
