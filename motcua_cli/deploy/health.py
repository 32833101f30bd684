"""Is a unit up after an upgrade: active (Type=notify: its READY came), and still so a while later.

    h = wait_healthy("motcua-hall.service", timeout=90, settle=10)
    h.ok, h.why          # False, "it exited at start and systemd restarted it 2 time(s) (Result=exit-code)"
    server_status(Path("/opt/motcua"))   # None when `motcua status` exits 0, else what it said

Stdlib only: the upgrade runs on the system's python3 (docs/upgrade.md).
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

CONFIG = "/etc/motcua/hall.toml"
DATA = "/var/lib/motcua"


@dataclass(frozen=True)
class UnitState:
    active: str
    """ActiveState: active, activating, failed, inactive…"""
    sub: str
    """SubState: running, start, auto-restart…"""
    restarts: int
    """NRestarts: how many times systemd restarted it since it was last started by hand."""
    pid: int
    result: str


@dataclass(frozen=True)
class Health:
    ok: bool
    why: str
    ready_at: float = 0.0
    """time.monotonic() when the unit was first seen active (its READY came); 0 when it never was."""


def unit_state(unit: str) -> UnitState:
    out = subprocess.run(["systemctl", "show", "--property=ActiveState,SubState,NRestarts,MainPID,Result", unit],
                         capture_output=True, text=True).stdout
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return UnitState(props.get("ActiveState", "unknown"), props.get("SubState", ""),
                     int(props.get("NRestarts") or 0), int(props.get("MainPID") or 0), props.get("Result", ""))


def wait_healthy(unit: str, timeout: float, settle: float) -> Health:
    """Waits (at most timeout) for the unit to be active and running, then watches it for settle
    seconds: a restart (NRestarts or MainPID changed) or a state other than active is unhealthy."""
    started = time.monotonic()
    deadline = started + timeout
    first = unit_state(unit)
    while True:
        s = unit_state(unit)
        if s.restarts > first.restarts:
            return Health(False, f"{unit} exited at start and systemd restarted it {s.restarts - first.restarts} "
                                 f"time(s) (Result={s.result})")
        if s.active == "active" and s.sub == "running":
            break
        # Restart=always turns a failure into auto-restart; failed/inactive is a unit that gave up (or
        # was never started): after the first seconds, it will not come up by itself.
        if s.active in ("failed", "inactive") and time.monotonic() > started + 2:
            return Health(False, f"{unit} is {s.active} (Result={s.result})")
        if time.monotonic() > deadline:
            return Health(False, f"{unit} did not become ready in {timeout:.0f} s (it is {s.active}/{s.sub}: "
                                 "no READY from the service)")
        time.sleep(0.3)
    ready, ready_at = s, time.monotonic()
    end = time.monotonic() + settle
    while time.monotonic() < end:
        time.sleep(0.5)
        s = unit_state(unit)
        if s.restarts != ready.restarts or s.pid != ready.pid or s.active != "active":
            return Health(False, f"{unit} was ready, then stopped or restarted within {settle:.0f} s "
                                 f"(now {s.active}/{s.sub}, Result={s.result})")
    return Health(True, f"{unit} active (ready) and stayed up {settle:.0f} s (pid {s.pid})", ready_at)


def as_service(release: Path, *args: str, user: str = "motcua",
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`motcua ARGS` of a release, as the hall's service user (its data folder is that user's, 0700)."""
    return subprocess.run(["runuser", "-u", user, "--", str(release / ".venv/bin/motcua"), *args],
                          capture_output=True, text=True, timeout=timeout)


def server_status(release: Path, user: str = "motcua") -> str | None:
    """None when the release's `motcua status` says the hall serves with no alarm; else its output.
    A release too old to have `status` counts as healthy on the unit's state alone (also None)."""
    if as_service(release, "status", "--help", user=user).returncode:
        return None
    p = as_service(release, "status", "--config", CONFIG, "--data", DATA, user=user, timeout=60)
    return None if p.returncode == 0 else (p.stdout + p.stderr).strip()
