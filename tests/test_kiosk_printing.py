"""A kiosk's whole printing path: a number from the real hall, a ticket on a (loopback) network
printer, and the printer's state in the kiosk's retained status, where staff can see it."""

from __future__ import annotations

import json
import threading

from hall.client import HallClient
from hall.protocol import Status
from printer.config import check_printer
from printer.job import FINAL
from printer.layout import render_ticket
from printer.ticket import TicketInfo
from printer.ticket_printer import TicketPrinter
from tests.conftest import read_db, wait_for
from tests.escpos_decode import decode
from tests.fakeprinter import FakePrinter


def test_ticket_from_the_hall_prints_once_and_paper_out_reaches_the_hall(hall, tmp_path):
    config: dict = {}
    got_config = threading.Event()

    def on_message(topic, payload):
        if topic.endswith("/config"):
            config.update(json.loads(payload))
            got_config.set()

    kiosk = HallClient(hall.add_device("kiosk-1", "kiosk"), subscribe=["config"], on_message=on_message)
    with FakePrinter() as fp:
        cfg = check_printer({"transport": "network", "host": "127.0.0.1", "port": fp.port, "model": "TM-T20II",
                             "status_poll_s": 0.1})
        printer = TicketPrinter(cfg, tmp_path / "spool.db",
                                on_status=lambda state: kiosk.set_status(Status("online", "kiosk", "t", state)))
        kiosk.start(wait=5)
        assert got_config.wait(5)
        try:
            reply = kiosk.request("take-ticket", {"service": "ho-tich"})["data"]
            job = printer.print_ticket(reply, config)
            assert job.wait(5, until=FINAL) == "printed"
            [ticket] = fp.wait_jobs(1)
            # What came out is exactly the ticket for this reply, laid out from the hall's config.
            expected = render_ticket(TicketInfo.from_reply(reply, config), 576)
            assert decode(ticket).image(576).tobytes() == expected.tobytes()

            fp.paper_out()
            second = kiosk.request("take-ticket", {"service": "ho-tich"})["data"]
            job2 = printer.print_ticket(second, config)
            assert job2.wait(5) == "waiting" and "hết giấy" in job2.message_vi
            # The hall server stores the kiosk's status: staff see "kiosk-1: paper out" at once.
            db = read_db(hall)
            wait_for(lambda: '"printer":"paper_out"' in (db.execute(
                "SELECT status FROM devices WHERE id = 'kiosk-1'").fetchone()[0] or ""))
            fp.paper_in()
            assert job2.wait(5, until=FINAL) == "printed"
            assert len(fp.wait_jobs(2)) == 2                       # each ticket exactly once
            wait_for(lambda: '"printer":"ok"' in db.execute(
                "SELECT status FROM devices WHERE id = 'kiosk-1'").fetchone()[0])
        finally:
            printer.close()
            kiosk.stop()
