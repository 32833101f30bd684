"""The [printer] table of a kiosk's device.toml, checked into a frozen PrinterConfig.

    cfg = check_printer(dev.printer, "kiosk-1.toml")  # dev: hall.device.DeviceConfig; the raw table
    cfg = check_printer({"transport": "preview", "folder": "tickets"})
    cfg.transport, cfg.model, cfg.name             # "network", "TM-T20II", "network printer 10.0.0.9:9100 (TM-T20II)"

Every mistake is a ConfigError naming the file and the key, e.g.
`device.toml: key 'printer.baudrate': must be a whole number, not '9600'`.
The keys are documented in docs/printers.md and docs/config.md. Each transport checks its
own keys (printer.transports: `settings`); reading the device.toml is the kiosk's
(kiosk.backend.load_printer): this package is given the table, it does not read device files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hall.config import doc
from hall.tomlcheck import Table
from printer import transports
from printer.profiles import UnknownPrinterModel, UnsuitablePrinter, load_profile

TRANSPORTS = tuple(transports.TRANSPORTS)        # usb, serial, network, file, cups, preview
CUTS = ("full", "partial", "none")
STATUS_QUERY = ("auto", "always", "never")
# Keys that only make sense with one transport ("port" is the serial device or the TCP port).
TRANSPORT_KEYS = {kind: link.KEYS for kind, link in transports.TRANSPORTS.items()}
# A ticket not printed this long after it was issued is dropped, never printed late: the kiosk keeps
# a number whose paper copy did not print on screen for 90 s (kiosk.model.Settings.ticket_kept_s),
# so paper comes out only while its number is still on the screen beside it and its citizen most
# likely still there. Later, the next person at the kiosk would take it for theirs (issue 8).
MAX_AGE_S = 90


@dataclass(frozen=True)
class PrinterConfig:
    """One kiosk's ticket printer; built once by check_printer, never read at import."""
    transport: str = doc("[printer] transport: usb, serial, network, file, cups or preview.")
    model: str = doc("[printer] model: printer profile name (TM-T20II, POS-58, default …; printer.profiles).",
                     default="default")
    width: int | None = doc("[printer] width: printable width in dots when the model does not say it.",
                            default=None)
    vendor_id: int | None = doc("[printer] vendor_id: USB vendor id (usb), e.g. \"0x0416\".", default=None)
    product_id: int | None = doc("[printer] product_id: USB product id (usb), e.g. \"0x5011\".", default=None)
    interface: int = doc("[printer] interface: USB interface to claim (usb).", default=0)
    in_ep: int = doc("[printer] in_ep: USB endpoint the printer answers on (usb).", default=0x82)
    out_ep: int = doc("[printer] out_ep: USB endpoint jobs are written to (usb).", default=0x01)
    serial_port: str | None = doc("[printer] port: serial device (serial), e.g. /dev/ttyUSB0.", default=None)
    baudrate: int = doc("[printer] baudrate: serial speed (serial).", default=9600)
    host: str | None = doc("[printer] host: printer address (network).", default=None)
    tcp_port: int = doc("[printer] port: TCP port (network).", default=9100)
    path: str | None = doc("[printer] path: device file (file), e.g. /dev/usb/lp0.", default=None)
    queue: str | None = doc("[printer] queue: CUPS raw queue name (cups).", default=None)
    folder: str | None = doc("[printer] folder: where the preview printer writes PNG + .bin.", default=None)
    timeout_s: float = doc("[printer] timeout_s: connect/write timeout before a job is retried.", default=10.0)
    cut: str = doc("[printer] cut: full, partial or none after each ticket.", default="partial")
    beep: bool = doc("[printer] beep: sound the printer's buzzer after each ticket.", default=False)
    text_mode: bool = doc("[printer] text_mode: print tickets as text, not an image.", default=False)
    max_age_s: int = doc("[printer] max_age_s: a ticket not printed this many seconds after it was issued "
                         "is dropped, never printed late.", default=MAX_AGE_S)
    status_poll_s: float = doc("[printer] status_poll_s: how often the printer's status is asked "
                               "while it is not ready or idle.", default=2.0)
    status_query: str = doc("[printer] status_query: auto, always or never ask DLE EOT status.", default="auto")

    @property
    def name(self) -> str:
        """What a person reads in logs and errors: which printer, where."""
        return f"{transports.TRANSPORTS[self.transport].where(self)} ({self.model})"


def check_printer(data: dict, file: str | Path = "device.toml") -> PrinterConfig:
    """Check a raw [printer] table (DeviceConfig.printer) and build the PrinterConfig."""
    t = Table(file, "printer", data)
    transport = t.choice("transport", TRANSPORTS)
    for other, keys in TRANSPORT_KEYS.items():
        for key in keys:
            if t.has(key) and key not in TRANSPORT_KEYS[transport]:
                raise t.error(key, f"is for transport '{other}'; this printer's transport is '{transport}'")
    model, width = t.text("model", "default"), t.integer("width", None, low=256, high=832) \
        if t.has("width") else None
    model, realtime_status = _check_model(t, model, width)
    kw = transports.TRANSPORTS[transport].settings(t, file)
    cfg = PrinterConfig(
        transport=transport, model=model, width=width, **kw,
        timeout_s=t.number("timeout_s", 10.0, low=0.5, high=120),
        # The encoder falls back to the cut the model has, or feeds past the tear bar without a cutter.
        cut=t.choice("cut", CUTS, "partial"),
        beep=t.boolean("beep", False),
        text_mode=t.boolean("text_mode", False),
        max_age_s=t.integer("max_age_s", MAX_AGE_S, low=10, high=86400),
        status_poll_s=t.number("status_poll_s", 2.0, low=0.05, high=60),
        # Star line-mode printers do not speak DLE EOT: asking them would only print junk or time out.
        status_query=t.choice("status_query", STATUS_QUERY, "auto" if realtime_status else "never"),
    )
    t.done()
    return cfg


def _check_model(t: Table, model: str, width: int | None) -> tuple[str, bool]:
    """Refuse an unknown model or a width it cannot print; (its proper name, answers DLE EOT status)."""
    try:
        profile = load_profile(model, width)
        return profile.model, profile.realtime_status
    except UnknownPrinterModel as exc:
        raise t.error("model", str(exc)) from None
    except UnsuitablePrinter as exc:
        raise t.error("width" if width is not None else "model", str(exc)) from None
