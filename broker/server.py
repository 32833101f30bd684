"""The hall server: its Mosquitto, its ledger and the hall service, started and watched together.

    server = HallServer(cfg, Path("/var/lib/motcua")).start()
    dev = server.add_device("kiosk-1", "kiosk")      # DeviceConfig with a fresh password
    server.stop()
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from broker.alarms import backup_check
from broker.backup_schedule import BackupSchedule
from broker.catalog_file import CATALOG_FILE
from broker.complaints import Complaints
from broker.datalock import DataLock
from broker.ledger import LOW_SPACE, Ledger, free_bytes, is_disk_full
from broker.model import Device
from broker.mosquitto import Mosquitto, hash_password, new_password
from broker.page_code import hall_key
from broker.service import HallService
from hall.config import ID_PATTERN, HallConfig
from hall.device import DeviceConfig
from hall.protocol import ROLES, SERVER_ID
from hall.runtime import software_version

if TYPE_CHECKING:
    from broker.web.app import WebServer

log = logging.getLogger("motcua.server")
VERSION = software_version() or "0.1.0"


class DiskFull(RuntimeError):
    """The data folder's disk is full: the hall server cannot open its ledger until there is space."""


class ProvisionError(ValueError):
    """A device cannot be added as asked; the message says why."""


def server_secret(data_dir: Path) -> str:
    """The hall service's own MQTT password, made once and kept in the data folder."""
    path = data_dir / "hall.secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_password())
    return path.read_text().strip()


def add_device(cfg: HallConfig, data_dir: Path, ledger: Ledger, device_id: str, role: str,
               counter: int | None = None, host: str | None = None) -> DeviceConfig:
    """Register a device, regenerate Mosquitto's passwd/ACL, reload a running Mosquitto."""
    import re
    if not re.fullmatch(ID_PATTERN, device_id) or device_id == SERVER_ID:
        raise ProvisionError(f"device id {device_id!r} must be 1-32 of a-z, 0-9, '-' and not '{SERVER_ID}'")
    if role not in ROLES:
        raise ProvisionError(f"role must be one of {', '.join(ROLES)}")
    if role == "counter":
        if counter is None or cfg.counter(counter) is None:
            raise ProvisionError(f"a counter device needs --counter N with N one of "
                                 f"{', '.join(str(c.id) for c in cfg.counters)}")
    elif counter is not None:
        raise ProvisionError("--counter is only for counter devices")
    if ledger.device(device_id) is not None:
        raise ProvisionError(f"device {device_id!r} already exists")
    password = new_password()
    ledger.add_device(Device(device_id, role, counter), hash_password(password), time.time())
    _reload_registry(cfg, data_dir, ledger)
    host = host or cfg.local_mqtt_host
    return DeviceConfig(device_id, role, password, counter, cfg.id, host, cfg.mqtt_port)


def add_devices(cfg: HallConfig, data_dir: Path, devices: list[tuple[str, str, int | None]]
                ) -> dict[str, DeviceConfig]:
    """Provision several devices (id, role, counter) on their own ledger connection: before `serve`
    starts, or beside a running one, as `motcua device add` does."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(data_dir / "hall.db")
    try:
        return {d: add_device(cfg, data_dir, ledger, d, role, counter) for d, role, counter in devices}
    finally:
        ledger.close()


def remove_device(cfg: HallConfig, data_dir: Path, ledger: Ledger, device_id: str) -> bool:
    """Unregister a device; Mosquitto forgets its password at once."""
    if not ledger.remove_device(device_id):
        return False
    _reload_registry(cfg, data_dir, ledger)
    return True


def _reload_registry(cfg: HallConfig, data_dir: Path, ledger: Ledger) -> None:
    # Only passwd and acl: mosquitto.conf (ports) belongs to `serve`, which may override them.
    # Two `device add` at once: each reads the registry and writes the files under one lock, so the
    # last to write has read every device committed before it (else a device could miss the files).
    broker = Mosquitto(data_dir / "mosquitto", cfg)
    broker.dir.mkdir(parents=True, exist_ok=True)
    with open(broker.dir / "registry.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        broker.write(ledger.devices(), server_secret(data_dir), conf=False)
        broker.reload_running()


class HallServer:
    def __init__(self, cfg: HallConfig, data_dir: str | Path, clock=time.time):
        self.cfg = cfg
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.ledger: Ledger | None = None
        self.broker = Mosquitto(self.data_dir / "mosquitto", cfg)
        self.lock = DataLock(self.data_dir)
        self.service: HallService | None = None
        self.web: WebServer | None = None   # the clerk's and the ticket's pages
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_broker, name="broker-watch", daemon=True)
        self._backups: threading.Thread | None = None   # the nightly backup (broker/backup_schedule.py)

    def start(self) -> HallServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()   # before anything is written: a second server touches nothing
        try:
            return self._start()
        except BaseException as exc:
            self.stop()
            if isinstance(exc, Exception) and (is_disk_full(exc) or free_bytes(self.data_dir) < LOW_SPACE):
                raise DiskFull(f"the disk of {self.data_dir} is full ({free_bytes(self.data_dir) // 1024} KB "
                               f"free): the hall server cannot open its ledger ({exc})") from exc
            raise

    def _start(self) -> HallServer:
        self.ledger = Ledger(self.data_dir / "hall.db")
        secret = server_secret(self.data_dir)
        changed = self.broker.write(self.ledger.devices(), secret)
        self.broker.start(conf_changed=changed)
        key = hall_key(secret)
        self.service = HallService(self.cfg, self.ledger, "127.0.0.1", self.cfg.mqtt_port, secret,
                                   clock=self.clock, version=VERSION,
                                   catalog_path=self.data_dir / CATALOG_FILE, page_key=key,
                                   alarm_checks=(backup_check(self.cfg.zone),)).start()
        if not self.service.connected.wait(10):
            raise RuntimeError("the hall service could not connect to its Mosquitto")
        # Imported here: `motcua device add` and the other commands on a hall server need no web stack.
        from broker.web.app import WebServer
        self.web = WebServer(self.service, self.data_dir / "staff.db", self.cfg, key, VERSION).start()
        self._watch.start()
        # Its own thread, not the hall worker's: a backup takes seconds, with its own SQLite connections.
        schedule = BackupSchedule(self.data_dir, self.cfg, folder=self.cfg.backup_folder or None,
                                  hour=self.cfg.backup_hour)
        self._backups = threading.Thread(target=schedule.loop, args=(self._stop, self.clock), name="backup",
                                         daemon=True)
        self._backups.start()
        return self

    def add_device(self, device_id: str, role: str, counter: int | None = None) -> DeviceConfig:
        # Its own connection, like `motcua device add` from another process: the service's
        # connection belongs to the service's worker thread and its transactions.
        return add_devices(self.cfg, self.data_dir, [(device_id, role, counter)])[device_id]

    def healthy(self) -> bool:
        """True while the hall service's worker runs its loop (for systemd's watchdog)."""
        return self.service is not None and self.service.healthy()

    def _watch_broker(self) -> None:
        # If Mosquitto dies, start it again; clients (the service too) reconnect by themselves.
        # While it cannot start (port taken, disk full) say so once a minute, not twice a second.
        complaints = Complaints(log)
        while not self._stop.wait(0.5):
            if not self.broker.alive():
                try:
                    self.broker.start(conf_changed=True)
                    log.warning("mosquitto was gone; started it again")
                    complaints.clear("mosquitto_down")
                except Exception as exc:
                    complaints.say("mosquitto_down", f"mosquitto is gone and cannot start again: {exc}")

    def stop_watchdog(self) -> None:
        """Stop restarting a Mosquitto that dies (before stopping it, or to keep it down in a test)."""
        self._stop.set()
        if self._watch.is_alive():
            # Wait it out: a restart it has begun must finish before we stop that Mosquitto,
            # or the new one would outlive us.
            self._watch.join(15)

    def stop(self, keep_broker: bool = False) -> None:
        self.stop_watchdog()
        if self._backups is not None:
            self._backups.join(30)   # a backup under way finishes first
            self._backups = None
        if self.web is not None:
            self.web.stop()
            self.web = None
        if self.service:
            self.service.stop()
        if not keep_broker:
            self.broker.stop()
        if self.ledger:
            self.ledger.close()
            self.ledger = None
        self.lock.release()
