"""Transports and status: real python-escpos printer classes, a fake network printer over real TCP,
and clear errors (naming the printer and what to check) when a printer is not there."""

from __future__ import annotations

import select
import socket
import stat
import time
import unicodedata

import pytest
from fakeprinter import FakePrinter, epson_status_byte, ticket_bytes, wait_until

from printer import status as st
from printer.config import check_printer
from printer.transports import UNREACHABLE_VI, NoAnswer, PrinterUnavailable, link_for, open_printer

JOB = ticket_bytes(1)


@pytest.fixture
def fp():
    with FakePrinter() as printer:
        yield printer


def net(port: int, **kw):
    return check_printer({"transport": "network", "host": "127.0.0.1", "port": port, "model": "TM-T20II",
                          "timeout_s": 1, **kw})


def unread(sock: socket.socket) -> bytes:
    """What waits in the socket's receive buffer, left there (MSG_PEEK)."""
    return sock.recv(256, socket.MSG_PEEK) if select.select([sock], [], [], 0)[0] else b""


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- network ------------------------------------------------------------------------------

def test_network_printer_opens_only_when_asked_and_gets_the_exact_bytes(fp):
    link = link_for(net(fp.port))                       # python-escpos connects lazily: nothing yet
    assert fp.wait_accepting(), "the fake printer stopped accepting"   # a connection made would be counted now
    assert fp.connections == 0
    link.open()
    assert wait_until(lambda: fp.connections == 1, 2)
    link.write(JOB)
    assert fp.wait_jobs(1) == [JOB]
    link.close()


@pytest.mark.parametrize("setup, state", [
    (lambda fp: None, "ok"),
    (lambda fp: fp.paper_low(), "paper_low"),
    (lambda fp: fp.paper_out(), "paper_out"),
    (lambda fp: fp.open_cover(), "cover_open"),
    (lambda fp: (fp.paper_out(), fp.open_cover()), "cover_open"),   # open the cover to load paper
])
def test_status_over_tcp(fp, setup, state):
    setup(fp)
    link = link_for(net(fp.port)).open()
    try:
        assert st.query(link, 0.5) == state
    finally:
        link.close()
    assert set(fp.queries) <= {1, 2, 4}


def test_a_silent_printer_raises_no_answer(fp):
    fp.silent = True
    link = link_for(net(fp.port)).open()
    t0 = time.monotonic()
    with pytest.raises(NoAnswer):
        st.query(link, 0.2)
    assert time.monotonic() - t0 < 1
    link.close()


def test_a_late_answer_is_not_taken_for_the_next_one(fp):
    fp.open_cover()
    link = link_for(net(fp.port)).open()
    link.escpos._raw(b"\x10\x04\x01")               # asked, never read: "offline" (cover open) is waiting
    assert wait_until(lambda: len(fp.queries) == 1, 2)
    fp.close_cover()
    # The stale answer has reached the kiosk's socket, unread, before the next question is asked.
    late = bytes([epson_status_byte(1, "ok", cover_open=True)])
    assert wait_until(lambda: late in unread(link.escpos.device), 2), "the late answer never came"
    assert st.query(link, 0.5) == "ok"
    link.close()


def test_unreachable_network_printer_names_it_and_what_to_check():
    port = closed_port()
    with pytest.raises(PrinterUnavailable) as err:
        link_for(net(port)).open()
    text = str(err.value)
    assert f"network printer 127.0.0.1:{port} (TM-T20II)" in text
    assert "switched on" in text and "IP address" in text
    assert err.value.message_vi == UNREACHABLE_VI


def test_connection_lost_while_writing_is_printer_unavailable(fp):
    link = link_for(net(fp.port, timeout_s=0.5)).open()
    fp.stall()
    with pytest.raises(PrinterUnavailable, match="connection lost while sending a ticket"):
        link.write(ticket_bytes(2, rows=4000, width=576))
    assert not link.is_open
    fp.resume()


# --- USB, serial, file, CUPS: the printer is not there ----------------------------------------------

def test_missing_usb_printer_names_it_and_what_to_check():
    cfg = check_printer({"transport": "usb", "vendor_id": "0xdead", "product_id": "beef", "model": "POS-5890"})
    with pytest.raises(PrinterUnavailable) as err:
        link_for(cfg).open()
    text = str(err.value)
    assert text.startswith("USB printer dead:beef (POS-5890): ")
    # Without libusb on this machine pyusb cannot even look; with it, the device is not found.
    assert "libusb-1.0-0" in text or ("lsusb" in text and "dead:beef" in text.split("check", 1)[1])


def test_missing_serial_port_names_it_and_what_to_check():
    cfg = check_printer({"transport": "serial", "port": "/dev/ttyUSB99", "baudrate": 115200})
    with pytest.raises(PrinterUnavailable) as err:
        link_for(cfg).open()
    text = str(err.value)
    assert text.startswith("serial printer on /dev/ttyUSB99 at 115200 baud (default): ")
    assert "No such file" in text and "dialout" in text


def test_missing_device_file_is_not_created(tmp_path):
    cfg = check_printer({"transport": "file", "path": str(tmp_path / "lp0")})
    with pytest.raises(PrinterUnavailable) as err:
        link_for(cfg).open()
    assert f"printer device file {tmp_path / 'lp0'}" in str(err.value) and "group lp" in str(err.value)
    assert not (tmp_path / "lp0").exists()


def test_device_file_gets_the_job_and_its_status_is_unknown(tmp_path):
    (tmp_path / "lp0").write_bytes(b"")
    link = link_for(check_printer({"transport": "file", "path": str(tmp_path / "lp0")})).open()
    link.write(JOB)
    assert st.query(link) == st.UNKNOWN             # /dev/usb/lp0 is written, never read
    link.close()
    assert (tmp_path / "lp0").read_bytes() == JOB


@pytest.fixture
def cups(tmp_path, monkeypatch):
    """Stand-ins for CUPS's lpstat and lp on PATH: one raw queue 've-kiosk'; lp stores what it gets."""
    bin_dir, spool_dir = tmp_path / "bin", tmp_path / "cups"
    bin_dir.mkdir()
    spool_dir.mkdir()
    scripts = {
        "lpstat": '#!/bin/sh\ncase "$1" in\n -e) echo ve-kiosk;;\n -v) echo "device for ve-kiosk: usb://X/Y";;\n'
                  ' -d) echo "system default destination: ve-kiosk";;\nesac\n',
        "lp": f'#!/bin/sh\necho "$@" > {spool_dir}/args\n/bin/cat > {spool_dir}/job-$$\n',
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", str(bin_dir))
    return spool_dir


def test_cups_queue_gets_the_job_raw(cups):
    link = link_for(check_printer({"transport": "cups", "queue": "ve-kiosk"})).open()
    link.write(JOB)
    link.close()
    jobs = list(cups.glob("job-*"))
    assert len(jobs) == 1 and jobs[0].read_bytes().startswith(JOB)
    assert "-o raw" in (cups / "args").read_text() and "-d ve-kiosk" in (cups / "args").read_text()


def test_missing_cups_queue_names_it_and_what_to_check(cups):
    with pytest.raises(PrinterUnavailable) as err:
        link_for(check_printer({"transport": "cups", "queue": "nope"})).open()
    assert str(err.value).startswith("CUPS queue 'nope' (default): ") and "lpstat -p" in str(err.value)


def test_cups_not_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PrinterUnavailable, match="CUPS queue 've' .*cups-client"):
        link_for(check_printer({"transport": "cups", "queue": "ve"})).open()


# --- preview, profiles, status bits ---------------------------------------------------------------

def test_preview_printer_behaves_like_a_ready_printer(tmp_path):
    link = link_for(check_printer({"transport": "preview", "folder": str(tmp_path / "p")})).open()
    assert st.query(link) == "ok"
    link.write(JOB, label="A001/1", image_png=b"png")
    assert (tmp_path / "p" / "A001_1.bin").read_bytes() == JOB
    assert (tmp_path / "p" / "A001_1.png").read_bytes() == b"png"


def test_open_printer_gives_python_escpos_objects_with_the_model_profile(tmp_path):
    from escpos.printer import LP, Network, Serial
    assert isinstance(open_printer(net(9100)), Network)
    s = open_printer(check_printer({"transport": "serial", "port": "/dev/ttyS0", "model": "TM-T88V"}))
    assert isinstance(s, Serial) and s.profile.profile_data["media"]["width"]["pixels"] == 512
    clone = open_printer(check_printer({"transport": "cups", "queue": "q", "model": "POS-58"}))
    assert isinstance(clone, LP) and clone.profile.profile_data["media"]["width"]["pixels"] == 384


@pytest.mark.parametrize("answers, state", [
    ((0x12, None, 0x12), "ok"),
    ((0x12, None, 0x1E), "paper_low"),      # near-end sensor: bits 2+3
    ((0x1A, 0x32, 0x72), "paper_out"),      # offline; stopped by paper end (bit 5); end sensor (bits 5+6)
    ((0x1A, 0x16, 0x12), "cover_open"),     # offline; cover open (bit 2)
    ((0x1A, 0x52, 0x12), "offline"),        # offline; an error (bit 6)
    ((0x16, None, 0x12), "ok"),             # drawer pin 3 high (bit 2) is not our business
])
def test_status_bits_follow_the_epson_reference(answers, state):
    assert st.parse(*answers) == state


def test_status_byte_pattern():
    assert all(st.is_status_byte(b) for b in (0x12, 0x1A, 0x1E, 0x72, 0x16, 0x32))
    assert not any(st.is_status_byte(b) for b in (0x00, 0xFF, 0x11, 0x13, 0x92))   # XON, XOFF, bit 7


def test_vietnamese_messages_are_nfc_and_cover_every_state():
    texts = [*st.MESSAGES_VI.values(), UNREACHABLE_VI]
    assert set(st.MESSAGES_VI) == set(st.STATES) | {st.UNKNOWN} == set(st.MESSAGES_EN)
    assert all(t and unicodedata.is_normalized("NFC", t) for t in texts)
    assert "hết giấy" in st.MESSAGES_VI["paper_out"]


def test_cups_refusing_the_job_is_printer_unavailable(cups):
    lp = cups.parent / "bin" / "lp"
    lp.write_text("#!/bin/sh\n/bin/cat > /dev/null\nexit 1\n")   # e.g. the queue is disabled
    link = link_for(check_printer({"transport": "cups", "queue": "ve-kiosk"})).open()
    with pytest.raises(PrinterUnavailable, match="lp refused the job"):
        link.write(JOB)


def test_each_transport_is_one_class_and_status_imports_none_of_them(tmp_path):
    import ast
    from pathlib import Path

    from printer import transports
    cfgs = {"usb": {"vendor_id": 1, "product_id": 2}, "serial": {"port": "/dev/ttyS0"}, "network": {"host": "h"},
            "file": {"path": "/dev/usb/lp0"}, "cups": {"queue": "q"}, "preview": {"folder": str(tmp_path)}}
    assert tuple(cfgs) == tuple(transports.TRANSPORTS)
    for kind, keys in cfgs.items():
        link = link_for(check_printer({"transport": kind, **keys}))
        assert type(link) is transports.TRANSPORTS[kind] and link.KIND == kind
        assert link.name.startswith(link.where(link.cfg)) and link.CHECK
    # The status protocol knows nothing of how bytes travel: no printer.status ↔ printer.transports circle.
    tree = ast.parse(Path(st.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | \
               {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.startswith("printer")}
