"""Every unit in systemd/ lints clean and scores OK, and each device app speaks sd_notify as its unit runs it.

The apps are started from their unit's own ExecStart= and environment (paths moved to this
checkout), with a NOTIFY_SOCKET this test binds, as systemd would: READY=1 comes, then WATCHDOG=1
at half of WATCHDOG_USEC; and when the UI thread hangs, the pings stop (issue 12). The one thing
changed from the unit is SDL_VIDEODRIVER: this machine has no DRM device, so SDL draws offscreen.

The hang is real and on the UI thread alone: a sitecustomize.py of the test's (on PYTHONPATH, so
the product carries no test hook) makes SIGUSR1's handler block forever; Python runs signal
handlers on the main thread, which is Kivy's. SIGSTOP would stop every thread and prove nothing
about which one the pings come from.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from hall.device import device_toml
from tests.conftest import ROOT, wait_for
from tests.hallproc import HallProcess
from ui.probe_client import headless_env

SYSTEMD = ROOT / "systemd"
UNITS = sorted(SYSTEMD.glob("*.service"))
DEVICE_UNITS = {"motcua-kiosk.service": ("kiosk-1", "kiosk", None),
                "motcua-display.service": ("display-1", "display", None),
                "motcua-counter-pad.service": ("pad-1", "counter", 1)}
MAX_EXPOSURE = 4.0
WATCHDOG_USEC = 600_000        # pings every 0.3 s
WINDOW_S = 3.0                 # ten ping intervals

needs_systemd = pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze: Debian's systemd")

HANG_SITE = '''
import os, signal, threading

def _hang(signum, frame):
    # Runs on the main thread (Python's rule for signal handlers): Kivy's UI thread.
    with open(os.environ["MOTCUA_TEST_HANG_MARK"], "w") as f:
        f.write(threading.current_thread().name)
    threading.Event().wait()

signal.signal(signal.SIGUSR1, _hang)
'''


def local_unit(path: Path, tmp_path: Path) -> Path:
    """The unit with /opt/motcua and its EnvironmentFile moved to this checkout (verify checks they exist)."""
    text = path.read_text().replace("/opt/motcua", str(ROOT))
    text = re.sub(r"EnvironmentFile=/etc/default/(motcua-[a-z-]+)", lambda m: f"EnvironmentFile={SYSTEMD / m[1]}.env",
                  text)
    out = tmp_path / path.name
    out.write_text(text)
    return out


def test_every_unit_is_tested():
    assert {u.name for u in UNITS} == {"motcua-hall.service", *DEVICE_UNITS}
    for unit in UNITS:
        assert (SYSTEMD / unit.name.replace(".service", ".env")).is_file(), unit.name


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_verifies_without_warnings(unit, tmp_path):
    assert (ROOT / ".venv" / "bin" / "motcua").exists()
    res = subprocess.run(["systemd-analyze", "verify", str(local_unit(unit, tmp_path))], capture_output=True,
                         text=True)
    assert (res.stdout + res.stderr).strip() == ""


@needs_systemd
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_unit_exposure_is_ok(unit, tmp_path):
    assert exposure(local_unit(unit, tmp_path)) <= MAX_EXPOSURE


def test_the_exposure_check_can_fail(tmp_path):
    bare = tmp_path / "bare.service"
    bare.write_text(f"[Service]\nExecStart={ROOT / '.venv' / 'bin' / 'motcua'} --help\n")
    assert exposure(bare) > MAX_EXPOSURE


def exposure(path: Path) -> float:
    # --offline=true reads the file itself (a path, not a unit name): no systemd running is needed.
    res = subprocess.run(["systemd-analyze", "security", "--offline=true", str(path)], capture_output=True,
                         text=True)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", res.stdout + res.stderr)
    assert m, res.stdout + res.stderr
    return float(m[1])


# --- the device apps as their units start them --------------------------------------------------

def unit_command(unit: Path, settings: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """ExecStart= as argv with ${VAR} from the env file (settings overriding), and the unit's Environment=."""
    text = unit.read_text().replace("/opt/motcua", str(ROOT))
    env_file = SYSTEMD / unit.name.replace(".service", ".env")
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                  if line and not line.startswith("#"))
    values.update(settings)
    env: dict[str, str] = {}
    for line in re.findall(r"^Environment=(.*)$", text, re.M):
        env.update(item.split("=", 1) for item in shlex.split(line))
    exec_start = re.search(r"^ExecStart=(.*)$", text, re.M)[1]
    argv = [re.sub(r"\$\{(\w+)\}", lambda m: values[m[1]], arg) for arg in shlex.split(exec_start)]
    return argv, env


class Notifications:
    """The datagram socket systemd would listen on: what the app tells it, as it comes."""

    def __init__(self, path: Path):
        self.path = path
        self.seen: list[str] = []       # every datagram received, in order
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))

    def next(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            msg = self.sock.recv(4096).decode()
        except TimeoutError:
            return None
        self.seen.append(msg)
        return msg

    def until(self, pred, timeout: float) -> list[str]:
        got, deadline = [], time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.next(left)
            if msg is not None:
                got.append(msg)
                if pred(msg):
                    return got
        raise AssertionError(f"not received in {timeout} s; got {got}")

    def pings_in(self, seconds: float) -> int:
        """WATCHDOG=1 datagrams received in the next `seconds` (each recv waits only for what is left)."""
        n, deadline = 0, time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            msg = self.next(left)
            n += msg is not None and "WATCHDOG=1" in msg.split("\n")
        return n

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def hall(tmp_path):
    proc = HallProcess(tmp_path, "units")
    proc.devices = proc.provision(list(DEVICE_UNITS.values()))
    proc.start()
    yield proc
    proc.stop()


def device_files(hall: HallProcess, unit_name: str, folder: Path) -> Path:
    dev_id, role, _ = DEVICE_UNITS[unit_name]
    text = device_toml(hall.devices[dev_id])
    if role == "display":     # no sound card here: the calls go to files, the speech cache to tmp
        (folder / "played").mkdir()
        text += f'\n[display]\naudio = "file"\naudio_dir = "{folder / "played"}"\ncache = "{folder / "speech"}"\n'
    path = folder / "device.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("unit_name", list(DEVICE_UNITS))
def test_app_is_ready_pings_and_stops_pinging_when_its_ui_thread_hangs(unit_name, hall, tmp_path):
    role = DEVICE_UNITS[unit_name][1]
    folder = tmp_path / unit_name.split(".")[0]
    folder.mkdir()
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(HANG_SITE)
    argv, unit_env = unit_command(SYSTEMD / unit_name, {"MOTCUA_DEVICE": str(device_files(hall, unit_name, folder)),
                                                        "MOTCUA_DATA": str(folder / "data")})
    assert unit_env.pop("SDL_VIDEODRIVER") == "kmsdrm"      # the Pi's; here there is no /dev/dri
    notes = Notifications(tmp_path / "notify.sock")
    mark = folder / "hung"
    env = {**headless_env(folder / "kivy"), **unit_env, "SDL_VIDEODRIVER": "offscreen",
           "NOTIFY_SOCKET": str(notes.path), "WATCHDOG_USEC": str(WATCHDOG_USEC),
           "PYTHONPATH": str(site), "MOTCUA_TEST_HANG_MARK": str(mark)}
    log = open(folder / "app.log", "wb")
    proc = subprocess.Popen(argv, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        first = notes.until(lambda m: "READY=1" in m.split("\n"), timeout=60)
        assert any(m.startswith("READY=1\nSTATUS=on screen") for m in first), first
        before = notes.pings_in(WINDOW_S)
        assert before >= WINDOW_S / (WATCHDOG_USEC / 2e6) / 2, f"{before} pings in {WINDOW_S} s"
        if role in ("display", "counter"):       # they tell their link to the hall: `systemctl status`
            assert any(re.search(r"STATUS=on screen \(\d+x\d+\); connected to the hall server", m)
                       for m in notes.seen), notes.seen
        proc.send_signal(signal.SIGUSR1)
        assert wait_for(lambda: mark.exists() and mark.read_text(), timeout=10) == "MainThread"
        notes.pings_in(WATCHDOG_USEC / 1e6)      # one already on its way
        after = notes.pings_in(WINDOW_S)
        assert proc.poll() is None and _state(proc.pid) != "T"      # alive and not stopped: only hung
        assert (before, after) == (before, 0)
    except BaseException:
        print((folder / "app.log").read_text(errors="replace")[-3000:])
        raise
    finally:
        proc.kill()     # SIGTERM would wait on the hung UI thread (the display's and the pad's handler)
        proc.wait()
        log.close()
        notes.close()


@pytest.mark.parametrize("unit_name", list(DEVICE_UNITS))
def test_app_stops_in_order_on_sigterm(unit_name, hall, tmp_path):
    # What `systemctl stop` sends: the app closes its window itself (says STOPPING, exits 0) well
    # within TimeoutStopSec; without a handler Python dies of the signal and says nothing.
    folder = tmp_path / unit_name.split(".")[0]
    folder.mkdir()
    argv, unit_env = unit_command(SYSTEMD / unit_name, {"MOTCUA_DEVICE": str(device_files(hall, unit_name, folder)),
                                                        "MOTCUA_DATA": str(folder / "data")})
    unit_env.pop("SDL_VIDEODRIVER")
    notes = Notifications(tmp_path / "notify.sock")
    env = {**headless_env(folder / "kivy"), **unit_env, "SDL_VIDEODRIVER": "offscreen",
           "NOTIFY_SOCKET": str(notes.path), "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    log = open(folder / "app.log", "wb")
    proc = subprocess.Popen(argv, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        notes.until(lambda m: "READY=1" in m.split("\n"), timeout=60)
        proc.send_signal(signal.SIGTERM)
        notes.until(lambda m: "STOPPING=1" in m.split("\n"), timeout=10)
        assert proc.wait(10) == 0
    except BaseException:
        print((folder / "app.log").read_text(errors="replace")[-3000:])
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        notes.close()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


# --- ui.watchdog without Kivy ------------------------------------------------------------------

def test_nothing_is_sent_without_systemd(monkeypatch):
    from ui import watchdog
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert watchdog.notify("READY=1") is False
    assert watchdog.attach(object()) is None     # not even bound to the app


def test_ping_interval_is_half_the_watchdog_and_only_for_this_process(monkeypatch):
    from ui.watchdog import ping_interval
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.setenv("WATCHDOG_USEC", "15000000")
    assert ping_interval() == 7.5
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert ping_interval() == 7.5
    monkeypatch.setenv("WATCHDOG_PID", "1")           # the watchdog is some other process's
    assert ping_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "0")
    monkeypatch.delenv("WATCHDOG_PID")
    assert ping_interval() is None


def test_notify_reaches_an_abstract_socket(monkeypatch):
    # systemd may hand out "@name" (Linux's abstract namespace) as NOTIFY_SOCKET.
    from ui.watchdog import notify
    name = f"motcua-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("WATCHDOG=1")
        assert sock.recv(100) == b"WATCHDOG=1"
