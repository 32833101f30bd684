"""The hall benchmarks run end to end (with --quick) and end with a parseable `bench:` line."""

from __future__ import annotations

import math
import re

import pytest

from bench import call_roundtrip, ticket_roundtrip

LINE = re.compile(r"^bench: (?P<name>[a-z_]+)((?: [a-z0-9_]+=[0-9.]+)+)$")


def bench_values(out: str, name: str) -> dict[str, float]:
    last = out.strip().splitlines()[-1]
    m = LINE.match(last)
    assert m, f"last line is not a bench line: {last!r}"
    assert m["name"] == name
    return {k: float(v) for k, v in (kv.split("=") for kv in m[2].split())}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("module, name, keys", [
    (ticket_roundtrip, "ticket_roundtrip", ["p50_ms", "p99_ms", "floor_p50_ms", "floor_p99_ms", "per_s", "rss_mb"]),
    (call_roundtrip, "call_roundtrip", ["p50_ms", "p99_ms", "floor_p50_ms", "floor_p99_ms", "per_s"]),
])
def test_bench_quick(module, name, keys, capsys):
    assert module.main(["--quick"]) == 0
    values = bench_values(capsys.readouterr().out, name)
    assert list(values) == keys
    assert all(math.isfinite(v) and v > 0 for v in values.values()), values
    # Plausible, not targets: a round trip through Mosquitto and a durable commit takes well
    # under a second here, the hall's round trip is no faster than its floor's median, and
    # the closed loop gets through at least a few requests a second.
    assert values["floor_p50_ms"] <= values["floor_p99_ms"] < 1000
    assert values["p50_ms"] <= values["p99_ms"] < 5000
    assert values["p50_ms"] >= 0.5 * values["floor_p50_ms"]
    assert values["per_s"] > 5
    if "rss_mb" in values:
        assert 5 < values["rss_mb"] < 1000


@pytest.mark.timeout(120)
def test_display_bench_quick(capsys):
    from bench import display
    assert display.main(["--quick"]) == 0
    values = bench_values(capsys.readouterr().out, "display")
    assert list(values) == ["drawn_p50_ms", "drawn_p99_ms", "floor_p50_ms", "audio_start_ms", "idle_cpu_pct",
                            "rss_mb"]
    assert 0 < values["floor_p50_ms"] < values["drawn_p50_ms"] <= values["drawn_p99_ms"] < 5000
    assert 0 <= values["idle_cpu_pct"] < 100 and 20 < values["rss_mb"] < 2000


@pytest.mark.timeout(60)
def test_print_and_search_benches_quick(capsys):
    from bench import search, ticket_print
    assert ticket_print.main(["--quick"]) == 0
    values = bench_values(capsys.readouterr().out, "ticket_print")
    assert list(values) == ["render_ms_80", "kb_80", "render_ms_58", "kb_58"]
    assert 0 < values["render_ms_58"] < 1000 and 1 < values["kb_58"] < values["kb_80"] < 100
    assert search.main(["--quick"]) == 0
    values = bench_values(capsys.readouterr().out, "search")
    assert list(values) == ["worst_ms", "p50_ms", "procedures", "hit1", "hit2", "outside"]
    assert values["procedures"] == 200 and 0 < values["p50_ms"] <= values["worst_ms"] < 1000


@pytest.mark.timeout(120)
def test_kiosk_bench_quick(capsys):
    from bench import kiosk
    assert kiosk.main(["--quick"]) == 0
    values = bench_values(capsys.readouterr().out, "kiosk")
    assert list(values) == ["tap_p50_ms", "tap_p99_ms", "floor_p50_ms", "start_s", "idle_cpu_pct", "rss_mb",
                            "search_ms"]
    assert 0 < values["floor_p50_ms"] < values["tap_p50_ms"] <= values["tap_p99_ms"] < 5000
    assert 0 < values["start_s"] < 60 and 0 <= values["idle_cpu_pct"] < 100 and 0 < values["search_ms"] < 1000


@pytest.mark.timeout(120)
def test_clerk_bench_quick(capsys):
    from bench import clerk
    assert clerk.main(["--quick"]) == 0
    values = bench_values(capsys.readouterr().out, "clerk")
    assert list(values) == ["next_p50_ms", "next_p99_ms", "floor_p50_ms", "floor_p99_ms"]
    # Plausible, not targets: a tap cannot beat the fetch and the MQTT hop it is made of by much.
    assert 0 < values["floor_p50_ms"] <= values["floor_p99_ms"] < 1000
    assert 0.5 * values["floor_p50_ms"] <= values["next_p50_ms"] <= values["next_p99_ms"] < 5000
