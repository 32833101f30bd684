"""A hall server in its own process, for tests that kill it (kill -9) or restart its broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from broker.server import add_devices
from hall.config import load_hall
from hall.device import DeviceConfig
from motcua_cli.demo_hall import write_demo_hall
from tests.conftest import ROOT, free_port, wait_for


class HallProcess:
    """`motcua serve` on an always-open copy of the example hall, with devices provisioned first."""

    def __init__(self, tmp: Path, hall_id: str, tickets_per_minute: int = 100000):
        self.tmp = tmp
        self.data = tmp / "data"
        self.port = free_port()
        self.config = write_demo_hall(tmp / "hall.toml", hall_id=hall_id, mqtt_port=self.port,
                                      http_port=free_port(), tickets_per_minute=tickets_per_minute)
        self.cfg = load_hall(self.config)
        self.proc: subprocess.Popen | None = None
        self.log = open(tmp / "serve.log", "ab")

    def provision(self, devices: list[tuple[str, str, int | None]]) -> dict[str, DeviceConfig]:
        return add_devices(self.cfg, self.data, devices)

    def _served(self) -> int:
        return (self.tmp / "serve.log").read_bytes().count(b"serving;")

    def start(self) -> None:
        before = self._served()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "motcua_cli.main", "serve", "--config", str(self.config),
             "--data", str(self.data)], cwd=ROOT, stdout=self.log, stderr=self.log)
        wait_for(lambda: self._served() > before or self.proc.poll() is not None, timeout=15)
        if self.proc.poll() is not None:
            raise RuntimeError((self.tmp / "serve.log").read_text(errors="replace")[-2000:])

    def kill(self) -> None:
        """SIGKILL, as a power cut or an OOM kill would: no cleanup at all."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.write(b"--- killed ---\n")
        self.log.flush()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stop_broker()
        self.log.close()

    def broker_pid(self) -> int | None:
        try:
            pid = int((self.data / "mosquitto" / "mosquitto.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def stop_broker(self) -> None:
        pid = self.broker_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
