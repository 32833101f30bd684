"""`motcua catalog import` against a real hall server and Mosquitto: kiosks get the catalog live and after restarts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import paho.mqtt.client as mqtt

from broker.server import HallServer
from hall.catalog import Catalog, load_catalog
from hall.protocol import SERVER_ID
from motcua_cli.catalog_cmd import FAILED, NOT_RUNNING, PUBLISHED, import_catalog
from motcua_cli.demo_hall import write_demo_hall
from tests.conftest import ROOT, wait_for

CATALOG = ROOT / "examples" / "dang-kang" / "catalog.toml"


class Inbox:
    """Catalog messages a device received (paho's thread) for the test's thread."""

    def __init__(self):
        self.items: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes) -> None:
        if topic.endswith("/catalog"):
            with self.lock:
                self.items.append(payload)

    def versions(self) -> list[str]:
        with self.lock:
            return [Catalog.from_payload(p).version if p else "" for p in self.items]


def answered(client) -> None:
    """Before a negative check on what `client` received: wait until the hall service answers it.

    The broker gives a subscriber the retained message of a topic as it subscribes, before anything
    published later, and passes messages on in the order it got them; paho hands them over in
    order. So a catalog retained, or published before the service answered this request, has
    reached on_message by the time the answer has. (A request its role may not make: refused,
    answered, and nothing changes in the hall.)"""
    reply = client.request("call-next", {"counter": 1}, timeout=5, attempts=1)
    assert reply["ok"] is False, reply


def motcua(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "motcua_cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def hall_toml(tmp_path, cfg):
    """The hall.toml an operator would give: the test hall's id and ports."""
    return write_demo_hall(tmp_path / "hall.toml", hall_id=cfg.id, mqtt_port=cfg.mqtt_port, http_port=cfg.http_port)


def edited_catalog(tmp_path):
    path = tmp_path / "edited.toml"
    path.write_text(CATALOG.read_text(encoding="utf-8").replace("400.000 đồng", "450.000 đồng"), encoding="utf-8")
    return path


def test_import_reaches_subscribed_kiosks_at_once_and_later_ones_too(hall, connect, tmp_path):
    display, kiosk_inbox = Inbox(), Inbox()
    answered(connect("display-1", "display", subscribe=["catalog"], on_message=display))
    assert display.items == [], "nothing publishes a catalog before one is imported"

    res = motcua("catalog", "import", str(CATALOG), "--config", str(hall_toml(tmp_path, hall.cfg)),
                 "--data", str(hall.data_dir))
    assert res.returncode == 0, res.stderr
    assert "published retained on" in res.stdout and "35 procedures in 9 fields" in res.stdout
    want = load_catalog(CATALOG).version
    assert wait_for(lambda: display.versions()) == [want]
    assert (hall.data_dir / "catalog.json").read_bytes() == load_catalog(CATALOG).to_payload()

    # A kiosk switched on later gets the retained catalog as soon as it subscribes.
    connect("kiosk-1", "kiosk", subscribe=["catalog"], on_message=kiosk_inbox)
    assert wait_for(lambda: kiosk_inbox.versions()) == [want]

    # An edit reaches both at once, without restarting anything.
    done = import_catalog(edited_catalog(tmp_path), hall.cfg, hall.data_dir)
    assert done.state == PUBLISHED
    assert wait_for(lambda: display.versions()[1:]) == [done.catalog.version] != [want]
    assert wait_for(lambda: kiosk_inbox.versions()[1:]) == [done.catalog.version]
    assert "450.000 đồng" in Catalog.from_payload(display.items[-1]).procedure(
        "dang-ky-nuoi-con-nuoi-trong-nuoc").fee


def test_a_catalog_that_does_not_fit_the_hall_is_neither_stored_nor_published(hall, connect, tmp_path):
    display = Inbox()
    listener = connect("display-1", "display", subscribe=["catalog"], on_message=display)
    bad = tmp_path / "bad.toml"
    bad.write_text(CATALOG.read_text(encoding="utf-8").replace('service = "dat-dai"', 'service = "nha-dat"'),
                   encoding="utf-8")
    res = motcua("catalog", "import", str(bad), "--config", str(hall_toml(tmp_path, hall.cfg)),
                 "--data", str(hall.data_dir))
    assert res.returncode == 2
    assert f"{bad}:" in res.stderr and "fields[4].service" in res.stderr and "nha-dat" in res.stderr
    answered(listener)
    assert display.items == [] and not (hall.data_dir / "catalog.json").exists()


def test_the_hall_service_republishes_the_stored_catalog_after_a_restart(hall_cfg, clock, tmp_path):
    data = tmp_path / "data"
    server = HallServer(hall_cfg, data, clock=clock).start()
    dev = server.add_device("kiosk-1", "kiosk")
    done = import_catalog(CATALOG, hall_cfg, data)
    assert done.state == PUBLISHED
    server.stop()
    # A broker that lost its retained messages (its persistence file gone): only the service can bring it back.
    (data / "mosquitto" / "mosquitto.db").unlink(missing_ok=True)
    server = HallServer(hall_cfg, data, clock=clock).start()
    try:
        from hall.client import HallClient
        inbox = Inbox()
        kiosk = HallClient(dev, subscribe=["catalog"], on_message=inbox).start(wait=5)
        try:
            assert wait_for(lambda: inbox.versions()) == [done.catalog.version]
        finally:
            kiosk.stop()
    finally:
        server.stop()


def test_the_service_republishes_on_reconnect_even_if_the_retained_message_was_cleared(hall, connect, tmp_path):
    import_catalog(CATALOG, hall.cfg, hall.data_dir)
    clear = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-clear")
    clear.username_pw_set(SERVER_ID, (hall.data_dir / "hall.secret").read_text().strip())
    clear.connect("127.0.0.1", hall.cfg.mqtt_port)
    clear.loop_start()
    clear.publish(hall.service.topics.catalog, b"", qos=1, retain=True).wait_for_publish(5)
    clear.disconnect()
    clear.loop_stop()
    late = Inbox()
    answered(connect("kiosk-2", "kiosk", subscribe=["catalog"], on_message=late))
    assert late.items == [], "the retained catalog was cleared"
    # Mosquitto dies and loses its retained messages; the server's watchdog starts it again, and
    # the service reconnects and republishes the stored catalog.
    (hall.data_dir / "mosquitto" / "mosquitto.db").unlink(missing_ok=True)
    hall.broker.kill()
    assert wait_for(lambda: late.versions(), timeout=15)[-1] == load_catalog(CATALOG).version


def test_import_without_a_running_server_stores_it_for_the_next_start(hall_cfg, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    done = import_catalog(CATALOG, hall_cfg, data)
    assert done.state == NOT_RUNNING and (data / "catalog.json").exists()
    (data / "hall.secret").write_text("wrong-or-old\n")   # a folder whose server is down
    assert import_catalog(CATALOG, hall_cfg, data).state == NOT_RUNNING
    res = motcua("catalog", "import", str(CATALOG), "--config", str(hall_toml(tmp_path, hall_cfg)),
                 "--data", str(data))
    assert res.returncode == 0 and "not published now" in res.stdout and "not running" in res.stdout
    res = motcua("catalog", "import", str(CATALOG), "--config", str(hall_toml(tmp_path, hall_cfg)),
                 "--data", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "does not exist" in res.stderr


def test_an_import_while_the_service_is_stopped_is_published_when_it_starts(hall_cfg, clock, tmp_path):
    data = tmp_path / "data"
    server = HallServer(hall_cfg, data, clock=clock).start()
    dev = server.add_device("kiosk-1", "kiosk")
    server.stop()
    res = motcua("catalog", "import", str(CATALOG), "--config", str(hall_toml(tmp_path, hall_cfg)),
                 "--data", str(data))
    assert res.returncode == 0, res.stderr
    assert "not published now: the hall service is not running" in res.stdout
    assert "it will be published at its next start" in res.stdout
    server = HallServer(hall_cfg, data, clock=clock).start()
    try:
        from hall.client import HallClient
        inbox = Inbox()
        kiosk = HallClient(dev, subscribe=["catalog"], on_message=inbox).start(wait=5)
        try:
            assert wait_for(lambda: inbox.versions()) == [load_catalog(CATALOG).version]
        finally:
            kiosk.stop()
    finally:
        server.stop()


def test_a_bad_catalog_is_refused_and_the_one_published_before_stays(hall, connect, tmp_path, caplog):
    import_catalog(CATALOG, hall.cfg, hall.data_dir)
    good = load_catalog(CATALOG)
    kiosk = Inbox()
    connect("kiosk-1", "kiosk", subscribe=["catalog"], on_message=kiosk)
    assert wait_for(lambda: kiosk.versions()) == [good.version]
    # A catalog.toml with a mistake: refused by the import, nothing written.
    bad = tmp_path / "bad.toml"
    bad.write_text(CATALOG.read_text(encoding="utf-8").replace('fee = "Miễn lệ phí."', 'fee = ""', 1),
                   encoding="utf-8")
    res = motcua("catalog", "import", str(bad), "--config", str(hall_toml(tmp_path, hall.cfg)),
                 "--data", str(hall.data_dir))
    assert res.returncode == 2 and f"{bad}:" in res.stderr and "must not be empty" in res.stderr
    assert (hall.data_dir / "catalog.json").read_bytes() == good.to_payload()
    # A catalog.json spoilt by hand: the service refuses it, says so, and keeps the good one published.
    (hall.data_dir / "catalog.json").write_bytes(b'{"v": 1, "name": "half a file')
    wait_for(lambda: any("refused the catalog file" in r.getMessage() for r in caplog.records
                         if r.name == "motcua.service"))
    refusal = next(r.getMessage() for r in caplog.records if "refused the catalog file" in r.getMessage())
    assert f"version {good.version[:12]} stays published" in refusal
    assert "import the catalog.toml again" in refusal.lower()
    # Mosquitto loses its retained messages: the service brings back the good catalog, not the spoilt file.
    late = Inbox()
    connect("kiosk-2", "kiosk", subscribe=["catalog"], on_message=late)
    assert wait_for(lambda: late.versions()) == [good.version]
    (hall.data_dir / "mosquitto" / "mosquitto.db").unlink(missing_ok=True)
    hall.broker.kill()
    assert wait_for(lambda: late.versions()[1:], timeout=15) == [good.version]
    # Then a good import goes out as always; the kiosk never saw anything but the two good ones.
    edited = import_catalog(edited_catalog(tmp_path), hall.cfg, hall.data_dir)
    assert edited.state == PUBLISHED
    wait_for(lambda: kiosk.versions()[-1:] == [edited.catalog.version])
    assert set(kiosk.versions()) == {good.version, edited.catalog.version}


def test_an_import_beside_a_service_that_does_not_publish_fails_loudly(hall_cfg, tmp_path):
    from broker.datalock import DataLock
    data = tmp_path / "data"
    data.mkdir()
    lock = DataLock(data).acquire()      # a hall server that holds the folder but is stuck
    try:
        done = import_catalog(CATALOG, hall_cfg, data, timeout=0.5)
    finally:
        lock.release()
    assert done.state == FAILED and f"(pid {os.getpid()}) has not published it within 0.5 s" in done.note
    assert (data / "catalog.json").read_bytes() == done.catalog.to_payload()


def test_catalog_check_cli(tmp_path):
    ok = motcua("catalog", "check", str(CATALOG), "--config", str(ROOT / "examples" / "dang-kang" / "hall.toml"))
    assert ok.returncode == 0 and "OK — 35 procedures in 9 fields" in ok.stdout and "Hộ tịch 15" in ok.stdout
    bad = tmp_path / "catalog.toml"
    bad.write_text(CATALOG.read_text(encoding="utf-8").replace('fee = "Miễn lệ phí."', 'fee = ""', 1),
                   encoding="utf-8")
    res = motcua("catalog", "check", str(bad))
    assert res.returncode == 2
    assert f"{bad}:" in res.stderr and "key 'procedures[2].fee': must not be empty" in res.stderr
