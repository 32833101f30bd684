"""Render + encode one ticket, and what it costs to send: 58 and 80 mm, next to its floor.

    ./motcua bench ticket_print [--count 200] [--quick]

For each paper width (80 mm: TM-T20II, 576 dots; 80 mm Epson TM-T88V, 512 dots;
58 mm: POS-58, 384 dots), on the example hall's sample ticket (Hộ tịch 1023):
  - the median time of render_ticket + encode_ticket, and of each alone;
  - the floor, in the same run: python-escpos encoding a blank image of the same
    size as one GS v 0 (what any image ticket costs before any layout), and the ratio;
  - bytes per ticket (image and text mode) and the time to send them at 9600 and
    115200 baud (8N1: 10 bits a byte) and over USB full speed (12 Mbit/s), next to
    the paper length and the time to print it at 100 mm/s (a cheap printer; an
    Epson TM-T20II does 200): over USB the printer, not the wire, sets the pace.
Last line (machine-readable): the 80 mm (576 dots) and 58 mm medians and sizes.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench._hall import bench_line, machine_note, verdict
from hall.config import load_hall
from motcua_cli.paths import EXAMPLE_HALL
from printer.escpos_job import encode_ticket
from printer.layout import render_ticket
from printer.profiles import load_profile
from printer.textmode import encode_text_ticket
from printer.ticket import sample_ticket

MODELS = (("80 mm", "TM-T20II"), ("80 mm", "TM-T88V"), ("58 mm", "POS-58"))
TARGET_MS, TARGET_KB = 30.0, 20.0
PRINT_MM_S = 100.0


def parse(argv):
    p = argparse.ArgumentParser(prog="motcua bench ticket_print", description=__doc__.split("\n\n")[0])
    p.add_argument("--count", type=int, default=200, help="tickets timed per width (default 200)")
    p.add_argument("--quick", action="store_true", help="20 tickets per width, for a smoke test")
    args = p.parse_args(argv)
    if args.quick:
        args.count = 20
    return args


def timed(fn, count: int) -> tuple[float, object]:
    """Median milliseconds of fn() over count calls (after 3 warm-up calls), and its last result."""
    for _ in range(3):
        out = fn()
    times = []
    for _ in range(count):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), out


def measure(info, prof, count: int) -> tuple[float, int, str]:
    """Time one printer's ticket: (render+encode median ms, bytes per ticket, the table row)."""
    from PIL import Image

    total, job = timed(lambda: encode_ticket(render_ticket(info, prof.width), prof), count)
    render, image = timed(lambda: render_ticket(info, prof.width), count)
    encode, _ = timed(lambda: encode_ticket(image, prof), count)
    blank = Image.new("1", image.size, 1)

    def floor_job():
        p = prof.dummy()
        p.image(blank, impl="bitImageRaster")
        return p.output
    floor, _ = timed(floor_job, count)
    text = len(encode_text_ticket(info, prof))
    n = len(job)
    mm = prof.mm(image.height)
    row = (f"{total:8.2f}ms {render:5.2f}ms {encode:5.2f}ms {floor:4.2f}ms {total / floor:5.1f}x {n:6d} {text:5d} "
           f"{n * 10 / 9600:7.2f}s {n * 10 / 115200:6.2f}s {n * 8 / 12e6 * 1000:5.1f}ms {mm:5.1f} mm "
           f"{mm / PRINT_MM_S:5.2f}s")
    return total, n, row


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    cfg = load_hall(EXAMPLE_HALL)
    info = sample_ticket(cfg, "ho-tich")
    print(f"ticket_print: {info.service_name} {info.label}, {args.count} tickets per width (median); "
          f"{machine_note()}")
    print(f"{'printer':<18} {'render+enc':>10} {'render':>7} {'encode':>7} {'floor':>6} {'ratio':>6} "
          f"{'bytes':>6} {'text':>5} {'9600 bd':>8} {'115200':>7} {'USB FS':>7} {'paper':>8} {'print':>6}")
    results = {}
    for paper, model in MODELS:
        prof = load_profile(model)
        total, n, row = measure(info, prof, args.count)
        print(f"{paper + ' ' + model:<18} {row}")
        results[model] = (total, n / 1000)
    ms80, kb80 = results["TM-T20II"]
    ms58, kb58 = results["POS-58"]
    print()
    print("floor = python-escpos encoding a blank image of the ticket's size (one GS v 0); ratio = render+enc / floor")
    print("send times are the wire alone; USB is never the limit: the printer prints ~100-200 mm/s")
    print(f"targets (80 mm, 576 dots): {ms80:.2f} ms per ticket (< {TARGET_MS:g} ms: {verdict(ms80 < TARGET_MS)}), "
          f"{kb80:.1f} kB (< {TARGET_KB:g} kB: {verdict(kb80 < TARGET_KB)})")
    print(bench_line("ticket_print", render_ms_80=ms80, kb_80=kb80, render_ms_58=ms58, kb_58=kb58))
    return 0
