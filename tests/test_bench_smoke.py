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
