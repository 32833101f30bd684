"""What a kiosk uses: a take-ticket reply in, a printed ticket out, through the durable spool.

    printer = TicketPrinter(load_printer("kiosk-1.toml"), "spool.db",   # kiosk.backend.load_printer
                            on_status=lambda state: client.set_status(Status("online", "kiosk", v, state)))
    job = printer.print_ticket(issued, config)   # a TicketIssued and the retained Config
    job.wait(2.0)            # "printed" | "waiting" (job.message_vi says why) | "failed"
    printer.close()
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from hall.protocol import Config, TicketIssued
from printer.config import PrinterConfig
from printer.job import JobHandle
from printer.profiles import PrinterProfile, load_profile
from printer.spool import Spool
from printer.ticket import TicketInfo


def ticket_job(info: TicketInfo, cfg: PrinterConfig, profile: PrinterProfile) -> tuple[bytes, bytes | None, str]:
    """(ESC/POS bytes, PNG of the ticket or None in text mode, what it is) for this printer."""
    if cfg.text_mode:
        from printer.textmode import encode_text_ticket
        return encode_text_ticket(info, profile, cfg.cut, cfg.beep), None, "text"
    from printer.escpos_job import encode_ticket
    from printer.layout import render_ticket
    image = render_ticket(info, profile.width)
    png = io.BytesIO()
    image.save(png, format="PNG")
    return encode_ticket(image, profile, cfg.cut, cfg.beep), png.getvalue(), f"image {profile.width} dots"


class TicketPrinter:
    def __init__(self, cfg: PrinterConfig, spool_path: str | Path,
                 on_status: Callable[[str], None] | None = None, footer: str | None = None, **spool_options):
        """spool_options go to Spool (e.g. a test's `clock`); each job's changes: JobHandle.on_change."""
        self.cfg = cfg
        self.profile = load_profile(cfg.model, cfg.width)
        self.footer = footer
        self.spool = Spool.for_printer(str(spool_path), cfg, on_status=on_status, **spool_options)

    def print_ticket(self, data: TicketIssued, hall: Config) -> JobHandle:
        """Lay out and spool one ticket; returns at once (the spool prints it, once)."""
        info = TicketInfo.from_reply(data, hall, self.footer)
        job, png, _ = ticket_job(info, self.cfg, self.profile)
        return self.spool.submit(info.ticket_id, info.label, job, png)

    def reprint(self, ticket_id: str) -> JobHandle:
        return self.spool.reprint(ticket_id)

    def close(self) -> None:
        self.spool.close()
