"""The printer transports of [printer] transport, one class each, as python-escpos has one per connection.

    link = link_for(cfg)          # the Link subclass of cfg.transport (printer.link says what a Link does)
    TRANSPORTS["serial"].KEYS     # ("port", "baudrate"): the [printer] keys only it takes
    open_printer(cfg)             # the python-escpos object itself, for code that draws on an Escpos

Each class makes its python-escpos object (Usb, Serial, Network, File, LP, our PreviewPrinter),
checks its own [printer] keys (`settings`, called by printer.config), says where the printer is
(`where`, the start of its log lines) and what to check when it cannot be reached (`CHECK`,
words an operator or a clerk can act on), and how a status request and its answer travel.
"""

from __future__ import annotations

import logging
import re
import select
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from escpos.escpos import Escpos

from hall.tomlcheck import Table
from printer.link import UNREACHABLE_VI, Link, PrinterUnavailable, first_line
from printer.status import STATUS_BACK, NoAnswer

if TYPE_CHECKING:   # printer.config imports this module for the transports' settings
    from printer.config import PrinterConfig

log = logging.getLogger("motcua.printer")

SNDBUF = 32 * 1024  # network send buffer (see NetworkLink._opened)
_HEX = re.compile(r"(0[xX])?([0-9a-fA-F]{1,4})")


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



class UsbLink(Link):
    """USB through libusb (pyusb): reads status on its IN endpoint."""
    KIND, KEYS = "usb", ("vendor_id", "product_id", "interface", "in_ep", "out_ep")
    CHECK = ("that the printer is switched on and its USB cable plugged in, that `lsusb` lists {id}, and that "
             "the kiosk's user may use it (group lp and the udev rule in docs/printers.md)")

    @classmethod
    def settings(cls, t: Table, file: str | Path) -> dict:
        return {"vendor_id": _hex(t, "vendor_id", None, 0xFFFF), "product_id": _hex(t, "product_id", None, 0xFFFF),
                "interface": t.integer("interface", 0, low=0, high=255),
                "in_ep": _hex(t, "in_ep", 0x82, 0xFF), "out_ep": _hex(t, "out_ep", 0x01, 0xFF)}

    @staticmethod
    def where(cfg: PrinterConfig) -> str:
        return f"USB printer {_usb_id(cfg)}"

    def _check(self, opening: bool) -> str:
        return self.CHECK.format(id=_usb_id(self.cfg) if opening else "the printer")

    def _make(self) -> Escpos:
        from escpos.printer import Usb
        # python-escpos's USB timeout is in ms and 0 means "wait forever": a stalled printer must not hang us.
        return Usb(self.cfg.vendor_id, self.cfg.product_id, timeout=int(self.cfg.timeout_s * 1000),
                   in_ep=self.cfg.in_ep, out_ep=self.cfg.out_ep, profile=self._escpos_profile())

    def _connect(self) -> None:
        try:
            self.escpos.open()
        except ValueError as exc:   # pyusb's NoBackendError: libusb itself is missing
            if type(exc).__name__ != "NoBackendError":
                raise
            raise PrinterUnavailable(self.name, "libusb is not installed (pyusb has no backend)",
                                     "that the libusb-1.0-0 package is installed") from None
        if self.cfg.interface:
            _detach_kernel_driver(self.escpos.device, self.cfg.interface)

    def _send(self, request: bytes, drop_late: bool) -> bool:
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

    def _read(self, timeout: float) -> bytes | None:
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


class SerialLink(Link):
    """A serial port or USB-serial adapter (pyserial)."""
    KIND, KEYS = "serial", ("port", "baudrate")
    CHECK = ("the cable or USB-serial adapter, the port name (`ls /dev/ttyUSB* /dev/ttyACM* /dev/serial/by-id`) "
             "and that the kiosk's user is in group dialout")

    @classmethod
    def settings(cls, t: Table, file: str | Path) -> dict:
        return {"serial_port": t.text("port"), "baudrate": t.integer("baudrate", 9600, low=300, high=921600)}

    @staticmethod
    def where(cfg: PrinterConfig) -> str:
        return f"serial printer on {cfg.serial_port} at {cfg.baudrate} baud"

    def _make(self) -> Escpos:
        from escpos.printer import Serial
        return Serial(devfile=self.cfg.serial_port, baudrate=self.cfg.baudrate, timeout=self.cfg.timeout_s,
                      profile=self._escpos_profile())

    def _opened(self) -> None:
        self.escpos.device.write_timeout = self.cfg.timeout_s  # pyserial's default blocks forever on flow control

    def close(self) -> None:
        port = self.escpos._device if self.is_open else None
        super().close()
        if port and port.is_open:   # python-escpos flushes first, which fails on a pulled cable: close it anyway
            port.close()
            self.escpos._device = False

    def _send(self, request: bytes, drop_late: bool) -> bool:
        if drop_late:
            self.escpos.device.reset_input_buffer()
        self.escpos.device.write(request)
        return True

    def _read(self, timeout: float) -> bytes | None:
        port = self.escpos.device
        port.timeout = timeout
        try:
            answer = port.read(1)
        finally:
            port.timeout = self.cfg.timeout_s
        return answer + port.read(port.in_waiting or 0) if answer else None


class NetworkLink(Link):
    """Raw TCP (port 9100): reads DLE EOT answers and, on Epson TM, the status it pushes (ASB)."""
    KIND, KEYS = "network", ("host", "port")
    CHECK = ("that the printer is switched on and cabled, its IP address (print its self-test page) and port, "
             "and that this kiosk can reach it (`ping`)")

    def __init__(self, cfg: PrinterConfig):
        super().__init__(cfg)
        # Status pushed by the printer (ASB) only where it is sure to be understood: see printer.status.
        self.status_back = cfg.status_query != "never" and self.profile.status_back

    @classmethod
    def settings(cls, t: Table, file: str | Path) -> dict:
        return {"host": t.text("host"), "tcp_port": t.integer("port", 9100, low=1, high=65535)}

    @staticmethod
    def where(cfg: PrinterConfig) -> str:
        return f"network printer {cfg.host}:{cfg.tcp_port}"

    def _make(self) -> Escpos:
        from escpos.printer import Network
        return Network(host=self.cfg.host, port=self.cfg.tcp_port, timeout=self.cfg.timeout_s,
                       profile=self._escpos_profile())

    def _opened(self) -> None:
        # A printer takes bytes only as fast as it prints. Linux would let megabytes wait in our send
        # buffer; a small one keeps a write's progress honest, so a stalled printer shows as a timeout.
        self.escpos.device.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        if self.status_back:
            try:
                self.escpos.device.sendall(STATUS_BACK)
            except OSError as exc:
                self.escpos.close()
                raise PrinterUnavailable(self.name, first_line(exc), self._check(True)) from None

    def _send(self, request: bytes, drop_late: bool) -> bool:
        self._pull(0)
        if drop_late:
            self.replies.answers.clear()
        self.escpos.device.sendall(request)
        return True

    def _read(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while not self.replies.answers and self._pull(deadline - time.monotonic()):
            pass
        return self.replies.take_answers() or None

    def pushed(self) -> str | None:
        if self.is_open:
            try:
                self._pull(0)
            except Exception as exc:
                self._broken("reading status", exc)
        return self.replies.take()

    def _pull(self, timeout: float) -> bool:
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


class DeviceFileLink(Link):
    """A device file of the kernel's usblp driver (/dev/usb/lp0): written, never read."""
    KIND, KEYS, READS = "file", ("path",), False
    CHECK = ("that the printer is switched on and plugged in, that the usblp driver created the device file "
             "(`ls -l /dev/usb/`), and that the kiosk's user is in group lp")

    @classmethod
    def settings(cls, t: Table, file: str | Path) -> dict:
        return {"path": _path(t, "path", file)}

    @staticmethod
    def where(cfg: PrinterConfig) -> str:
        return f"printer device file {cfg.path}"

    def _make(self) -> Escpos:
        from escpos.printer import File
        return File(devfile=self.cfg.path, profile=self._escpos_profile())

    def _connect(self) -> None:
        assert self.cfg.path is not None, "settings() made [printer] path required for this transport"
        if not Path(self.cfg.path).exists():
            # open(path, "wb") would quietly create a plain file where the device should be.
            raise PrinterUnavailable(self.name, f"{self.cfg.path} does not exist", self._check(True))
        self.escpos.open()


class CupsLink(Link):
    """A raw CUPS queue, through `lp`: written, never read."""
    KIND, KEYS, READS = "cups", ("queue",), False
    CHECK = "that CUPS is installed (cups-client) and the raw queue exists (`lpstat -p`; docs/printers.md)"

    @classmethod
    def settings(cls, t: Table, file: str | Path) -> dict:
        return {"queue": t.text("queue", pattern=r"[A-Za-z0-9_.@-]{1,127}")}

    @staticmethod
    def where(cfg: PrinterConfig) -> str:
        return f"CUPS queue '{cfg.queue}'"

    def _make(self) -> Escpos:
        from escpos.printer import LP
        return LP(printer_name=self.cfg.queue, profile=self._escpos_profile())

    def _job_sent(self, label: str, image_png: bytes | None) -> None:
        lp = self.escpos.device
        self.escpos.close()  # lp submits the job when its stdin closes
        self.is_open = False
        if lp.returncode:
            raise OSError(f"lp refused the job (exit status {lp.returncode}; is the queue enabled?)")


class PreviewLink(Link):
    """No printer: each job written to a folder (PreviewPrinter); always ready."""
    KIND, KEYS, AT_ONCE = "preview", ("folder",), True
    CHECK = "that the folder can be created and written by the kiosk's user"

    @classmethod
    def settings(cls, t: Table, file: str | Path) -> dict:
        return {"folder": _path(t, "folder", file)}

    @staticmethod
    def where(cfg: PrinterConfig) -> str:
        return f"preview printer writing to {cfg.folder}"

    def _make(self) -> Escpos:
        assert self.cfg.folder is not None, "settings() made [printer] folder required for this transport"
        return PreviewPrinter(self.cfg.folder, profile=self._escpos_profile())

    def _job_sent(self, label: str, image_png: bytes | None) -> None:
        self.escpos.save(label, image_png)

    def send_request(self, request: bytes, drop_late: bool = True) -> bool:
        return True

    def _read(self, timeout: float) -> bytes | None:
        return bytes([0x12])  # "fixed bits only": online, paper present, cover closed


# The transports [printer] transport accepts, in the order the docs and the error messages list them.
TRANSPORTS: dict[str, type[Link]] = {c.KIND: c for c in (UsbLink, SerialLink, NetworkLink, DeviceFileLink,
                                                        CupsLink, PreviewLink)}


def link_for(cfg: PrinterConfig) -> Link:
    """A connection (not opened yet) to the printer of a checked [printer]."""
    return TRANSPORTS[cfg.transport](cfg)


def open_printer(cfg: PrinterConfig) -> Escpos:
    """The python-escpos object for the config; nothing is opened until first use (lazy)."""
    return link_for(cfg).escpos


def _usb_id(cfg: PrinterConfig) -> str:
    return f"{cfg.vendor_id or 0:04x}:{cfg.product_id or 0:04x}"


def _hex(t: Table, name: str, default: int | None, high: int) -> int:
    """A USB id or endpoint: text as lsusb prints it ("0x0416" or "0416") or a TOML integer (0x0416)."""
    if not t.has(name):
        return t.integer(name) if default is None else t.integer(name, default)  # the first raises "missing"
    if not isinstance(t.data[name], str):
        return t.integer(name, low=0, high=high)    # TOML's own 0x0416; refuses true, 1.5, lists
    m = _HEX.fullmatch(t.text(name).strip())
    if not m:
        raise t.error(name, f"must be a hexadecimal id like \"0x0416\" (as lsusb shows it), not {t.data[name]!r}")
    value = int(m.group(2), 16)
    if value > high:
        raise t.error(name, f"must be at most {high:#x}, not {value:#x}")
    return value


def _path(t: Table, name: str, file: str | Path) -> str:
    """A path; a relative one is taken from the device.toml's folder, so it does not depend on the cwd."""
    value = Path(t.text(name))
    if not value.is_absolute():
        value = Path(file).resolve().parent / value
    return str(value)


def _detach_kernel_driver(dev, interface: int) -> None:
    # python-escpos only frees interface 0 from the kernel's usblp driver; some printers print on another.
    import usb.core
    try:
        if dev.is_kernel_driver_active(interface):
            dev.detach_kernel_driver(interface)
    except (NotImplementedError, usb.core.USBError) as exc:
        log.warning("USB interface %d: could not detach the kernel driver: %s", interface, exc)


__all__ = ["Link", "TRANSPORTS", "PreviewPrinter", "PrinterUnavailable", "NoAnswer", "UNREACHABLE_VI",
           "link_for", "open_printer"]
