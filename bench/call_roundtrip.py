"""Call round trip through a real hall server: a counter's call-next → the wall display hears `called`.

    ./motcua bench call_roundtrip [--calls 2000] [--counters 4] [--quick]

Starts `motcua serve` on an always-open copy of the example hall (as
ticket_roundtrip does), has kiosks issue the tickets beforehand, then:
  1. counter 1 alone, one call outstanding: the time from publishing call-next
     to the display device (a separate MQTT client subscribed to `called`)
     receiving that ticket's `called` event. The next call-next is sent once
     both the counter's reply and the display's event have arrived. In rounds
     alternating with the floors, measured through the same Mosquitto and on the
     same disk: a bare QoS 1 MQTT echo and a bare durable SQLite commit (WAL,
     synchronous=FULL); floor = echo + commit;
  2. all counters at once in the same closed loop: sustained calls/s.

Last line (machine-readable): p50/p99 are counter 1 alone, per_s the all-counters throughput.
"""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from bench._hall import (
    COUNTER1_SERVICES,
    HEADER,
    SERVICES,
    BenchHall,
    CpuMeter,
    Run,
    bench_line,
    closed_loop,
    disk_of,
    interleaved,
    machine_note,
    pct,
    read_reply,
    row,
    run_in_temp,
    take_tickets,
    verdict,
)
from hall.protocol import Call, decode_message

TARGET_P50_X, TARGET_P99_X = 3.0, 5.0


def parse(argv):
    p = argparse.ArgumentParser(prog="motcua bench call_roundtrip", description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=2000, help="calls in the counter-1 latency run (default 2000)")
    p.add_argument("--counters", type=int, default=4, help="counters in the throughput run (default 4: all)")
    p.add_argument("--throughput-calls", type=int, default=2000,
                   help="calls in the all-counters run (default 2000)")
    p.add_argument("--echo", type=int, default=2000, help="MQTT echo round trips for the floor (default 2000)")
    p.add_argument("--commits", type=int, default=2000, help="SQLite commits for the floor (default 2000)")
    p.add_argument("--rounds", type=int, default=4,
                   help="alternate floors and the counter-1 run in this many rounds (default 4)")
    p.add_argument("--warmup", type=int, default=50, help="calls made before measuring (default 50)")
    p.add_argument("--dir", help="parent folder for the temp data (default: the system temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the temp data folder")
    p.add_argument("--quick", action="store_true", help="small numbers, for a smoke test")
    args = p.parse_args(argv)
    if args.quick:
        args.calls, args.throughput_calls, args.echo, args.commits, args.warmup = 100, 200, 100, 100, 10
        args.rounds = 2
    return args


def main(argv: list[str] | None = None) -> int:
    return run_in_temp("call", parse(argv or []), run)


class Display:
    """The wall display's view: when each ticket's `called` event arrived (paho's thread stamps it)."""

    def __init__(self):
        self.arrived: dict[str, float] = {}
        self.cond = threading.Condition()

    def __call__(self, topic: str, payload: bytes) -> None:
        now = time.perf_counter()
        call = decode_message(topic, payload)
        if not isinstance(call, Call):
            return
        with self.cond:
            self.arrived[call.ticket_id] = now
            self.cond.notify_all()

    def wait(self, ticket_id: str, timeout: float = 5.0) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: ticket_id in self.arrived, timeout):
                raise RuntimeError(f"display: no `called` for {ticket_id} within {timeout:.0f} s")
            return self.arrived.pop(ticket_id)


def call_loop(counters: dict[int, object], quota: dict[int, int], display: Display) -> Run:
    """Closed loop per counter: call-next, wait for the reply and the display's event, again."""

    def loop(number: int, run: Run) -> None:
        client = counters[number]
        for _ in range(quota[number]):
            t0 = time.perf_counter()
            try:
                reply = read_reply("call-next", client.request("call-next", {"counter": number}, timeout=5.0,
                                                               attempts=2))
                if not reply.ok:
                    run.errors.append(f"counter {number}: {reply.error}")
                    return
                heard = display.wait(reply.data.ticket_id)
            except (TimeoutError, RuntimeError) as err:
                run.errors.append(f"counter {number}: {err}")
                return
            run.latencies.append((heard - t0) * 1000)

    return closed_loop(counters, loop, "call-next")


def run(args, root: Path) -> int:
    n_counters = max(1, min(args.counters, 4))
    # Counter 1 calls from ho-tich, chung-thuc and tra-ket-qua: its tickets go there. The all-counters
    # run gets tickets in every service, twice as many as it calls: counters share lines.
    first_batch = args.warmup + args.calls
    second_batch = 2 * args.throughput_calls + 6 * n_counters
    kiosk_ids = [f"kiosk-{k}" for k in range(1, 5)]
    load_start = machine_note()
    with BenchHall(root) as hall:
        devs = hall.provision([(d, "kiosk", None) for d in kiosk_ids]
                              + [(f"counter-{c}", "counter", c) for c in range(1, 5)]
                              + [("display-1", "display", None)])
        hall.start()
        display = Display()
        hall.connect(devs["display-1"], subscribe=["called"], on_message=display)
        counters = {c: hall.connect(devs[f"counter-{c}"]) for c in range(1, 5)}
        kiosks = hall.connect_all([devs[d] for d in kiosk_ids])

        take_tickets(kiosks, first_batch, COUNTER1_SERVICES, priority_every=0)
        call_loop({1: counters[1]}, {1: args.warmup}, display)            # warm-up
        rss_start = hall.service_rss_mb()

        # Floors and counter 1's calls in alternating blocks, on the same Mosquitto and disk.
        echo, commit, one = interleaved(hall, args.rounds, args.echo, args.commits, args.calls,
                                        lambda n: call_loop({1: counters[1]}, {1: n}, display))

        take_tickets(kiosks, second_batch, SERVICES, priority_every=0)
        chosen = {c: counters[c] for c in range(1, n_counters + 1)}
        quota = {c: args.throughput_calls // n_counters + (1 if i < args.throughput_calls % n_counters else 0)
                 for i, c in enumerate(chosen)}
        cpu = CpuMeter(hall).start()
        many = call_loop(chosen, quota, display)
        cpu.stop()
        rss = hall.service_rss_mb()
    load_end = machine_note()

    floor50 = pct(echo, 50) + pct(commit, 50)
    floor99 = pct(echo, 99) + pct(commit, 99)
    p50, p99 = pct(one.latencies, 50), pct(one.latencies, 99)
    m50, m99 = pct(many.latencies, 50), pct(many.latencies, 99)

    print(f"call_roundtrip: hall '{hall.cfg.id}', data on {disk_of(root)}")
    print(f"machine at start: {load_start}")
    print(f"machine at end:   {load_end}")
    print(f"measured: counter device publishes call-next (QoS 1) → display device receives `called`; "
          f"{first_batch + second_batch:,} tickets issued beforehand by kiosks")
    print()
    print(HEADER)
    print(f"  (floors and the counter-1 run interleaved in {args.rounds} rounds)")
    print(row("floor: MQTT echo (QoS 1, 1 outstanding)", echo))
    print(row("floor: SQLite commit (WAL, synchronous=FULL)", commit))
    print(f"  {'floor = echo + commit':<44} {'':>6}  {floor50:8.3f}  {floor99:8.3f}")
    print(row("call-next → called, counter 1 alone", one.latencies, f"{one.per_s:7.1f} calls/s"))
    print(row(f"call-next → called, {n_counters} counters closed loop", many.latencies,
              f"{many.per_s:7.1f} calls/s"))
    print()
    print("\n".join(cpu.lines(len(many.latencies), "call")))
    print()
    print(f"hall service RSS: {rss_start:.1f} MB after warm-up, {rss:.1f} MB at the end")
    print()
    print(f"targets (bench line: p50/p99 = counter 1 alone, per_s = the {n_counters}-counter throughput):")
    print(f"  p50 {p50:.3f} ms = {p50 / floor50:.2f}x floor  (target <= {TARGET_P50_X:g}x: "
          f"{verdict(p50 <= TARGET_P50_X * floor50)})")
    print(f"  p99 {p99:.3f} ms = {p99 / floor99:.2f}x floor  (target <= {TARGET_P99_X:g}x: "
          f"{verdict(p99 <= TARGET_P99_X * floor99)})")
    print(f"  {n_counters}-counter p50 {m50:.3f} ms = {m50 / floor50:.2f}x floor, "
          f"p99 {m99:.3f} ms = {m99 / floor99:.2f}x floor  (information)")
    print(bench_line("call_roundtrip", p50_ms=p50, p99_ms=p99, floor_p50_ms=floor50, floor_p99_ms=floor99,
                     per_s=many.per_s), flush=True)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
