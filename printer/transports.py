"""Getting bytes to the configured printer, and one status byte back.

    link = Link(cfg)                      # nothing is opened yet
    link.open()                           # PrinterUnavailable("network printer 10.0.0.9:9100 (TM-T20II): …")
    link.write(job_bytes, label="A001-7", image_png=png)
    link.exchange(b"\\x10\\x04\\x01", 0.5)  # raw answer bytes; None when the transport cannot read
    link.send_request(q); link.read_answer(2.0)   # the same in two steps, for an answer that comes late
    link.pushed()                         # the state the printer sent by itself (ASB), if it did
    link.close()

`open_printer(cfg)` gives the python-escpos object itself (Usb, Serial, Network,
File, LP, or our PreviewPrinter), for code that draws on an Escpos. A Link wraps
one such object for one connection: after any error the spool throws the Link
away and makes a new one, because python-escpos objects keep a half-open state
after a failed open (`_device = None` then `assert self.device` on write).
"""

from __future__ import annotations

import logging
import select
import socket
import time
from pathlib import Path

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError

from printer.config import PrinterConfig

log = logging.getLogger("motcua.printer")

SNDBUF = 32 * 1024  # network send buffer (see Link.open)
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


class NoAnswer(Exception):
    """The printer did not answer a status query in time (it may be stalled or not support it)."""


class PreviewPrinter(Escpos):
    """A printer that writes each job to a folder: `<label>.png` (the ticket image) and `<label>.bin`.

    Used by the demo and for trying a kiosk without hardware. It never runs out of paper.
    """

    def __init__(self, folder: str | Path, *args, **kwargs):
        Escpos.__init__(self, *args, **kwargs)
        self.folder = Path(folder)
        self._buffer: list[bytes] = []

    def open(self, raise_not_found: bool = True) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.device = self.folder

    def _raw(self, msg: bytes) -> None:
        self._buffer.append(bytes(msg))

    def save(self, label: str, image_png: bytes | None) -> Path:
        """Write what was sent since the last save as <label>.bin, and the ticket image as <label>.png."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label) or "job"
        path = self.folder / f"{safe}.bin"
        path.write_bytes(b"".join(self._buffer))
        self._buffer.clear()
        if image_png is not None:
            (self.folder / f"{safe}.png").write_bytes(image_png)
        return path

    def close(self) -> None:
        self._device = False


def open_printer(cfg: PrinterConfig) -> Escpos:
    """The python-escpos object for the config; nothing is opened until first use (lazy)."""
    from escpos import printer as p
    from escpos.capabilities import CAPABILITIES
    model = cfg.model
    if model not in CAPABILITIES["profiles"] or cfg.width:
        from printer.profiles import load_profile  # our clone profiles (POS-58 …) and width overrides
        model = load_profile(cfg.model, cfg.width).escpos_profile()
    if cfg.transport == "usb":
        # python-escpos's USB timeout is in ms and 0 means "wait forever": a stalled printer must not hang us.
        return p.Usb(cfg.vendor_id, cfg.product_id, timeout=int(cfg.timeout_s * 1000),
                     in_ep=cfg.in_ep, out_ep=cfg.out_ep, profile=model)
    if cfg.transport == "serial":
        return p.Serial(devfile=cfg.serial_port, baudrate=cfg.baudrate, timeout=cfg.timeout_s, profile=model)
    if cfg.transport == "network":
        return p.Network(host=cfg.host, port=cfg.tcp_port, timeout=cfg.timeout_s, profile=model)
    if cfg.transport == "file":
        return p.File(devfile=cfg.path, profile=model)
    if cfg.transport == "cups":
        return p.LP(printer_name=cfg.queue, profile=model)
    return PreviewPrinter(cfg.folder, profile=model)


# What to check, per transport, when the printer cannot be opened (English, for the log and the CLI).
_CHECK = {
    "usb": "that the printer is switched on and its USB cable plugged in, that `lsusb` lists {id}, and that "
           "the kiosk's user may use it (group lp and the udev rule in docs/printers.md)",
    "serial": "the cable or USB-serial adapter, the port name (`ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id`) "
              "and that the kiosk's user is in group dialout",
    "network": "that the printer is switched on and cabled, its IP address (print its self-test page) and port, "
               "and that this kiosk can reach it (`ping`)",
    "file": "that the printer is switched on and plugged in, that the usblp driver created the device file "
            "(`ls -l /dev/usb/`), and that the kiosk's user is in group lp",
    "cups": "that CUPS is installed (cups-client) and the raw queue exists (`lpstat -p`; docs/printers.md)",
    "preview": "that the folder can be created and written by the kiosk's user",
}


class Link:
    """One connection to the configured printer. Not thread-safe: the spool's worker owns it."""

    def __init__(self, cfg: PrinterConfig):
        from printer.profiles import load_profile
        from printer.status import Replies   # printer.status imports this module: not at the top
        self.cfg = cfg
        self.name = cfg.name
        self.escpos = open_printer(cfg)
        self.is_open = False
        self._replies = Replies
        self.replies = Replies()
        # Status pushed by the printer (ASB) only where it is sure to be understood: see printer.status.
        self.status_back = (cfg.transport == "network" and cfg.status_query != "never"
                            and load_profile(cfg.model, cfg.width).status_back)

    # --- opening ----------------------------------------------------------------

    def open(self) -> Link:
        """Connect now (python-escpos would only connect on the first write); PrinterUnavailable if not there."""
        if self.is_open:
            return self
        self.replies = self._replies()       # a new connection: nothing from the last one counts
        cfg, check = self.cfg, _CHECK[self.cfg.transport].format(
            id=f"{self.cfg.vendor_id or 0:04x}:{self.cfg.product_id or 0:04x}")
        if cfg.transport == "file" and not Path(cfg.path).exists():
            # open(path, "wb") would quietly create a plain file where the device should be.
            raise PrinterUnavailable(self.name, f"{cfg.path} does not exist", check)
        try:
            self.escpos.open()
            if cfg.transport == "usb" and cfg.interface:
                _detach_kernel_driver(self.escpos.device, cfg.interface)
        except (DeviceNotFoundError, OSError) as exc:  # OSError: no lpstat/lp, preview folder not writable
            raise PrinterUnavailable(self.name, _first_line(exc), check) from None
        except ValueError as exc:   # pyusb's NoBackendError: libusb itself is missing
            if type(exc).__name__ != "NoBackendError":
                raise
            raise PrinterUnavailable(self.name, "libusb is not installed (pyusb has no backend)",
                                     "that the libusb-1.0-0 package is installed") from None
        if not self.escpos._device:
            raise PrinterUnavailable(self.name, "could not be opened", check)
        if cfg.transport == "serial":
            self.escpos.device.write_timeout = cfg.timeout_s  # pyserial's default blocks forever on flow control
        if cfg.transport == "network":
            # A printer takes bytes only as fast as it prints. Linux would let megabytes wait in our send
            # buffer; a small one keeps a write's progress honest, so a stalled printer shows as a timeout.
            self.escpos.device.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
            if self.status_back:
                from printer.status import STATUS_BACK
                try:
                    self.escpos.device.sendall(STATUS_BACK)
                except OSError as exc:
                    self.escpos.close()
                    raise PrinterUnavailable(self.name, _first_line(exc), check) from None
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
            if isinstance(self.escpos, PreviewPrinter):
                self.escpos.save(label, image_png)
            elif self.cfg.transport == "cups":
                lp = self.escpos.device
                self.escpos.close()  # lp submits the job when its stdin closes
                self.is_open = False
                if lp.returncode:
                    raise OSError(f"lp refused the job (exit status {lp.returncode}; is the queue enabled?)")
        except Exception as exc:  # socket.timeout, EPIPE, pyusb USBError, SerialTimeoutException, lp's pipe…
            self.close()
            raise PrinterUnavailable(self.name, f"connection lost while sending a ticket ({_first_line(exc)})",
                                     _CHECK[self.cfg.transport].format(id="the printer")) from None

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
        transport = self.cfg.transport
        if transport in ("file", "cups"):
            return False
        if transport == "preview":
            return True
        self.open()
        try:
            if transport == "network":
                self._pull_tcp(0)
                if drop_late:
                    self.replies.answers.clear()
                self.escpos.device.sendall(request)
            elif transport == "serial":
                if drop_late:
                    self.escpos.device.reset_input_buffer()
                self.escpos.device.write(request)
            else:
                return self._send_usb(request)
        except socket.timeout:
            # Our send buffer is full: the printer is not taking bytes in. Not an answer, not a lost line.
            raise NoAnswer(f"{self.name}: the printer took no bytes for {self.cfg.timeout_s:g} s") from None
        except Exception as exc:
            self._broken("asking status", exc)
        return True

    def read_answer(self, timeout: float) -> bytes | None:
        """The next answer to a request sent, within `timeout`; None if none came (PrinterUnavailable: lost)."""
        transport = self.cfg.transport
        if transport == "preview":
            return bytes([0x12])  # "fixed bits only": online, paper present, cover closed
        try:
            if transport == "network":
                deadline = time.monotonic() + timeout
                while not self.replies.answers and self._pull_tcp(deadline - time.monotonic()):
                    pass
                return self.replies.take_answers() or None
            if transport == "serial":
                return self._read_serial(timeout)
            return self._read_usb(timeout)
        except Exception as exc:
            self._broken("asking status", exc)

    def pushed(self) -> str | None:
        """The latest state the printer sent by itself (ASB) since the last call, or None."""
        if self.cfg.transport == "network" and self.is_open:
            try:
                self._pull_tcp(0)
            except Exception as exc:
                self._broken("reading status", exc)
        return self.replies.take()

    def _broken(self, doing: str, exc: BaseException):
        self.close()
        raise PrinterUnavailable(self.name, f"connection lost while {doing} ({_first_line(exc)})",
                                 _CHECK[self.cfg.transport].format(id="the printer")) from None

    def _pull_tcp(self, timeout: float) -> bool:
        """Sort what the printer sent into self.replies, waiting up to `timeout` for something; False if nothing."""
        sock: socket.socket = self.escpos.device
        got = False
        while select.select([sock], [], [], max(0.0, timeout) if not got else 0)[0]:
            data = sock.recv(256)
            if not data:
                raise ConnectionResetError("the printer closed the connection")
            self.replies.feed(data)
            got = True
        return got

    def _read_serial(self, timeout: float) -> bytes | None:
        port = self.escpos.device
        port.timeout = timeout
        try:
            answer = port.read(1)
        finally:
            port.timeout = self.cfg.timeout_s
        return answer + port.read(port.in_waiting or 0) if answer else None

    def _send_usb(self, request: bytes) -> bool:
        import usb.core
        dev = self.escpos.device
        try:
            dev.read(self.cfg.in_ep, 64, 1)   # drain a late answer; a timeout here is the normal case
        except usb.core.USBTimeoutError:
            pass
        except ValueError:                    # pyusb: no such IN endpoint; this printer cannot answer
            log.info("%s: cannot read endpoint %#x: status unknown (check in_ep)", self.name, self.cfg.in_ep)
            return False
        dev.write(self.cfg.out_ep, request, int(self.cfg.timeout_s * 1000))
        return True

    def _read_usb(self, timeout: float) -> bytes | None:
        import usb.core
        dev = self.escpos.device
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = bytes(dev.read(self.cfg.in_ep, 64, max(1, int((deadline - time.monotonic()) * 1000))))
            except usb.core.USBTimeoutError:
                answer = b""
            if answer:
                return answer
            if time.monotonic() >= deadline:
                return None


def _detach_kernel_driver(dev, interface: int) -> None:
    # python-escpos only frees interface 0 from the kernel's usblp driver; some printers print on another.
    import usb.core
    try:
        if dev.is_kernel_driver_active(interface):
            dev.detach_kernel_driver(interface)
    except (NotImplementedError, usb.core.USBError) as exc:
        log.warning("USB interface %d: could not detach the kernel driver: %s", interface, exc)


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


__all__ = ["Link", "PreviewPrinter", "PrinterUnavailable", "NoAnswer", "open_printer"]
