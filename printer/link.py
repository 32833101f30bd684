"""One connection to a ticket printer: what every transport shares (printer.transports has one class each).

    link = link_for(cfg)                  # printer.transports: a NetworkLink, UsbLink …; nothing opened yet
    link.open()                           # PrinterUnavailable("network printer 10.0.0.9:9100 (TM-T20II): …")
    link.write(job_bytes, label="A001-7", image_png=png)
    link.exchange(b"\\x10\\x04\\x01", 0.5)  # raw answer bytes; None when the transport cannot read
    link.send_request(q); link.read_answer(2.0)   # the same in two steps, for an answer that comes late
    link.pushed()                         # the state the printer sent by itself (ASB), if it did
    link.close()

A Link wraps one python-escpos object for one connection: after any error the spool throws the
Link away and makes a new one, because python-escpos objects keep a half-open state after a
failed open (`_device = None` then `assert self.device` on write). Every failure leaves here as
PrinterUnavailable (the connection is gone) or NoAnswer (the printer is silent).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NoReturn

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from hall.tomlcheck import Table
from printer.profiles import load_profile
from printer.status import NoAnswer, Replies

if TYPE_CHECKING:   # printer.config imports the transports for their settings
    from printer.config import PrinterConfig

log = logging.getLogger("motcua.printer")

CHUNK = 4096  # bytes per write: each chunk gets the whole timeout, so a slow printer is not a stalled one
# What the kiosk screen says when the printer cannot be reached at all.
UNREACHABLE_VI = "Không kết nối được máy in vé. Vui lòng ghi nhớ số thứ tự trên màn hình."


class PrinterUnavailable(Exception):
    """The printer cannot be reached or the connection was lost; `message_vi` is for the kiosk screen.

    str(err) is the English line for the log: which printer, what happened, what to check.
    """

    def __init__(self, printer: str, problem: str, check: str, message_vi: str = UNREACHABLE_VI):
        self.printer, self.problem, self.check, self.message_vi = printer, problem, check, message_vi
        super().__init__(f"{printer}: {problem}; check {check}")


class Link:
    """One connection to the configured printer. Not thread-safe: the spool's worker owns it.

    Made by printer.transports.link_for(cfg), which picks the subclass of cfg.transport.
    """
    KIND: ClassVar[str]                # the [printer] transport value
    KEYS: ClassVar[tuple[str, ...]]    # [printer] keys only this transport takes
    CHECK: ClassVar[str]               # what to check when it cannot be reached (English, log and CLI)
    READS: ClassVar[bool] = True       # it can read the printer's answers (DLE EOT status)
    AT_ONCE: ClassVar[bool] = False    # a job is done when written: nothing to wait for (preview)

    def __init__(self, cfg: PrinterConfig):
        self.cfg = cfg
        self.name = cfg.name
        self.profile = load_profile(cfg.model, cfg.width)
        self.escpos = self._make()
        self.is_open = False
        self.replies = Replies()
        self.status_back = False           # status pushed by the printer (ASB): see NetworkLink

    # --- what each transport says about itself (printer.config uses these) ----------------

    @classmethod
    def settings(cls, t: Table, file: str | Path) -> dict:
        """Check this transport's [printer] keys; the PrinterConfig fields they give."""
        raise NotImplementedError

    @staticmethod
    def where(cfg: PrinterConfig) -> str:
        """Which printer, where: the start of every log line about it."""
        raise NotImplementedError

    def _check(self, opening: bool) -> str:
        return self.CHECK

    # --- opening ----------------------------------------------------------------

    def open(self) -> Link:
        """Connect now (python-escpos would only connect on the first write); PrinterUnavailable if not there."""
        if self.is_open:
            return self
        self.replies = Replies()           # a new connection: nothing from the last one counts
        try:
            self._connect()
        except (DeviceNotFoundError, OSError) as exc:  # OSError: no lpstat/lp, preview folder not writable
            raise PrinterUnavailable(self.name, first_line(exc), self._check(True)) from None
        if not self.escpos._device:
            raise PrinterUnavailable(self.name, "could not be opened", self._check(True))
        self._opened()
        self.is_open = True
        log.info("%s: opened", self.name)
        return self

    def close(self) -> None:
        if self.is_open:
            try:
                self.escpos.close()
            except Exception as exc:  # closing a broken connection may fail again; it is gone either way
                log.debug("%s: close: %s", self.name, exc)
        self.is_open = False

    # --- bytes --------------------------------------------------------------------

    def write(self, data: bytes, *, label: str = "job", image_png: bytes | None = None) -> None:
        """Send a whole job. PrinterUnavailable when the connection fails part-way (the job is incomplete)."""
        self.open()
        try:
            for i in range(0, len(data), CHUNK):
                self.escpos._raw(data[i:i + CHUNK])
            self._job_sent(label, image_png)
        except Exception as exc:  # socket.timeout, EPIPE, pyusb USBError, SerialTimeoutException, lp's pipe…
            self.close()
            raise PrinterUnavailable(self.name, f"connection lost while sending a ticket ({first_line(exc)})",
                                     self._check(False)) from None

    def exchange(self, request: bytes, timeout: float) -> bytes | None:
        """Send a real-time request and return the first bytes the printer answers.

        None when this transport cannot read (file, cups). NoAnswer when nothing comes within
        `timeout`; PrinterUnavailable when the connection is lost. Bytes still waiting from
        earlier (a late answer, XON/XOFF) are thrown away first, so they are not taken as the answer.
        """
        try:
            if not self.send_request(request):
                return None
        except NoAnswer as exc:   # asking needs the printer to take 3 bytes: one that will not has stalled
            self._broken("asking status", exc)
        answer = self.read_answer(timeout)
        if answer is None:
            raise NoAnswer(f"{self.name}: no answer to status query within {timeout:g} s")
        return answer

    def send_request(self, request: bytes, drop_late: bool = True) -> bool:
        """Send a real-time request whose answer read_answer() will get; False if this transport cannot read.

        Answers still waiting from earlier requests are thrown away first unless `drop_late` is False
        (the spool sends more while the first is still on its way); status pushed (ASB) is kept.
        NoAnswer when the printer takes no byte within timeout_s (its TCP window stays shut).
        """
        if not self.READS:
            return False
        self.open()
        try:
            return self._send(request, drop_late)
        except TimeoutError:
            # Our send buffer is full: the printer is not taking bytes in. Not an answer, not a lost line.
            raise NoAnswer(f"{self.name}: the printer took no bytes for {self.cfg.timeout_s:g} s") from None
        except Exception as exc:
            self._broken("asking status", exc)

    def read_answer(self, timeout: float) -> bytes | None:
        """The next answer to a request sent, within `timeout`; None if none came (PrinterUnavailable: lost)."""
        try:
            return self._read(timeout)
        except Exception as exc:
            self._broken("asking status", exc)

    def pushed(self) -> str | None:
        """The latest state the printer sent by itself (ASB) since the last call, or None."""
        return self.replies.take()

    def _broken(self, doing: str, exc: BaseException) -> NoReturn:
        self.close()
        raise PrinterUnavailable(self.name, f"connection lost while {doing} ({first_line(exc)})",
                                 self._check(False)) from None

    # --- what the transports fill in -----------------------------------------------

    def _make(self) -> Escpos:
        raise NotImplementedError

    def _escpos_profile(self):
        """What python-escpos is given: a model of its own database by name, else our profile (clones, widths)."""
        from escpos.capabilities import CAPABILITIES
        if self.cfg.model in CAPABILITIES["profiles"] and not self.cfg.width:
            return self.cfg.model
        return self.profile.escpos_profile()

    def _connect(self) -> None:
        self.escpos.open()

    def _opened(self) -> None:
        """Set the new connection up (timeouts, buffers) once it is open."""

    def _job_sent(self, label: str, image_png: bytes | None) -> None:
        """Called once a job's bytes are all written."""

    def _send(self, request: bytes, drop_late: bool) -> bool:
        return False

    def _read(self, timeout: float) -> bytes | None:
        return None


def first_line(exc: BaseException) -> str:
    """An exception as one short line for the log."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


__all__ = ["Link", "PrinterUnavailable", "NoAnswer", "UNREACHABLE_VI", "first_line"]
