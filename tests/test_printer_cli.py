"""`motcua printer test` against the fake network printer and the preview printer."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakeprinter import FakePrinter
from motcua_cli.main import main

DEVICE = """[device]
id = "kiosk-1"
role = "kiosk"
password = "secret"

[hall]
id = "cu-kty"
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
    assert "sample ticket" in out


def test_does_not_print_when_the_printer_is_out_of_paper(tmp_path, fp, capsys):
    fp.paper_out()
    assert main(["printer", "test", "--config", device(tmp_path, net(fp))]) == 1
    captured = capsys.readouterr()
    assert "status before: paper_out (out of paper)" in captured.out
    assert "not printing" in captured.err
    assert len(fp.received) == 3 * len(fp.queries)   # only status queries were sent


def test_status_only_sends_no_ticket(tmp_path, fp, capsys):
    fp.paper_low()
    assert main(["printer", "test", "--status-only", "--config", device(tmp_path, net(fp))]) == 0
    assert "status before: paper_low" in capsys.readouterr().out
    assert fp.jobs() == [] and len(fp.received) == 3 * len(fp.queries)


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
