"""`motcua printer test` against the fake network printer and the preview printer."""

from __future__ import annotations

from pathlib import Path

import pytest
from escpos_decode import decode
from fakeprinter import FakePrinter
from PIL import Image

from motcua_cli.main import main
from tests.test_printer_layout import ink_box, zbar

DEVICE = """[device]
id = "kiosk-1"
role = "kiosk"
password = "secret"

[hall]
id = "dang-kang"
host = "127.0.0.1"
"""


def device(tmp_path: Path, printer: str | None) -> str:
    path = tmp_path / "kiosk-1.toml"
    path.write_text(DEVICE + (f"\n[printer]\n{printer}\n" if printer is not None else ""), encoding="utf-8")
    return str(path)


@pytest.fixture
def fp():
    with FakePrinter() as printer:
        yield printer


def net(fp: FakePrinter) -> str:
    return f'transport = "network"\nhost = "127.0.0.1"\nport = {fp.port}\nmodel = "TM-T20II"\ntimeout_s = 2'


def test_prints_one_sample_ticket_and_reports_status(tmp_path, fp, capsys):
    assert main(["printer", "test", "--config", device(tmp_path, net(fp))]) == 0
    out = capsys.readouterr().out
    assert f"printer: network printer 127.0.0.1:{fp.port} (TM-T20II)" in out
    assert "status before: ok (ready)" in out and "status after: ok (ready)" in out
    jobs = fp.wait_jobs(1)
    assert len(jobs) == 1 and len(jobs[0]) > 5000    # a whole ticket image, ended by its cut
    assert "sent: test ticket 1023 of UBND xã Dang Kang (image 576 dots, partial cut)" in out
    assert decode(jobs[0]).commands[-1] == ("GS V", 66, 0)


def marked_as_test(image: Image.Image) -> bool:
    """The first and the last inked rows are solid black across the paper: the IN THỬ bands."""
    img = image.convert("1")
    left, top, right, bottom = ink_box(img)
    px = img.load()

    def solid(y: int) -> bool:
        return sum(px[x, y] == 0 for x in range(img.width)) >= 0.9 * (right - left)
    return right - left >= 0.9 * img.width and solid(top) and solid(bottom - 1)


def test_the_test_ticket_cannot_pass_for_a_real_one(tmp_path, capsys):
    """Issue 13: the test print was a real-looking ticket 1023 with a working QR code, and on a POS-58
    (no cutter) the report said 'cut partial'."""
    cfg = device(tmp_path, 'transport = "preview"\nfolder = "out"\nmodel = "POS-58"')
    assert main(["printer", "test", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "(image 384 dots, no cutter: paper fed past the tear bar)" in out and "cut partial" not in out
    job = decode((tmp_path / "out" / "printer-test.bin").read_bytes())
    printed = job.image(384)
    assert printed.tobytes() == Image.open(tmp_path / "out" / "printer-test.png").convert("1").tobytes()
    assert job.commands[-1] == ("ESC d", 4)
    assert marked_as_test(printed)
    assert zbar(printed, tmp_path) == ""            # no QR code at all, let alone a lookup address
    # A real ticket has neither the bands nor a missing QR code.
    from hall.config import load_hall
    from printer.layout import render_ticket
    from printer.ticket import sample_ticket
    from tests.conftest import EXAMPLE
    assert not marked_as_test(render_ticket(sample_ticket(load_hall(EXAMPLE)), 384))


def test_text_mode_test_ticket_is_marked_and_has_no_lookup_qr(tmp_path, fp, capsys):
    assert main(["printer", "test", "--config", device(tmp_path, net(fp) + "\ntext_mode = true")]) == 0
    assert "(text, partial cut)" in capsys.readouterr().out
    job = decode(fp.wait_jobs(1)[0])
    text = b"".join(data for _, data in job.text)
    assert text.count(b"IN TH") == 2 and b"tra-cuu" not in text
    assert not any(c[0] == "GS ( k" for c in job.commands), "no QR code at all on a test"


def test_does_not_print_when_the_printer_is_out_of_paper(tmp_path, fp, capsys):
    fp.paper_out()
    assert main(["printer", "test", "--config", device(tmp_path, net(fp))]) == 1
    captured = capsys.readouterr()
    assert "status before: paper_out (out of paper)" in captured.out
    assert "not printing" in captured.err
    assert fp.only_status_received()   # only status traffic (DLE EOT, GS a) was sent


def test_cover_open_is_said_in_plain_english(tmp_path, fp, capsys):
    fp.open_cover()
    assert main(["printer", "test", "--config", device(tmp_path, net(fp))]) == 1
    assert "not printing: the printer's cover is open" in capsys.readouterr().err


def test_status_only_sends_no_ticket(tmp_path, fp, capsys):
    fp.paper_low()
    assert main(["printer", "test", "--status-only", "--config", device(tmp_path, net(fp))]) == 0
    assert "status before: paper_low" in capsys.readouterr().out
    assert fp.jobs() == [] and fp.only_status_received()


def test_preview_printer_writes_the_ticket_png(tmp_path, capsys):
    cfg = device(tmp_path, 'transport = "preview"\nfolder = "out"\nmodel = "POS-58"')
    assert main(["printer", "test", "--config", cfg]) == 0
    assert (tmp_path / "out" / "printer-test.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "out" / "printer-test.bin").stat().st_size > 1000


def test_unreachable_printer_exits_1_with_what_to_check(tmp_path, capsys):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cfg = device(tmp_path, f'transport = "network"\nhost = "127.0.0.1"\nport = {port}')
    assert main(["printer", "test", "--config", cfg]) == 1
    err = capsys.readouterr().err
    assert f"network printer 127.0.0.1:{port}" in err and "check that the printer is switched on" in err


def test_config_mistakes_exit_2(tmp_path, capsys):
    assert main(["printer", "test", "--config", device(tmp_path, 'transport = "serial"\nport = "/dev/ttyS0"\n'
                                                                  'baudrate = "9600"')]) == 2
    assert "key 'printer.baudrate': must be a whole number" in capsys.readouterr().err
    assert main(["printer", "test", "--config", device(tmp_path, None)]) == 2
    assert "has no [printer] table" in capsys.readouterr().err


def test_a_slow_printer_is_not_called_unknown_after_the_test_ticket(tmp_path, capsys):
    # A 4 KB buffer at 50 mm/s answers the query after the ticket only once most of it is printed.
    with FakePrinter(buffer=4096, speed_mm_s=50) as slow:
        assert main(["printer", "test", "--config", device(tmp_path, net(slow))]) == 0
        assert "status after: ok" in capsys.readouterr().out
        assert len(slow.wait_jobs(1)) == 1


def test_a_printer_that_never_answers_is_called_unknown_after_the_test_ticket(tmp_path, capsys):
    # The other side of the slow printer: silence past the wait is reported, not waited out.
    with FakePrinter(buffer=4096, speed_mm_s=50) as mute:
        mute.silent = True
        assert main(["printer", "test", "--config", device(tmp_path, net(mute))]) == 0
        out = capsys.readouterr().out
        assert "status before: unknown (status unknown (no answer))" in out
        assert "status after: unknown (status unknown (no answer))" in out
        assert len(mute.wait_jobs(1)) == 1
