"""`motcua printer test --config device.toml`: print a test ticket on the configured printer.

    $ motcua printer test --config kiosk-1.toml
    printer: network printer 192.168.1.50:9100 (TM-T20II)
    status before: ok (ready)
    sent: test ticket 1023 of UBND xã Dang Kang (image 576 dots, partial cut), 17.0 KB
    status after: ok (ready)

The test ticket is a ticket of the hall as the kiosk would print it, marked
"IN THỬ — không có giá trị" across the top and the bottom and without its lookup
QR code: it must not pass for a real number. The report says what the end of the
job really does on this printer ("no cutter: paper fed past the tear bar").

It talks to the printer directly (no spool): the point is to see at once what the
printer says. Exit status 0 when the ticket went out and the printer is fine after
it, 1 when the printer is missing, not ready or failed, 2 for a wrong device.toml.
"""

from __future__ import annotations

import io
import sys

from motcua_cli.paths import EXAMPLE_HALL

# Why nothing is printed, as a sentence (status.MESSAGES_EN are state names: "cover open").
NOT_READY_EN = {"paper_out": "the printer is out of paper", "cover_open": "the printer's cover is open",
                "offline": "the printer is offline or in error"}


def add_parser(sub) -> None:
    p = sub.add_parser("test", help="print a test ticket on the printer of a device.toml")
    p.add_argument("--config", default="device.toml", help="the kiosk's device.toml, with its [printer] table")
    p.add_argument("--hall", default=str(EXAMPLE_HALL),
                   help="hall.toml whose first service the sample ticket shows (default: the example hall)")
    p.add_argument("--status-only", action="store_true", help="only ask the printer's status; print nothing")
    p.set_defaults(fn=run)


def run(args) -> int:
    from kiosk.backend import load_printer
    from printer import status as st
    from printer import timing
    from printer.profiles import load_profile
    from printer.transports import NoAnswer, PrinterUnavailable, link_for

    cfg = load_printer(args.config)
    if cfg is None:
        print(f"motcua printer test: {args.config} has no [printer] table (see docs/printers.md)", file=sys.stderr)
        return 2
    print(f"printer: {cfg.name}")
    link = link_for(cfg)

    def status(when: str, timeout: float = st.STATUS_TIMEOUT_S) -> str:
        try:
            state = st.query(link, timeout)
        except NoAnswer:
            state = st.UNKNOWN
        print(f"status {when}: {state} ({st.MESSAGES_EN[state]})")
        return state

    try:
        link.open()
        before = status("before")
        if args.status_only:
            return 1 if before in st.NOT_READY else 0
        if before in st.NOT_READY:
            reason = NOT_READY_EN.get(before) or f"the printer is {st.MESSAGES_EN[before]}"
            print(f"not printing: {reason}", file=sys.stderr)
            return 1
        job, png, what = sample_job(cfg, args.hall)
        link.write(job, label="printer-test", image_png=png)
        print(f"sent: {what}, {len(job) / 1024:.1f} KB")
        # The answer waits behind the ticket's bytes until the printer has printed most of it
        # (printer/timing.py): ask with the wait the spool uses, not an idle printer's 0.5 s.
        profile = load_profile(cfg.model, cfg.width)
        after = status("after", timing.answer_wait(timing.print_seconds(job, profile.dpi, profile.speed_mm_s),
                                                   st.STATUS_TIMEOUT_S))
    except PrinterUnavailable as err:
        print(f"motcua printer test: {err}", file=sys.stderr)
        return 1
    finally:
        link.close()
    return 1 if after in st.NOT_READY else 0


def sample_job(cfg, hall_path: str) -> tuple[bytes, bytes | None, str]:
    """(ESC/POS bytes, PNG of the ticket, what it is): a test ticket of the hall, laid out for this printer."""
    try:
        return _sample_ticket(cfg, hall_path)
    except (ImportError, RuntimeError) as exc:  # e.g. the ticket font is not installed: still test the printer
        print(f"note: the sample ticket cannot be drawn ({exc}); printing a test pattern instead", file=sys.stderr)
        return _pattern(cfg)


def _sample_ticket(cfg, hall_path: str) -> tuple[bytes, bytes | None, str]:
    from dataclasses import replace

    from hall.config import load_hall
    from printer.escpos_job import describe_cut
    from printer.profiles import load_profile
    from printer.ticket import sample_ticket
    from printer.ticket_printer import ticket_job

    hall = load_hall(hall_path)
    profile = load_profile(cfg.model, cfg.width)
    # No lookup address: a QR code of a test must not open a real ticket's page.
    info = replace(sample_ticket(hall), test=True, lookup_url="")
    job, png, kind = ticket_job(info, cfg, profile)
    return job, png, f"test ticket {info.label} of {hall.name} ({kind}, {describe_cut(profile, cfg.cut)})"


def _pattern(cfg) -> tuple[bytes, bytes, str]:
    """A ruler-and-stripes image through python-escpos alone: needs no font and no ticket code."""
    from escpos.printer import Dummy
    from PIL import Image, ImageDraw

    width = cfg.width or 384   # 384 dots fit every printer, 58 mm included
    image = Image.new("1", (width, 120), 1)
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 8):
        draw.line((x, 0, x, 20 if x % 64 == 0 else 10), fill=0)
    for k in range(6):
        draw.rectangle((k * width // 6, 40, k * width // 6 + 8 * (k + 1), 110), fill=0)
    p = Dummy()
    p.image(image, impl="bitImageRaster", fragment_height=128)
    if cfg.cut != "none":
        p.cut(mode="PART" if cfg.cut == "partial" else "FULL")
    return p.output, _png(image), f"test pattern ({width} dots)"


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()
