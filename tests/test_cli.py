"""The `motcua` command as an operator uses it: config check, device add/remove, demo."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC

import paho.mqtt.client as mqtt

from hall.client import HallClient
from hall.device import load_device
from tests.conftest import EXAMPLE, ROOT, wait_for
from tests.hallproc import HallProcess


def motcua(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motcua_cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_config_check_says_ok_or_names_file_key_and_problem(tmp_path):
    ok = motcua("config", "check", str(EXAMPLE))
    assert ok.returncode == 0 and "OK" in ok.stdout and "6 services, 4 counters" in ok.stdout
    bad = tmp_path / "hall.toml"
    bad.write_text(EXAMPLE.read_text(encoding="utf-8").replace("counters = [4, 3]", "counters = [4, 9]"),
                   encoding="utf-8")
    res = motcua("config", "check", str(bad))
    assert res.returncode == 2
    assert str(bad) in res.stderr and "services[5].counters" in res.stderr and "counter 9" in res.stderr


def test_device_add_prints_a_working_device_toml_and_remove_locks_it_out(tmp_path):
    hall = HallProcess(tmp_path, "cli-devices")
    hall.start()
    try:
        out = tmp_path / "kiosk-7.toml"
        res = motcua("device", "add", "kiosk-7", "--role", "kiosk", "--config", str(hall.config),
                     "--data", str(hall.data), "--out", str(out))
        assert res.returncode == 0, res.stderr
        dev = load_device(out)
        assert (dev.id, dev.role, dev.hall, dev.port) == ("kiosk-7", "kiosk", "cli-devices", hall.port)
        assert f"MQTT password: {dev.password}" in res.stdout and oct(out.stat().st_mode)[-3:] == "600"
        # The running hall accepts it at once (passwd/acl reloaded with SIGHUP, no restart).
        kiosk = HallClient(dev).start(wait=5)
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["ok"]
        kiosk.stop()

        for args, message in [(("kiosk-7", "--role", "kiosk"), "already exists"),
                              (("counter-9", "--role", "counter", "--counter", "9"), "--counter N"),
                              (("Kiosk 8", "--role", "kiosk"), "must be 1-32 of a-z"),
                              (("hall", "--role", "display"), "must be 1-32 of a-z")]:
            res = motcua("device", "add", *args, "--config", str(hall.config), "--data", str(hall.data))
            assert res.returncode == 2 and message in res.stderr, (args, res.stderr)

        listed = motcua("device", "list", "--data", str(hall.data))
        assert "kiosk-7" in listed.stdout and "kiosk" in listed.stdout
        res = motcua("device", "remove", "kiosk-7", "--config", str(hall.config), "--data", str(hall.data))
        assert res.returncode == 0, res.stderr
        refused = []
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="kiosk-7")
        c.username_pw_set(dev.id, dev.password)
        c.on_connect = lambda cl, u, f, reason, p: refused.append(reason.is_failure)
        c.connect(dev.host, dev.port)
        c.loop_start()
        wait_for(lambda: refused)
        c.loop_stop()
        assert refused == [True]
    finally:
        hall.stop()


def test_unknown_arguments_are_refused_but_test_passes_them_to_pytest():
    res = motcua("serve", "--no-such-option")
    assert res.returncode == 2 and "unrecognized arguments: --no-such-option" in res.stderr
    res = motcua("test", "--collect-only", "-q", "tests/test_words.py")
    assert res.returncode == 0 and "test_say_number" in res.stdout


def test_demo_runs_the_hall_and_shows_and_announces_calls(tmp_path):
    res = motcua("demo", "--duration", "6", "--speed", "4", "--data", str(tmp_path / "demo"), timeout=90)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Công dân lấy số" in out and "MỜI CÔNG DÂN SỐ" in out and "Đã dừng" in out
    assert "«Mời công dân có số thứ tự" in out and "đến quầy số" in out
    assert (tmp_path / "demo" / "server" / "hall.db").exists()
    # Each ticket came out of the kiosks' (preview) printers as a PNG, named by ticket id.
    pngs = sorted(p.name for p in (tmp_path / "demo" / "tickets").glob("kiosk-*/*.png"))
    first_run = [line for line in out.splitlines() if "Công dân lấy số" in line]
    assert len(pngs) == len(first_run) and all("phiếu in ra" in line for line in first_run)
    # The hall's windows ran: the kiosk window and the wall display connected to the hall.
    import sqlite3
    db = sqlite3.connect(tmp_path / "demo" / "server" / "hall.db")
    seen = {d for (d,) in db.execute("SELECT id FROM devices WHERE status IS NOT NULL")}
    assert {"kiosk-3", "display-2", "pad-1"} <= seen
    # The clerks worked through the web pages: every call is a clerk's session, none a counter device's.
    callers = {d for (d,) in db.execute("SELECT DISTINCT device FROM events WHERE kind = 'called'")}
    assert callers and all(d.startswith("clerk:") for d in callers), callers
    assert "Trang cán bộ (điện thoại)" in out and "đăng nhập trên trang cán bộ" in out
    assert "Niêm yết 35 thủ tục" in out
    # Run again on the same data: the devices and the day's numbers carry on, nothing restarts at 1.
    again = motcua("demo", "--duration", "3", "--speed", "4", "--data", str(tmp_path / "demo"), timeout=90)
    assert again.returncode == 0, again.stderr
    issued = [line.split("lấy số ")[1].split()[0] for line in (out + again.stdout).splitlines()
              if "Công dân lấy số" in line]
    assert len(issued) == len(set(issued)), "no number issued twice across two runs"


def test_demo_console_prints_the_halls_time_not_the_machines(capsys):
    # Issue 13 item 4: the console said machine time (UTC here) while tickets show hall time (UTC+7).
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from motcua_cli.demo import Console
    hall_zone = ZoneInfo("Asia/Ho_Chi_Minh")
    before = datetime.now(hall_zone).replace(microsecond=0)
    Console(hall_zone).say("Kiosk 1", "Công dân lấy số 1001")
    after = datetime.now(hall_zone)
    stamp = capsys.readouterr().out[1:9]
    shown = datetime.combine(before.date(), datetime.strptime(stamp, "%H:%M:%S").time(), hall_zone)
    assert before <= shown <= after or stamp == f"{after:%H:%M:%S}"     # (a second may tick over)
    assert stamp != f"{datetime.now(UTC):%H:%M:%S}"
