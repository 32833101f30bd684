"""Take-ticket round trip through a real hall server, next to its floor (bare MQTT echo + durable commit).

    ./motcua bench ticket_roundtrip [--kiosks 4] [--tickets 10000] [--single 2000] [--quick]

Starts `motcua serve` (its own Mosquitto, its own ledger in a temp folder) on an
always-open copy of the example hall, then:
  1. one kiosk, one outstanding request: publish → reply latency, in rounds
     alternating with the floors, measured through the same Mosquitto and on the
     same disk: a bare QoS 1 MQTT echo (take-ticket-sized payload, one
     outstanding) and a bare durable SQLite commit (WAL, synchronous=FULL, one
     small INSERT per transaction); floor = echo + commit;
  2. N kiosks in a closed loop (each sends its next request when its reply came):
     sustained tickets/s, and their latencies under that load;
  3. the hall service process's RSS after all that.

Last line (machine-readable): p50/p99 are the single-kiosk figures, per_s the N-kiosk throughput.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench._hall import (
    HEADER,
    MAX_KIOSK_RATE,
    SERVICES,
    BenchHall,
    CpuMeter,
    bench_line,
    disk_of,
    interleaved,
    machine_note,
    pct,
    row,
    run_in_temp,
    take_ticket_payload_example,
    take_tickets,
    verdict,
)

TARGET_P50_X, TARGET_P99_X, TARGET_PER_S, TARGET_RSS_MB = 3.0, 5.0, 500.0, 60.0


def parse(argv):
    p = argparse.ArgumentParser(prog="motcua bench ticket_roundtrip", description=__doc__.split("\n\n")[0])
    p.add_argument("--kiosks", type=int, default=4, help="kiosks in the closed-loop throughput run (default 4)")
    p.add_argument("--tickets", type=int, default=10_000, help="tickets in the N-kiosk run (default 10000)")
    p.add_argument("--single", type=int, default=2000, help="tickets in the single-kiosk latency run (default 2000)")
    p.add_argument("--echo", type=int, default=2000, help="MQTT echo round trips for the floor (default 2000)")
    p.add_argument("--commits", type=int, default=2000, help="SQLite commits for the floor (default 2000)")
    p.add_argument("--rounds", type=int, default=4,
                   help="alternate floors and the single-kiosk run in this many rounds (default 4)")
    p.add_argument("--warmup", type=int, default=50, help="tickets taken before measuring (default 50)")
    p.add_argument("--dir", help="parent folder for the temp data (default: the system temp folder)")
    p.add_argument("--keep", action="store_true", help="keep the temp data folder")
    p.add_argument("--quick", action="store_true", help="small numbers, for a smoke test")
    args = p.parse_args(argv)
    if args.quick:
        args.kiosks, args.tickets, args.single = min(args.kiosks, 2), 300, 100
        args.echo, args.commits, args.warmup, args.rounds = 100, 100, 10, 2
    return args


def main(argv: list[str] | None = None) -> int:
    return run_in_temp("ticket", parse(argv or []), run)


def run(args, root: Path) -> int:
    # One device id per kiosk and run, so each run's tickets are its own in the ledger.
    groups = (["warmup-1"], ["single-1"], [f"kiosk-{k + 1}" for k in range(args.kiosks)])
    load_start = machine_note()
    with BenchHall(root) as hall:
        devs = hall.provision([(d, "kiosk", None) for ids in groups for d in ids])
        hall.start()
        warm, single, multi = (hall.connect_all([devs[d] for d in ids]) for ids in groups)

        # Warm up the service (imports, SQLite caches, the connections) before measuring anything.
        take_tickets(warm, args.warmup, offset=10**6)
        rss_start = hall.service_rss_mb()

        # Floors and the single-kiosk latency in alternating blocks, on the same Mosquitto and disk.
        echo, commit, one = interleaved(hall, args.rounds, args.echo, args.commits, args.single,
                                        lambda n: take_tickets(single, n))
        cpu = CpuMeter(hall).start()
        many = take_tickets(multi, args.tickets)
        cpu.stop()
        rss = hall.service_rss_mb()
        issued = args.warmup + args.single + args.tickets
    load_end = machine_note()

    floor50 = pct(echo, 50) + pct(commit, 50)
    floor99 = pct(echo, 99) + pct(commit, 99)
    p50, p99 = pct(one.latencies, 50), pct(one.latencies, 99)
    m50, m99 = pct(many.latencies, 50), pct(many.latencies, 99)
    payload = len(take_ticket_payload_example())

    print(f"ticket_roundtrip: hall '{hall.cfg.id}', services {', '.join(SERVICES)} (9,999 numbers each), "
          f"data on {disk_of(root)}")
    print(f"machine at start: {load_start}")
    print(f"machine at end:   {load_end}")
    print(f"take-ticket payload {payload} B, QoS 1; one device id per kiosk, rate limit lifted "
          f"({MAX_KIOSK_RATE:,} tickets/min per kiosk)")
    print()
    print(HEADER)
    print(f"  (floors and the 1-kiosk run interleaved in {args.rounds} rounds)")
    print(row("floor: MQTT echo (QoS 1, 1 outstanding)", echo))
    print(row("floor: SQLite commit (WAL, synchronous=FULL)", commit))
    print(f"  {'floor = echo + commit':<44} {'':>6}  {floor50:8.3f}  {floor99:8.3f}")
    print(row("take-ticket, 1 kiosk (1 outstanding)", one.latencies, f"{one.per_s:7.1f} tickets/s"))
    print(row(f"take-ticket, {args.kiosks} kiosks closed loop", many.latencies, f"{many.per_s:7.1f} tickets/s"))
    print()
    print("\n".join(cpu.lines(len(many.latencies), "ticket")))
    print()
    print(f"hall service RSS: {rss_start:.1f} MB after warm-up, {rss:.1f} MB after {issued:,} tickets "
          f"({args.tickets:,} in the {args.kiosks}-kiosk run)")
    print()
    print("targets (bench line: p50/p99 = 1 kiosk, per_s = the N-kiosk throughput):")
    print(f"  p50 {p50:.3f} ms = {p50 / floor50:.2f}x floor  (target <= {TARGET_P50_X:g}x: "
          f"{verdict(p50 <= TARGET_P50_X * floor50)})")
    print(f"  p99 {p99:.3f} ms = {p99 / floor99:.2f}x floor  (target <= {TARGET_P99_X:g}x: "
          f"{verdict(p99 <= TARGET_P99_X * floor99)})")
    print(f"  {args.kiosks}-kiosk p50 {m50:.3f} ms = {m50 / floor50:.2f}x floor, "
          f"p99 {m99:.3f} ms = {m99 / floor99:.2f}x floor  (information)")
    print(f"  throughput {many.per_s:.1f} tickets/s with {args.kiosks} kiosks  (target >= {TARGET_PER_S:g}: "
          f"{verdict(many.per_s >= TARGET_PER_S)})")
    print(f"  RSS {rss:.1f} MB  (target < {TARGET_RSS_MB:g} MB: {verdict(rss < TARGET_RSS_MB)})")
    print(bench_line("ticket_roundtrip", p50_ms=p50, p99_ms=p99, floor_p50_ms=floor50, floor_p99_ms=floor99,
                     per_s=many.per_s, rss_mb=rss), flush=True)
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
