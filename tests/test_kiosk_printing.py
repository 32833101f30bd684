"""A kiosk's whole printing path: a number from the real hall, a ticket on a (loopback) network
printer, and the printer's state in the kiosk's retained status, where staff can see it — also
when there is no printer, or it is switched off at start, or it comes back too late (issue 8)."""

from __future__ import annotations

import json
import logging
import threading
import time

from hall.client import HallClient
from hall.device import device_toml, load_device
from hall.protocol import Config, Fields, Reply, Status, TicketIssued
from kiosk.backend import printer_config
from kiosk.views import view
from printer.config import check_printer
from printer.job import FINAL
from printer.layout import render_ticket
from printer.ticket import TicketInfo
from printer.ticket_printer import TicketPrinter
from tests.conftest import HallClock, free_port, read_db, wait_for
from tests.escpos_decode import decode
from tests.fakeprinter import FakePrinter
from tests.kioskrun import Kiosk


def test_ticket_from_the_hall_prints_once_and_paper_out_reaches_the_hall(hall, tmp_path):
    configs: list[Config] = []
    got_config = threading.Event()

    def on_message(topic, payload):
        if topic.endswith("/config"):
            configs.append(Config.from_payload(payload))
            got_config.set()

    def take_ticket() -> TicketIssued:
        raw = kiosk.request("take-ticket", {"service": "ho-tich"})
        return Reply.from_dict(Fields(raw, "reply"), TicketIssued).data

    kiosk = HallClient(hall.add_device("kiosk-1", "kiosk"), subscribe=["config"], on_message=on_message)
    with FakePrinter() as fp:
        cfg = check_printer({"transport": "network", "host": "127.0.0.1", "port": fp.port, "model": "TM-T20II",
                             "status_poll_s": 0.1})
        printer = TicketPrinter(cfg, tmp_path / "spool.db",
                                on_status=lambda state: kiosk.set_status(Status("online", "kiosk", "t", state)))
        kiosk.start(wait=5)
        assert got_config.wait(5)
        config = configs[-1]
        try:
            reply = take_ticket()
            job = printer.print_ticket(reply, config)
            assert job.wait(5, until=FINAL) == "printed"
            [ticket] = fp.wait_jobs(1)
            # What came out is exactly the ticket for this reply, laid out from the hall's config.
            expected = render_ticket(TicketInfo.from_reply(reply, config), 576)
            assert decode(ticket).image(576).tobytes() == expected.tobytes()

            fp.paper_out()
            second = take_ticket()
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


def registry_status(hall, device_id: str = "kiosk-1") -> dict:
    """The kiosk's last status as the hall server stored it (`motcua device list` shows it)."""
    row = read_db(hall).execute("SELECT status FROM devices WHERE id = ?", (device_id,)).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def test_a_kiosk_set_up_as_the_readme_says_has_no_printer_and_says_so(hall, tmp_path):
    # Issue 8, item 10: `motcua device add` writes [printer] only as a commented template, and a kiosk
    # without one used to write PNG previews while saying "Đã in xong" and reporting "printer ok".
    (tmp_path / "kiosk").mkdir()
    path = tmp_path / "kiosk" / "kiosk-1.toml"
    path.write_text(device_toml(hall.add_device("kiosk-1", "kiosk")), encoding="utf-8")
    assert '#transport = "network"' in path.read_text() and '#transport = "preview"' in path.read_text()
    dev = load_device(path)
    assert dev.printer is None and printer_config(dev, path) is None
    with Kiosk(dev, printer_config(dev, path), path.parent / "spool.db", version="t") as k:
        home = k.until(lambda v: v.screen == "home" and v.body.services)
        assert home.body.printer_note == ("Máy này chưa có máy in. Bạn vẫn lấy được số — "
                                          "hãy ghi nhớ số trên màn hình.")
        wait_for(lambda: registry_status(hall) == {"v": 1, "state": "online", "role": "kiosk", "version": "t",
                                                    "printer": "not_configured"})
        k.tap_service("ho-tich")
        v = k.until(lambda v: v.screen == "ticket")
        assert v.body.number == "1001"                   # the number is given all the same
        assert (v.body.print_text, v.body.print_state) == ("Máy chưa có máy in — vui lòng ghi nhớ số của bạn",
                                                           "trouble")
        assert k.model.ticket.until - k.model.shown_at >= k.model.settings.ticket_kept_s   # time to write it down
    assert list(path.parent.iterdir()) == [path]            # no spool, no PNG preview anywhere


def test_a_printer_absent_at_start_is_offline_in_the_halls_registry(hall, tmp_path):
    # Issue 8, item 11: the printer's first state came before the MQTT client existed (1 start of 4).
    dev = hall.add_device("kiosk-1", "kiosk")
    cfg = check_printer({"transport": "network", "host": "127.0.0.1", "port": free_port(), "model": "TM-T20II",
                         "timeout_s": 1, "status_poll_s": 0.1})           # switched off: nothing listens
    for start in range(4):
        with Kiosk(dev, cfg, tmp_path / f"spool-{start}.db", version=f"start-{start}") as k:
            home = k.until(lambda v: v.screen == "home" and v.body.printer_note)
            assert home.body.printer_note.startswith("Máy in tạm thời không in được.")
            wait_for(lambda start=start: registry_status(hall) == {
                "v": 1, "state": "online", "role": "kiosk", "version": f"start-{start}", "printer": "offline"})
        # The stop is published before the kiosk disconnects; the hall server stores it on its own thread.
        wait_for(lambda: registry_status(hall).get("state") == "offline")   # the next start is checked afresh


def test_a_ticket_the_absent_printer_could_not_print_in_time_is_dropped_and_the_screen_says_so(hall, tmp_path,
                                                                                             caplog):
    clock = HallClock(time.time())
    cfg = check_printer({"transport": "network", "host": "127.0.0.1", "port": free_port(), "model": "TM-T20II",
                         "timeout_s": 1, "status_poll_s": 0.1})
    with Kiosk(hall.add_device("kiosk-1", "kiosk"), cfg, tmp_path / "spool.db",
               printer_options={"clock": clock}) as k:
        k.until(lambda v: v.screen == "home" and v.body.printer_note)
        k.tap_service("ho-tich")
        v = k.until(lambda v: v.screen == "ticket" and v.body.print_state == "trouble")
        assert v.body.print_text == "Không in được phiếu — vui lòng ghi nhớ số của bạn"
        with caplog.at_level(logging.WARNING, logger="motcua.printer"):
            clock.jump(cfg.max_age_s + 1)
            k.until(lambda v: k.model.ticket.print_state == "failed")
        assert k.model.ticket.reason == "too old"
        assert view(k.model, time.time()).body.print_text == "Không in được phiếu — vui lòng ghi nhớ số của bạn"
        assert any("dropped: not printed" in r.getMessage() and "number 1001" in r.getMessage()
                   for r in caplog.records)
        assert k.backend.printer.spool.jobs("queued") == []
