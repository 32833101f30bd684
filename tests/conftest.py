"""Shared fixtures: a hall of our own per test, on its own hall id and free ports, with a real Mosquitto."""

from __future__ import annotations

import itertools
import os
import re
import signal
import sqlite3
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from broker.server import HallServer
from hall.client import HallClient
from hall.config import HallConfig, load_hall, with_ports
from motcua_cli.paths import EXAMPLE_HALL, ROOT, free_port  # noqa: F401 (tests import them from here)

EXAMPLE = EXAMPLE_HALL      # the name the tests know it by
OUTPUT = ROOT / "test-output"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
_ids = itertools.count(1)


def at(year=2026, month=11, day=25, hour=9, minute=0) -> float:
    """Epoch seconds of a local hall time; 2026-11-25 is a Wednesday, 09:00 is open."""
    return datetime(year, month, day, hour, minute, tzinfo=VN).timestamp()


class HallClock:
    """A clock that runs at real speed from a chosen hall time and can jump (service-day tests)."""

    def __init__(self, start: float):
        self.offset = start - time.time()

    def __call__(self) -> float:
        return time.time() + self.offset

    def jump(self, seconds: float) -> None:
        self.offset += seconds


def unique_hall_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:20]
    return f"t{next(_ids)}-{slug}"[:32].rstrip("-")


@pytest.fixture
def hall_cfg(request) -> HallConfig:
    """The example hall on its own hall id and a free MQTT port, bound to loopback.

    The kiosk rate limit is raised: tests take tickets faster than citizens do (the limit
    itself is tested in test_engine).
    """
    cfg = load_hall(EXAMPLE)
    return replace(with_ports(cfg, free_port(), free_port()), id=unique_hall_id(request.node.name),
                   mqtt_bind="127.0.0.1", kiosk_tickets_per_minute=10_000)


@pytest.fixture
def clock() -> HallClock:
    return HallClock(at())


@pytest.fixture
def hall(hall_cfg, clock, tmp_path):
    """A running hall server (its own Mosquitto, ledger and service)."""
    server = HallServer(hall_cfg, tmp_path / "data", clock=clock).start()
    yield server
    server.stop()


@pytest.fixture
def connect(hall):
    """connect('kiosk-1', 'kiosk') → a started HallClient for a freshly provisioned device."""
    clients = []

    def _connect(device_id: str, role: str, counter: int | None = None, **kw) -> HallClient:
        client = HallClient(hall.add_device(device_id, role, counter), **kw).start(wait=5)
        clients.append(client)
        return client

    yield _connect
    for c in clients:
        c.stop()


def read_db(server: HallServer) -> sqlite3.Connection:
    """A connection of the test's own to the hall's ledger (the service's belongs to its worker)."""
    return sqlite3.connect(server.data_dir / "hall.db")


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.01):
    """Poll until predicate() is truthy; return its value or fail the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def freeze(pid: int) -> None:
    """SIGSTOP a process and return once every one of its threads has stopped.

    kill() only wakes one thread, which then stops the others: on a busy machine the rest run on for
    milliseconds, long enough for a frozen hall service to take and acknowledge a request."""
    os.kill(pid, signal.SIGSTOP)
    tasks = Path(f"/proc/{pid}/task")

    def stopped() -> bool:
        states = []
        for task in tasks.iterdir():
            try:   # the state is the field after "(comm)"; comm may hold spaces or brackets
                states.append((task / "stat").read_text().rpartition(")")[2].split()[0])
            except (OSError, IndexError):
                continue   # a thread that just ended
        return bool(states) and all(s in "Tt" for s in states)
    wait_for(stopped, timeout=10)


@pytest.fixture(autouse=True)
def _a_container_for_the_install_tests(request):
    """`./motcua test install` on a machine that cannot boot a container fails: a skip there would
    read as "the installer was tested" (tests/container.py)."""
    if request.node.get_closest_marker("install"):
        from tests.container import available
        if (why := available()) is not None:
            pytest.fail(f"cannot test the installer here: {why}")


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


# The markers of pyproject.toml, given per file here so a file is marked in one place. They are for
# selecting (`./motcua test -m "not chaos"`, `-m kivy`); the default run runs every test.
MARKED_FILES = {
    "kivy": {"test_kiosk_kivy", "test_display_kivy", "test_kiosk_taps", "test_kiosk_connection", "test_ui_probe",
             "test_kiosk_printing", "test_printer_slow", "test_bench_smoke", "test_counter_pad_kivy",
             "test_search_quality", "test_clock"},
    "chaos": {"test_crash", "test_exactly_once", "test_broker_restart", "test_catalog_import",
              "test_kiosk_kivy", "test_display_kivy", "test_printer_spool", "test_counter_pad_kivy"},
    "bench": {"test_bench_smoke"},
    "browser": {"test_clerk_page", "test_ticket_page"},
    # Files with a test of 5 s or more alone (--durations, December 2026).
    "slow": {"test_kiosk_kivy", "test_display_kivy", "test_kiosk_taps", "test_bench_smoke", "test_crash",
             "test_exactly_once", "test_fuzz", "test_engine_random", "test_cli", "test_catalog_import",
             "test_first_hall", "test_display_announcer", "test_printer_slow", "test_kiosk_printing",
             "test_counter_pad_kivy", "test_clerk_page", "test_ticket_page", "test_search_quality",
             "test_acl_reload", "test_clock"},
}


def pytest_collection_modifyitems(items):
    for item in items:
        stem = item.path.stem
        for marker, files in MARKED_FILES.items():
            if stem in files:
                item.add_marker(marker)
