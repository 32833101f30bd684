"""The wall display against a real hall server: a counter's call-next → the frame that shows the call.

    ./motcua bench display [--calls 200] [--idle 60] [--size 1920x1080] [--quick]

Starts `motcua serve` on an always-open copy of the example hall (bench/_hall.py) and
`motcua display --probe` as its own process (offscreen SDL window, no X server), then:
  1. audio: a few calls, one at a time, on an idle display: call-next sent → the announcer's
     first sample handed to SDL (audio = "sdl", SDL_AUDIODRIVER=dummy, so SDL's audio thread
     really consumes it at speaking pace);
  2. CPU of the display process while idle (nothing changes: the clock ticks, the notice
     turns a page) and while a fresh call blinks;
  3. drawn: counter 1 sends call-next; the display reports the time.monotonic() of the first
     frame drawn (swapped and finished, ui/frames.py) with that ticket in the big call panel
     (texture included); alternated in rounds with the bare MQTT floor through the same
     Mosquitto (bench/_hall.py EchoFloor:
     QoS 1 publish → echo process → back; two broker hops, as request → service → display).
Last line (machine-readable): see the end of run().
"""

from __future__ import annotations

import argparse
import random
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
from hall.device import device_toml
from ui.probe_client import DisplayProcess, display_env

TARGET_DRAWN_P99_MS = 100.0
TARGET_IDLE_CPU = 3.0


def parse(argv):
    p = argparse.ArgumentParser(prog="motcua bench display", description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=200, help="calls in the drawn-latency run (default 200)")
    p.add_argument("--echo", type=int, default=400, help="MQTT echo round trips for the floor (default 400)")
    p.add_argument("--rounds", type=int, default=4, help="alternate floor and calls in this many rounds")
    p.add_argument("--idle", type=float, default=60.0, help="seconds of idle CPU measurement (default 60)")
    p.add_argument("--audio-calls", type=int, default=3, help="calls timed to their first audio sample (default 3)")
    p.add_argument("--size", default="1920x1080", help="display window size (default 1920x1080)")
    p.add_argument("--dir", help="parent folder for the temp data (default: the system temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the temp data folder")
    p.add_argument("--quick", action="store_true", help="small numbers, for a smoke test")
    args = p.parse_args(argv)
    args.blink, args.spacing = 8.0, (0.05, 0.15)   # CPU while a call blinks; seconds between the timed calls
    if args.quick:
        args.calls, args.echo, args.idle, args.audio_calls, args.rounds = 40, 100, 2.0, 1, 2
        args.blink, args.spacing = 2.0, (0.0, 0.0)
    return args


def main(argv: list[str] | None = None) -> int:
    return run_in_temp("display", parse(argv or []), run)


def cpu_pct(proc, seconds: float) -> float:
    """CPU of one process over `seconds` of wall time, in % of one core."""
    t0, c0 = time.monotonic(), sum(proc.cpu_times()[:2])
    time.sleep(seconds)
    return 100 * (sum(proc.cpu_times()[:2]) - c0) / (time.monotonic() - t0)


def call(counter, display: DisplayProcess) -> tuple[float, dict]:
    """call-next; (sent at, the display's drawn event for that ticket)."""
    mark = len(display.events)
    t0 = time.monotonic()
    reply = counter.request("call-next", {"counter": 1}, timeout=5.0, attempts=2)
    if not reply.get("ok"):
        raise RuntimeError(f"call-next refused: {reply.get('error')}")
    ticket = reply["data"]["ticket"]
    return t0, display.wait_event("drawn", lambda e: e["ticket"] == ticket, timeout=10, since=mark)


def run(args, root: Path) -> int:
    import psutil
    w, h = (int(x) for x in args.size.split("x"))
    load_start = machine_note()
    tickets = args.calls + args.audio_calls + 20
    with BenchHall(root) as hall:
        devs = hall.provision([("kiosk-1", "kiosk", None), ("counter-1", "counter", 1), ("display-1", "display", None)])
        # repeat = 1: the audio phase waits out each announcement, and the first sample does not
        # depend on how often the phrase is repeated after it.
        (root / "display-1.toml").write_text(device_toml(devs["display-1"]) + (
            f'\n[display]\naudio = "sdl"\nrepeat = 1\ncache = "{root / "speech"}"\n'), encoding="utf-8")
        hall.start()
        kiosk = hall.connect(devs["kiosk-1"])
        counter = hall.connect(devs["counter-1"])
        take_tickets([kiosk], tickets, COUNTER1_SERVICES, priority_every=0)
        display = DisplayProcess(root / "display-1.toml", size=(w, h), workdir=root,
                                 env=display_env(root, audio_driver="dummy"))
        try:
            display.wait_event("ready", timeout=30)
            proc = psutil.Process(display.pid)
            display.wait_texts(lambda t: t["hall_name"] and t["counters"], timeout=10)

            # 1. audio: one call at a time on a quiet display.
            audio = []
            for _ in range(args.audio_calls):
                mark = len(display.events)
                t0, drawn = call(counter, display)
                spoke = display.wait_event("speaking", lambda e, t=drawn["ticket"]: e["ticket"] == t, since=mark)
                audio.append((spoke["t"] - t0) * 1000)
                display.wait_event("played", lambda e, t=drawn["ticket"]: e["ticket"] == t, timeout=60, since=mark)

            # 2. CPU: idle (after the last blink ended), then while a fresh call blinks.
            display.wait_texts(lambda t: not t["blinking"], timeout=60)
            idle = cpu_pct(proc, args.idle)
            call(counter, display)
            blink = cpu_pct(proc, args.blink)

            # 3. drawn latency, alternating with the MQTT floor.
            drawn, echo, steps = [], [], []
            floor = EchoFloor(hall)
            try:
                for r in range(args.rounds):
                    share = lambda total: total // args.rounds + (1 if r < total % args.rounds else 0)  # noqa: E731, B023
                    echo += floor.measure(share(args.echo))
                    for _ in range(share(args.calls)):
                        t0, ev = call(counter, display)
                        drawn.append((ev["t"] - t0) * 1000)
                        steps.append([(x - t0) * 1000 for x in ev.get("steps", [])] + [(ev["t"] - t0) * 1000])
                        time.sleep(random.uniform(*args.spacing))   # calls are seconds apart in a hall
            finally:
                floor.close()
            rss = proc.memory_info().rss / 2**20
            backend = next((e["backend"] for e in display.events if e.get("event") == "played"), "?")
        finally:
            display.close()
    load_end = machine_note()

    p50, p99 = pct(drawn, 50), pct(drawn, 99)
    f50 = pct(echo, 50)
    a50 = pct(audio, 50)
    print(f"display: window {w}x{h} offscreen (SDL, Mesa llvmpipe: software GL), audio backend {backend}")
    print(f"machine at start: {load_start}")
    print(f"machine at end:   {load_end}")
    print("measured: counter-1 publishes call-next (QoS 1) → the display process flips the first frame whose "
          "big call panel shows that ticket")
    print()
    print(HEADER)
    print(f"  (floor and calls interleaved in {args.rounds} rounds)")
    print(row("floor: MQTT echo (QoS 1, 1 outstanding)", echo))
    print(row("call-next → call drawn on the display", drawn))
    print(row("call-next → first audio sample (chime)", audio))
    full = [s for s in steps if len(s) == 5]
    if full:
        print("  where the time goes (p50 ms after call-next was sent): " + ", ".join(
            f"{name} {pct([s[i] for s in full], 50):.1f}" for i, name in enumerate(
                ["`called` reached the display", "UI thread took it", "redraw began", "redraw done",
                 "frame drawn"])))
    print()
    print(f"display process CPU: idle {idle:.2f}% of one core over {args.idle:.0f} s; "
          f"while a fresh call blinks {blink:.2f}% over {args.blink:.0f} s")
    print(f"display process RSS: {rss:.1f} MB")
    print()
    print("targets:")
    print(f"  drawn p99 {p99:.1f} ms (target <= {TARGET_DRAWN_P99_MS:g} ms: {verdict(p99 <= TARGET_DRAWN_P99_MS)})")
    print(f"  idle CPU {idle:.2f}% of one core (target < {TARGET_IDLE_CPU:g}%: {verdict(idle < TARGET_IDLE_CPU)})")
    print(bench_line("display", drawn_p50_ms=p50, drawn_p99_ms=p99, floor_p50_ms=f50, audio_start_ms=a50,
                     idle_cpu_pct=idle, rss_mb=rss), flush=True)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
