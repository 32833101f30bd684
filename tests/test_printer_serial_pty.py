"""The serial transport's status exchange over a real pseudo-terminal (os.openpty), no mocks.

The kiosk opens the pty's slave end as it would /dev/ttyUSB0 (python-escpos's Serial, pyserial);
PtyPrinter sits on the master end like an Epson TM on a serial cable: it parses the byte stream
(tests/escpos_stream.py), answers each DLE EOT n the moment it arrives with the status byte of
its state (tests/fakeprinter.epson_status_byte), and keeps each ticket that ends with a cut.
"""

from __future__ import annotations

import os
import select
import threading
import time
import tty

import pytest
from escpos_stream import Parser
from fakeprinter import epson_status_byte, ticket_bytes, wait_until

from printer import status as st
from printer.config import check_printer
from printer.spool import Spool
from printer.transports import NoAnswer, PrinterUnavailable, SerialLink, link_for

JOB = ticket_bytes(3)


class PtyPrinter:
    """A serial printer at the master end of a pty; `port` is the device the kiosk opens."""

    def __init__(self):
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)         # no echo, no CR/LF rewriting, until pyserial sets raw mode itself
        self.port = os.ttyname(self._slave)
        self.paper, self.cover_open, self.silent = "ok", False, False
        self.queries: list[int] = []
        self.tickets: list[bytes] = []
        self._lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(target=self._serve, daemon=True, name="pty-printer")

    def __enter__(self) -> PtyPrinter:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.unplug()
        os.close(self._slave)

    def unplug(self) -> None:
        """The cable is pulled: the master end closes, and the kiosk's side reads end of file."""
        if not self._closing:
            self._closing = True
            self._thread.join(2)
            os.close(self.master)

    def jobs(self) -> list[bytes]:
        with self._lock:
            return list(self.tickets)

    def _serve(self) -> None:
        parser = Parser()
        while not self._closing:
            if not select.select([self.master], [], [], 0.02)[0]:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:             # every slave descriptor closed: nothing more will come
                return
            answers = bytearray()
            with self._lock:
                for kind, value in parser.feed(data):
                    if kind == "query":
                        self.queries.append(value)
                        byte = epson_status_byte(value, self.paper, self.cover_open)
                        if byte is not None and not self.silent:
                            answers.append(byte)
                    elif kind == "job":
                        self.tickets.append(value)
            if answers:
                os.write(self.master, bytes(answers))


@pytest.fixture
def pp():
    with PtyPrinter() as printer:
        yield printer


def serial(pp: PtyPrinter, **kw):
    return check_printer({"transport": "serial", "port": pp.port, "baudrate": 115200, "model": "TM-T20II",
                          "timeout_s": 1, **kw})


@pytest.mark.parametrize("paper, cover_open, state", [
    ("ok", False, "ok"),
    ("low", False, "paper_low"),
    ("out", False, "paper_out"),
    ("ok", True, "cover_open"),
    ("out", True, "cover_open"),    # the cover is opened to load paper: closing it is the fix
])
def test_serial_status_over_a_pty(pp, paper, cover_open, state):
    pp.paper, pp.cover_open = paper, cover_open
    link = link_for(serial(pp))
    assert isinstance(link, SerialLink)
    link.open()
    try:
        assert st.query(link, 0.5) == state
    finally:
        link.close()
    # DLE EOT 1 and 4 always; 2 (why offline) only when the printer says it is offline.
    assert pp.queries == ([1, 4, 2] if paper == "out" or cover_open else [1, 4])


def test_a_ticket_goes_through_whole_and_the_printer_answers_after_it(pp):
    link = link_for(serial(pp)).open()
    try:
        link.write(JOB)
        assert st.query(link, 0.5) == "ok"
        assert wait_until(lambda: pp.jobs() == [JOB], 2)
    finally:
        link.close()


def test_a_late_answer_is_dropped_before_the_next_question(pp):
    pp.cover_open = True
    link = link_for(serial(pp)).open()
    try:
        link.escpos._raw(st.DLE_EOT + bytes([st.PRINTER]))    # asked, never read: "offline" is waiting
        assert wait_until(lambda: pp.queries == [1], 2)
        time.sleep(0.05)    # the answer is on its way back through the pty
        pp.cover_open = False
        assert st.query(link, 0.5) == "ok"
    finally:
        link.close()


def test_a_silent_serial_printer_raises_no_answer_in_time(pp):
    pp.silent = True
    link = link_for(serial(pp)).open()
    t0 = time.monotonic()
    try:
        with pytest.raises(NoAnswer):
            st.query(link, 0.2)
        assert time.monotonic() - t0 < 1
        assert pp.queries == [1]
    finally:
        link.close()


def test_an_unplugged_serial_printer_is_unavailable(pp):
    link = link_for(serial(pp)).open()
    assert st.query(link, 0.5) == "ok"
    pp.unplug()
    with pytest.raises(PrinterUnavailable, match="serial printer on .* connection lost while asking status"):
        st.query(link, 0.5)
    assert not link.is_open


def test_the_spool_holds_a_ticket_while_out_of_paper_and_prints_it_after(pp, tmp_path):
    pp.paper = "out"
    states: list[str] = []
    sp = Spool.for_printer(str(tmp_path / "spool.db"), serial(pp), poll_s=0.05, on_status=states.append)
    try:
        job = sp.submit("20261125-1001", "1001", JOB)
        assert job.wait(3) == "waiting" and job.reason == "paper_out"
        assert pp.jobs() == [] and states[-1] == "paper_out"
        pp.paper = "ok"
        assert job.wait(5, until=("printed", "failed")) == "printed"
        assert pp.jobs() == [JOB] and states[-1] == "ok"
    finally:
        sp.close()
