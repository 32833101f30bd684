"""A ticket that could not print within a short time is dropped, never printed late (issue 8, item 11).

The printer is away (nothing listens at its address: connection refused) and comes back (the
loopback fake printer answers) after the limit: nothing prints, and the log says why. The spool's
clock is the test's, so the default limit is tested without waiting for it.
"""

from __future__ import annotations

import logging

import pytest

from kiosk.model import Settings
from printer import status as st
from printer.config import MAX_AGE_S, check_printer
from printer.link import Link
from printer.spool import FINAL, Spool
from printer.transports import link_for
from tests.conftest import free_port
from tests.fakeprinter import FakePrinter, ticket_bytes, wait_until


@pytest.fixture
def fp():
    with FakePrinter() as printer:
        yield printer


def network(port: int, **kw):
    return check_printer({"transport": "network", "host": "127.0.0.1", "port": port, "model": "TM-T20II",
                          "timeout_s": 1, **kw}, "kiosk-1.toml")


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class ComingBack:
    """The printer's Link factory: the printer is away (connection refused) until `back`, then the fake one."""

    def __init__(self, fp: FakePrinter, on_connect=None):
        self.away, self.there = network(free_port()), network(fp.port)
        self.back, self.on_connect = False, on_connect

    def __call__(self) -> Link:
        if self.back and self.on_connect:
            self.on_connect()
        return link_for(self.there if self.back else self.away)


def test_the_default_limit_is_short_and_in_the_config():
    # As long as the kiosk keeps a ticket whose paper did not print on screen (kiosk.model.Settings).
    assert 60 <= MAX_AGE_S <= 120 and MAX_AGE_S == Settings().ticket_kept_s
    assert network(9100).max_age_s == MAX_AGE_S
    assert network(9100, max_age_s=30).max_age_s == 30


def test_a_ticket_queued_while_the_printer_was_away_is_dropped_not_printed_late(fp, tmp_path, caplog):
    cfg, clock, printer = network(fp.port), Clock(), ComingBack(fp)          # no max_age_s: the default
    states: list[str] = []
    sp = Spool(str(tmp_path / "spool.db"), printer, max_age_s=cfg.max_age_s, poll_s=0.05,
               status_timeout_s=st.STATUS_TIMEOUT_S, clock=clock, on_status=states.append)
    late = Settings().ticket_kept_s + 1       # the number has just left the kiosk's screen
    try:
        job = sp.submit("20261125-1001", "1001", ticket_bytes(1))
        assert job.wait(2) == "waiting" and job.reason == "offline"
        with caplog.at_level(logging.WARNING, logger="motcua.printer"):
            clock.now += late
            assert job.wait(5, until=FINAL) == "failed"
        assert job.reason == "too old" and job.message_vi.startswith("Không in được phiếu")
        assert any("20261125-1001" in r.getMessage() and f"dropped: not printed {late:.0f} s after it was issued" in
                   r.getMessage() and "number 1001" in r.getMessage() for r in caplog.records)
        printer.back = True                         # the printer is switched on again, a minute too late
        assert wait_until(lambda: states[-1:] == ["ok"])
        asked = len(fp.queries)
        assert wait_until(lambda: len(fp.queries) >= asked + 4)   # two more rounds with the printer there
        assert fp.jobs() == [] and fp.only_status_received()   # status traffic, no ticket byte
    finally:
        sp.close()


def test_a_ticket_that_gets_too_old_while_the_printer_is_being_reached_is_not_sent(fp, tmp_path):
    # Reaching a printer that was away can take up to timeout_s (10 s): the age counts when sending.
    clock = Clock()
    printer = ComingBack(fp, on_connect=lambda: setattr(clock, "now", clock.now + 60))   # a slow connect
    sp = Spool(str(tmp_path / "spool.db"), printer, max_age_s=90, poll_s=0.05,
               status_timeout_s=st.STATUS_TIMEOUT_S, clock=clock)
    try:
        job = sp.submit("20261125-1002", "1002", ticket_bytes(2))
        assert job.wait(2) == "waiting"
        clock.now += 60                                     # 60 s old: still worth printing …
        printer.back = True                                 # … but 120 s old once the printer answers
        assert job.wait(5, until=FINAL) == "failed" and job.reason == "too old"
        assert fp.jobs() == [] and fp.only_status_received()
    finally:
        sp.close()


def test_a_printer_back_within_the_limit_prints_the_ticket_once(fp, tmp_path):
    clock, printer = Clock(), ComingBack(fp)
    sp = Spool(str(tmp_path / "spool.db"), printer, max_age_s=90, poll_s=0.05,
               status_timeout_s=st.STATUS_TIMEOUT_S, clock=clock)
    try:
        job = sp.submit("20261125-1003", "1003", ticket_bytes(3))
        assert job.wait(2) == "waiting"
        clock.now += 80
        printer.back = True
        assert job.wait(5, until=FINAL) == "printed"
        assert fp.wait_jobs(1) == [ticket_bytes(3)]
    finally:
        sp.close()
