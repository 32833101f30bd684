"""The kiosk without its screen: the hall client, the ticket printer (or none), the worker, and the
retained status that tells staff how the kiosk and its printer are.

    b = KioskBackend(dev, printer_config(dev, "kiosk-1.toml"), "kiosk-1-spool.db",
                     config=lambda: model.config, deliver=hand_to_ui, version=v).start()
    # deliver(kind, *args) on paho's, the spool's or the worker's thread; on the UI thread then
    # model.apply(kind, *args, now=…): config/board/catalog/server (decoded), connection (up, why),
    # printer (state), reply (rid, Reply or None: unreadable), timeout (rid), print (ticket_id, state, reason)
    b.worker.submit(take_ticket)
    b.printer_state                   # as published: hall.protocol.PRINTER_STATES
    b.stop()

Nothing here imports Kivy, so the tests run a kiosk's whole back end against the real hall
(tests/test_kiosk_printing.py, tests/test_kiosk_connection.py).

The order is the point: the client exists before the printer, so the printer's first state —
"offline" a few milliseconds after start when it is switched off — has somewhere to go, and the
client keeps the last status and publishes it on every connect, however late the broker answers.
(Made the other way round, a printer absent at start raised AttributeError on the spool's thread in
about 1 start of 4, and the hall never saw it offline: issue 8.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from hall.client import HallClient
from hall.device import DeviceConfig, load_device
from hall.protocol import NO_PRINTER, Catalog, ProtocolError, Status, decode_message
from kiosk.procedures import KioskCatalog
from kiosk.worker import Deliver, Worker

log = logging.getLogger("motcua.kiosk")

SUBSCRIBE = ["config", "board", "catalog", "server_status"]


def printer_config(dev: DeviceConfig, device_toml: str | Path):
    """The checked [printer] (ConfigError names file and key), or None: no [printer], no printer.

    Never a PNG preview by default: that printed nothing while the screen said "Đã in xong" and the
    hall saw "printer ok". A preview is `transport = "preview"`, chosen explicitly (the demo does).
    """
    if dev.printer is None:
        return None
    from printer.config import check_printer
    return check_printer(dev.printer, device_toml)


def load_printer(device_toml: str | Path):
    """Read a kiosk's device.toml and check its [printer]; None when it has none (printer/ reads no files)."""
    return printer_config(load_device(device_toml), device_toml)


class KioskBackend:
    def __init__(self, dev: DeviceConfig, printer_cfg, spool_path: str | Path, *,
                 config: Callable[[], dict | None], deliver: Deliver, version: str = "", gate_s: float = 0.0,
                 printer_options: dict | None = None):
        self.dev, self.version, self.deliver = dev, version, deliver
        self.printer_state: str | None = None if printer_cfg else NO_PRINTER
        self.client = HallClient(dev, subscribe=SUBSCRIBE, on_message=self._on_message,
                                 on_connection=self._on_connection, version=version)
        self.client.set_status(Status("online", "kiosk", version, self.printer_state))   # sent on connect
        self.printer = None
        if printer_cfg is None:
            log.warning("%s: no [printer] in its device.toml: numbers are shown on screen, no ticket is "
                        "printed (docs/printers.md says how to connect a printer)", dev.id)
        else:
            from printer.ticket_printer import TicketPrinter  # Pillow and python-escpos: only with a printer
            if printer_cfg.transport == "preview":
                log.warning("%s: preview printer: tickets are written as PNG files to %s, nothing is printed "
                            "(a demo setting)", dev.id, printer_cfg.folder)
            self.printer = TicketPrinter(printer_cfg, spool_path, on_status=self._printer_status,
                                         **(printer_options or {}))
        # Watch each paper copy until the spool has surely decided it (printed, or dropped as too old),
        # so the screen can still say "not printed" while the number is on it.
        watch_s = printer_cfg.max_age_s + printer_cfg.timeout_s + 2 * printer_cfg.status_poll_s if printer_cfg else 0
        self.worker = Worker(self.client, self.printer, config, deliver, gate_s=gate_s, watch_s=max(90.0, watch_s))

    def start(self) -> KioskBackend:
        if self.printer is None:
            self.deliver("printer", NO_PRINTER)
        self.worker.start()
        self.client.start()
        return self

    def stop(self) -> None:
        for part in (self.client, self.worker, self.printer):
            if part is not None:
                try:
                    (part.close if part is self.printer else part.stop)()
                except Exception:
                    log.exception("stopping %s", part)

    # --- other threads ----------------------------------------------------------------------
    def _printer_status(self, state: str) -> None:
        # The spool's thread. Staff see the state in the kiosk's retained status, the citizen on screen.
        self.printer_state = state
        self.client.set_status(Status("online", "kiosk", self.version, state))
        self.deliver("printer", state)

    def _on_connection(self, up: bool) -> None:
        # Read with the news it explains, on paho's thread: why the kiosk is not connected, if known.
        failure = self.client.failure
        self.deliver("connection", up, None if up or failure is None else failure.kind)

    def _on_message(self, topic: str, payload: bytes) -> None:
        # paho's thread: decoding (and parsing a catalog, the one heavy message) happens here, not on the UI's.
        kind = self.client.topics.kind(topic)   # hall.protocol.PAYLOADS says what each topic carries
        try:
            obj = decode_message(topic, payload)
            if isinstance(obj, Catalog):
                obj = KioskCatalog(obj)   # indexed for search here, off the UI thread
        except ProtocolError as err:
            log.error("%s: unreadable message ignored: %s", topic, err)
            return
        self.deliver("server" if kind == "status" else kind, obj)
