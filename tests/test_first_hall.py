"""What a first real hall hit (issue 8): a broker that is not ours, bad ports, a full disk,
a new user's way in. Each test names its item."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from broker.mosquitto import BrokerPortBusy, mosquitto_binary
from broker.server import DiskFull, HallServer
from hall.client import HallClient
from hall.config import load_hall
from hall.protocol import Status, Topics
from hall.tomlcheck import ConfigError
from motcua_cli.demo_hall import write_demo_hall
from tests.conftest import EXAMPLE, ROOT, free_port, read_db, wait_for
from tests.disks import fill, mount_tmpfs, umount


def motcua(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motcua_cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


# --- item 8: the broker is ours, or we don't start -------------------------------------------

@contextmanager
def foreign_mosquitto(tmp_path: Path, port: int):
    """An anonymous Mosquitto on the hall's port, as Debian's own service would be."""
    conf = tmp_path / "foreign.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n" + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    seen: list[str] = []
    spy = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="spy")
    spy.on_connect = lambda c, u, f, r, p: c.subscribe("#", 1)
    spy.on_message = lambda c, u, msg: seen.append(msg.topic)
    try:
        wait_for(lambda: spy.connect("127.0.0.1", port) == 0 if _listening(port) else False, timeout=5)
        spy.loop_start()
        yield proc, seen
    finally:
        spy.loop_stop()
        proc.terminate()
        proc.wait(5)


def _listening(port: int) -> bool:
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def test_serve_refuses_a_port_held_by_another_broker_and_publishes_nothing_there(hall_cfg, tmp_path):
    with foreign_mosquitto(tmp_path, hall_cfg.mqtt_port) as (proc, seen):
        with pytest.raises(BrokerPortBusy) as refused:
            HallServer(hall_cfg, tmp_path / "data").start()
        message = str(refused.value)
        assert f"mosquitto (pid {proc.pid})" in message and "systemctl disable --now mosquitto" in message
        # The positive signal first: the spy does hear what is published there ...
        probe = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="probe")
        probe.connect("127.0.0.1", hall_cfg.mqtt_port)
        probe.loop_start()
        probe.publish("probe/after", b"1", qos=1).wait_for_publish(5)
        wait_for(lambda: "probe/after" in seen)
        probe.loop_stop()
        # ... and nothing of the hall was ever published on the foreign broker.
        assert [t for t in seen if t.startswith("motcua/")] == []


def test_serve_command_says_who_holds_the_port_without_a_traceback(tmp_path):
    port = free_port()
    config = write_demo_hall(tmp_path / "hall.toml", hall_id="port-taken", mqtt_port=port, http_port=free_port())
    with foreign_mosquitto(tmp_path, port) as (proc, _seen):
        res = motcua("serve", "--config", str(config), "--data", str(tmp_path / "data"))
    assert res.returncode == 1
    assert f"port {port} is already in use by mosquitto (pid {proc.pid})" in res.stderr
    assert "Traceback" not in res.stderr


# --- item 9: ports are checked up front ---------------------------------------------------------

@pytest.mark.parametrize("bad", ["0", "99999", "-1", "abc"])
def test_bad_port_is_refused_before_anything_starts(bad, tmp_path):
    res = motcua("serve", "--mqtt-port", bad, "--data", str(tmp_path / "data"))
    assert res.returncode == 2 and "--mqtt-port" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "data").exists(), "nothing was started or written"


# --- item 14: a full disk ------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs of our own, to fill to the last byte."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root (CI runs as root)")
    mnt = mount_tmpfs(tmp_path / "disk", "3m")
    try:
        yield mnt
    finally:
        umount(mnt)


def test_full_disk_says_so_logs_once_and_recovers_by_itself(hall_cfg, small_disk, clock, caplog):
    server = HallServer(hall_cfg, small_disk / "data", clock=clock).start()
    statuses: list[Status] = []   # the hall server's retained status, as a dashboard hears it
    server_status = Topics(hall_cfg.id).server_status

    def heard(topic: str, payload: bytes) -> None:   # paho's thread
        if topic == server_status:
            statuses.append(Status.from_payload(payload))

    kiosk = HallClient(server.add_device("kiosk-1", "kiosk"), subscribe=["server_status"],
                       on_message=heard).start(wait=5)
    alarms = lambda: [a.code for a in statuses[-1].alarms] if statuses else None  # noqa: E731
    try:
        assert kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"] == "1001"
        # 3 MB is "almost full" for a hall (under 100 MB): said from the start.
        wait_for(lambda: alarms() == ["disk_low"], timeout=5)
        filler = fill(small_disk)
        caplog.set_level(logging.INFO, logger="motcua")
        # SQLite writes on into WAL pages it already has (after a checkpoint it reuses them): a few
        # numbers may still be issued, and stored, before the ledger needs a block the disk lacks.
        issued = ["1001"]
        for _ in range(500):
            r = kiosk.request("take-ticket", {"service": "ho-tich"})
            if not r["ok"]:
                break
            issued.append(r["data"]["ticket"])
        refusals = [r] + [kiosk.request("take-ticket", {"service": "ho-tich"}) for _ in range(4)]
        assert all(r["error"] == {"code": "disk_full", "message": "Hệ thống tạm ngưng cấp số, vui lòng báo cán bộ."}
                   for r in refusals)
        full = [r for r in caplog.records if "disk is full" in r.getMessage()]
        assert len(full) == 1, "said once a minute, not once per request"
        assert not [r for r in caplog.records if r.exc_info], "no traceback"
        # The alarm is in the retained status at once (the first refused write raised it).
        wait_for(lambda: alarms() == ["disk_full"], timeout=5)
        assert "đầy" in statuses[-1].alarms[0].message
        filler.unlink()
        # Space is back: the same service issues the next number, none lost, none doubled.
        issued.append(kiosk.request("take-ticket", {"service": "ho-tich"})["data"]["ticket"])
        assert issued == [str(1001 + i) for i in range(len(issued))]
        assert read_db(server).execute("SELECT label FROM tickets ORDER BY seq").fetchall() == [(n,) for n in issued]
        wait_for(lambda: alarms() == ["disk_low"], timeout=5)   # full is over, as soon as it stores again
    finally:
        kiosk.stop()
        server.stop()


def test_serve_on_a_full_disk_waits_for_space_then_serves(hall_cfg, small_disk, tmp_path):
    data = small_disk / "data"
    HallServer(hall_cfg, data).start().stop()   # an existing hall
    files = {p: p.stat().st_mtime_ns for p in (data / "mosquitto").glob("*") if p.name in ("passwd", "acl")}
    config = write_demo_hall(tmp_path / "hall.toml", hall_id=hall_cfg.id, mqtt_port=hall_cfg.mqtt_port,
                             http_port=free_port())
    filler = fill(small_disk)
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "motcua_cli.main", "serve", "--config", str(config),
                             "--data", str(data)], cwd=ROOT, stdout=log, stderr=log, text=True)
    try:
        wait_for(lambda: "waiting for space" in Path(log.name).read_text(), timeout=20)
        assert proc.poll() is None, "no crash loop: it waits"
        filler.unlink()
        wait_for(lambda: "serving;" in Path(log.name).read_text(), timeout=20)
        text = Path(log.name).read_text()
        assert text.count("waiting for space") == 1 and "Traceback" not in text
        assert {p: p.stat().st_mtime_ns for p in files} == files, "unchanged files were not rewritten"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_disk_full_raised_when_the_ledger_cannot_open(hall_cfg, small_disk):
    data = small_disk / "data"
    HallServer(hall_cfg, data).start().stop()
    fill(small_disk)
    with pytest.raises(DiskFull):
        HallServer(hall_cfg, data).start()


# --- items 15, 16: a new user's way in --------------------------------------------------------

def test_device_commands_refuse_a_folder_with_no_hall(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    for args in (["device", "add", "kiosk-1", "--role", "kiosk", "--data", str(empty)],
                 ["device", "list", "--data", str(empty)],
                 ["device", "list", "--data", str(tmp_path / "missing")],
                 ["device", "remove", "kiosk-1", "--data", str(empty)]):
        res = motcua(*args)
        assert res.returncode == 1, args
        assert "no hall server data in" in res.stderr and "Traceback" not in res.stderr
    assert list(empty.iterdir()) == [], "no second hall was created"
    assert not (tmp_path / "missing").exists()


def test_device_commands_default_to_the_standard_data_folder():
    from motcua_cli.main import parser
    from motcua_cli.paths import DATA_DIR
    for argv in (["device", "add", "k", "--role", "kiosk"], ["device", "list"], ["device", "remove", "k"],
                 ["serve"], ["catalog", "import", "c.toml", "--config", "h.toml"]):
        assert parser().parse_args(argv).data == DATA_DIR == "/var/lib/motcua"


def test_config_typo_names_the_unknown_key_and_duplicates_name_the_id(tmp_path):
    text = EXAMPLE.read_text()
    typo = tmp_path / "typo.toml"
    typo.write_text(text.replace("[hours]", "[hous]", 1))
    with pytest.raises(ConfigError) as err:
        load_hall(typo)
    assert "key 'hours': is required but missing" in str(err.value) and "'hous'" in str(err.value)
    twice = tmp_path / "twice.toml"
    twice.write_text(text.replace('id = "chung-thuc"', 'id = "ho-tich"', 1))
    with pytest.raises(ConfigError) as err:
        load_hall(twice)
    assert "two services have the same id 'ho-tich'" in str(err.value)


# --- item 18: transfer to the sender's own counter ---------------------------------------------

def test_transfer_to_own_counter_is_refused(hall, connect):
    kiosk = connect("kiosk-1", "kiosk")
    counter = connect("counter-1", "counter", 1)
    kiosk.request("take-ticket", {"service": "ho-tich"})
    counter.request("call-next", {"counter": 1})
    reply = counter.request("transfer", {"counter": 1, "to_counter": 1})
    assert reply["error"]["code"] == "bad_request" and "quầy khác" in reply["error"]["message"]
    assert read_db(hall).execute("SELECT state FROM tickets").fetchone() == ("called",)

