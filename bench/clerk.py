"""The clerk's handheld page: a tap on "Gọi số tiếp theo" in headless Chromium → the `called` event on MQTT.

    ./motcua bench clerk [--taps 200] [--rounds 4] [--quick]

Starts `motcua serve` (its Mosquitto, its web pages) on an always-open copy of the example hall
(bench/_hall.py), a staff member, and Debian's chromium through Playwright (never a downloaded
browser) on /can-bo at 360×640; the page logs in with the PIN pad and takes counter 1. Then, in
rounds that alternate the floor and the taps:
  - floor 1: a fetch('/api/ping') from the same page (an endpoint that does nothing), timed from
    the bench's call into the page to its return, as the taps are;
  - floor 2: the bare MQTT echo through the same Mosquitto (EchoFloor: QoS 1 publish → echo → back);
  - a tap: the button's click() dispatched in the page → the `called` message for the ticket it
    calls, received by an MQTT subscriber (a display device). Before the next tap the page must
    show the button free again (its reply arrived), as a clerk would wait.
The floor a tap is compared with is the two floors added (HTTP in, MQTT out), sample by sample.
Last line: `bench: clerk next_p50_ms=… next_p99_ms=… floor_p50_ms=… floor_p99_ms=…`.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from bench._hall import (
    COUNTER1_SERVICES,
    HEADER,
    BenchHall,
    EchoFloor,
    bench_line,
    machine_note,
    pct,
    row,
    run_in_temp,
    take_tickets,
    verdict,
)
from hall.protocol import Call, decode_message

TARGET_P99_MS = 100.0
TARGET_RATIO = 3.0
CHROMIUM = "/usr/bin/chromium"
PIN = "4821"


def parse(argv):
    p = argparse.ArgumentParser(prog="motcua bench clerk", description=__doc__.split("\n\n")[0])
    p.add_argument("--taps", type=int, default=200, help="taps on Gọi số tiếp theo (default 200)")
    p.add_argument("--floor", type=int, default=200, help="fetch and MQTT echo samples each (default 200)")
    p.add_argument("--rounds", type=int, default=4, help="alternate floor and taps in this many rounds")
    p.add_argument("--dir", help="parent folder for the temp data (default: the system temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the temp data folder")
    p.add_argument("--quick", action="store_true", help="small numbers, for a smoke test")
    args = p.parse_args(argv)
    if args.quick:
        args.taps, args.floor, args.rounds = 20, 20, 2
    return args


def main(argv: list[str] | None = None) -> int:
    return run_in_temp("clerk", parse(argv or []), run)


class Heard:
    """The `called` messages an MQTT subscriber receives, with when (time.monotonic())."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.calls: list[tuple[float, Call]] = []

    def on_message(self, topic: str, payload: bytes) -> None:
        at = time.monotonic()
        message = decode_message(topic, payload)
        if isinstance(message, Call):
            with self.cond:
                self.calls.append((at, message))
                self.cond.notify_all()

    def wait(self, since: int, timeout: float = 10.0) -> tuple[float, Call]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.calls) > since, timeout):
                raise RuntimeError(f"no `called` within {timeout:.0f} s of a tap")
            return self.calls[since]


def log_in(page, base: str, name: str) -> None:
    page.goto(base + "/can-bo")
    page.locator("#staff-list .card", has_text=name).click()
    for digit in PIN:
        page.click(f"#pin-pad [data-key='{digit}']")
    page.click("#pin-go")
    page.click("#counter-list [data-counter='1']")
    page.wait_for_function("() => !document.getElementById('a-next').disabled", timeout=10000)


def run(args, root: Path) -> int:
    from playwright.sync_api import sync_playwright

    from broker.staff import Staff
    load_start = machine_note()
    with BenchHall(root) as hall:
        devs = hall.provision([("kiosk-1", "kiosk", None), ("display-1", "display", None)])
        with Staff(hall.data / "staff.db") as staff:
            staff.add("Nguyễn Thị Lan", "clerk", PIN, counters=(1,), hall_counters=[c.id for c in hall.cfg.counters])
        hall.start()
        kiosk = hall.connect(devs["kiosk-1"])
        heard = Heard()
        hall.connect(devs["display-1"], subscribe=["called"], on_message=heard.on_message)
        take_tickets([kiosk], args.taps + 5, COUNTER1_SERVICES, priority_every=0)
        base = f"http://127.0.0.1:{hall.cfg.http_port}"
        fetches, echoes, taps = [], [], []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                page = browser.new_context(viewport={"width": 360, "height": 640}).new_page()
                log_in(page, base, "Nguyễn Thị Lan")
                ping = "async () => { await fetch('/api/ping', {credentials: 'same-origin'}); }"
                tap = "() => document.getElementById('a-next').click()"
                free = "() => !document.getElementById('a-next').disabled"
                page.evaluate(ping)   # the first fetch opens the connection; not a sample
                floor = EchoFloor(hall)
                try:
                    for r in range(args.rounds):
                        def share(total: int, r: int = r) -> int:
                            return total // args.rounds + (1 if r < total % args.rounds else 0)
                        for _ in range(share(args.floor)):
                            t0 = time.monotonic()
                            page.evaluate(ping)
                            fetches.append((time.monotonic() - t0) * 1000)
                        echoes += floor.measure(share(args.floor))
                        for _ in range(share(args.taps)):
                            mark = len(heard.calls)
                            t0 = time.monotonic()
                            page.evaluate(tap)
                            at, _call = heard.wait(mark)
                            taps.append((at - t0) * 1000)
                            page.wait_for_function(free, timeout=10000)
                finally:
                    floor.close()
            finally:
                browser.close()
        rss = hall.service_rss_mb()
    load_end = machine_note()

    n = min(len(fetches), len(echoes))
    floors = [fetches[i] + echoes[i] for i in range(n)]
    p50, p99 = pct(taps, 50), pct(taps, 99)
    f50, f99 = pct(floors, 50), pct(floors, 99)
    print("clerk: Debian's chromium, headless, through Playwright; the clerk's page at 360x640 on counter 1")
    print(f"machine at start: {load_start}")
    print(f"machine at end:   {load_end}")
    print("measured: the page's 'Gọi số tiếp theo' button clicked in the page → the `called` message for "
          "that ticket received by an MQTT subscriber")
    print()
    print(HEADER)
    print(f"  (floor and taps interleaved in {args.rounds} rounds)")
    print(row("floor 1: fetch('/api/ping') from the page", fetches))
    print(row("floor 2: MQTT echo (QoS 1, 1 outstanding)", echoes))
    print(row("floor: the two added, sample by sample", floors))
    print(row("tap → `called` on MQTT", taps))
    print()
    print(f"hall server RSS (motcua serve, web pages included): {rss:.1f} MB")
    print()
    print("targets:")
    print(f"  p50 {p50:.1f} ms = {p50 / f50:.2f}× the floor (target <= {TARGET_RATIO:g}×: "
          f"{verdict(p50 <= TARGET_RATIO * f50)})")
    print(f"  p99 {p99:.1f} ms (target <= {TARGET_P99_MS:g} ms: {verdict(p99 <= TARGET_P99_MS)})")
    print(bench_line("clerk", next_p50_ms=p50, next_p99_ms=p99, floor_p50_ms=f50, floor_p99_ms=f99), flush=True)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
