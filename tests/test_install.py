"""The system installer, for real: `./motcua install --role …` in a booted Debian bookworm container
(tests/container.py), then again (nothing changes), then `./motcua uninstall` (no unit left).

Slow (a container, apt and pip inside): run by `./motcua test install`, not by `./motcua test`.
"""

from __future__ import annotations

import os
import time

import pytest

from motcua_cli.paths import ROOT
from tests.container import INSTALL_MARKS, Container

pytestmark = INSTALL_MARKS


# What a second run must leave exactly as it was (content and all), and where the running service
# writes its own data (compared by names, modes and owners only).
FIXED = ["/etc", "/opt", "/usr", "/var/lib/dpkg", "/boot"]
DATA = ["/var/lib/motcua", "/var/lib/motcua-kiosk", "/var/lib/motcua-display", "/var/lib/motcua-counter-pad"]
KIOSK_DEVICE = """\
[device]
id = "kiosk-1"
role = "kiosk"
password = "s3cret-kiosk"

[hall]
id = "dang-kang"
host = "192.168.1.10"
port = 1883

[printer]
model = "POS-58"
transport = "usb"
vendor_id = "0x0416"
product_id = "0x5011"
"""


def timed(c: Container, command: str) -> tuple[str, float]:
    t = time.monotonic()
    p = c.run(command)
    took = time.monotonic() - t
    print(f"`{command}`: {took:.1f} s")
    return p.stdout + p.stderr, took


def wait_state(c: Container, unit: str, want: set[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = c.run(f"systemctl is-active {unit}", check=False).stdout.strip()
        if state in want:
            return state
        time.sleep(0.5)
    raise AssertionError(f"{unit} is {state!r}, not {want}: " + c.run(f"journalctl -u {unit} -n 30 --no-pager",
                                                                       check=False).stdout)


def second_run_changes_nothing(c: Container, command: str, unit: str) -> None:
    fixed, data = c.tree(FIXED), c.tree(DATA, contents=False)
    pid = c.run(f"systemctl show -P MainPID {unit}").stdout.strip()
    out, _ = timed(c, command)
    assert "nothing changed" in out, out
    assert c.tree(FIXED) == fixed
    assert c.tree(DATA, contents=False) == data
    assert c.run(f"systemctl show -P MainPID {unit}").stdout.strip() == pid, "the second run restarted the unit"


def uninstall_leaves_no_unit(c: Container, unit: str, data_dir: str) -> None:
    out, _ = timed(c, "cd /root/motcua && ./motcua uninstall")
    assert f"stopped and disabled {unit}" in out, out
    assert c.run("systemctl list-unit-files --no-legend 'motcua*'", check=False).stdout.strip() == ""
    assert c.run(f"systemctl is-active {unit}", check=False).stdout.strip() in ("inactive", "unknown")
    assert list(c.path("/etc/systemd/system").glob("motcua*")) == []
    assert list(c.path("/etc/systemd/system").glob("*/motcua*")) == []
    assert list(c.path("/etc/udev/rules.d").glob("*motcua*")) == []
    assert not c.path("/opt/motcua").is_symlink() and not c.path("/opt/motcua-releases").exists()
    assert c.path(data_dir).is_dir() and c.path("/etc/motcua").is_dir(), "uninstall without --purge kept the data"


def test_server_install_twice_then_uninstall() -> None:
    with Container.boot() as c:
        c.copy_clone()
        out, _ = timed(c, "cd /root/motcua && ./motcua install --role server")
        assert "created user motcua" in out and "enabled motcua-hall.service" in out, out
        for pkg in ("mosquitto", "python3-venv", "fonts-dejavu-core"):
            assert "install ok installed" in c.run(f"dpkg-query -W -f='${{Status}}' {pkg}").stdout
        assert c.run("getent passwd motcua").stdout.split(":")[6].strip() == "/usr/sbin/nologin"
        unit = c.path("/etc/systemd/system/motcua-hall.service")
        assert unit.read_bytes() == (ROOT / "systemd/motcua-hall.service").read_bytes()
        assert c.path("/etc/default/motcua-hall").read_bytes() == (ROOT / "systemd/motcua-hall.env").read_bytes()
        assert c.path("/etc/motcua/hall.toml").read_bytes() == (ROOT / "examples/dang-kang/hall.toml").read_bytes()
        link = os.readlink(c.path("/opt/motcua"))
        assert link.startswith("/opt/motcua-releases/") and c.path(link + "/.venv/bin/motcua").exists()
        assert c.path("/etc/motcua/roles").read_text() == "server\n"
        assert c.run("systemctl is-enabled motcua-hall").stdout.strip() == "enabled"
        # The real hall, under the shipped unit's hardening, as far as READY=1: Type=notify.
        wait_state(c, "motcua-hall", {"active"})
        # Debian's own broker is off: the hall's Mosquitto has the port.
        assert c.run("systemctl is-enabled mosquitto", check=False).stdout.strip() == "disabled"

        second_run_changes_nothing(c, "cd /root/motcua && ./motcua install --role server", "motcua-hall")
        uninstall_leaves_no_unit(c, "motcua-hall", "/var/lib/motcua")

        # --purge, after the plain uninstall, removes what it kept; then there is nothing left to do.
        out, _ = timed(c, "cd /root/motcua && ./motcua uninstall --purge")
        assert "removed user motcua" in out, out
        for gone in ("/var/lib/motcua", "/etc/motcua", "/etc/default/motcua-hall"):
            assert not c.path(gone).exists(), gone
        assert c.run("getent passwd motcua", check=False).returncode == 2
        out, _ = timed(c, "cd /root/motcua && ./motcua uninstall --purge")
        assert "nothing changed" in out, out


def test_kiosk_install_twice_then_uninstall() -> None:
    with Container.boot() as c:
        c.copy_clone()
        c.path("/root/kiosk-1.toml").write_text(KIOSK_DEVICE)
        c.path("/root/display-1.toml").write_text(KIOSK_DEVICE.replace('"kiosk"', '"display"'))
        # Refusals, before anything is installed: in words, and changing nothing.
        p = c.run("cd /root/motcua && runuser -u nobody -- ./motcua install --role kiosk", check=False)
        assert p.returncode == 1 and "run it as root" in p.stderr, p.stderr
        p = c.run("cd /root/motcua && ./motcua install --role kiosk", check=False)
        assert p.returncode == 1 and "needs its device file" in p.stderr, p.stderr
        p = c.run("cd /root/motcua && ./motcua install --role kiosk --device-file /root/display-1.toml", check=False)
        assert p.returncode == 1 and "not of a kiosk" in p.stderr, p.stderr
        assert not c.path("/opt/motcua").exists() and not c.path("/etc/motcua").exists()
        c.path("/opt/motcua").mkdir()      # a clone made by hand, as the old docs had it
        p = c.run("cd /root/motcua && ./motcua install --role kiosk --device-file /root/kiosk-1.toml", check=False)
        assert p.returncode == 1 and "sudo mv /opt/motcua /opt/motcua.old" in p.stderr, p.stderr
        assert c.run("id motcua-kiosk", check=False).returncode == 1, "it refused after creating the user"
        c.path("/opt/motcua").rmdir()

        # A Pi's kernel command line (one line, on the FAT boot partition): the installer adds consoleblank=0.
        cmdline = c.path("/boot/firmware/cmdline.txt")
        cmdline.parent.mkdir(parents=True)
        cmdline.write_text("console=serial0,115200 console=tty1 root=PARTUUID=4e639091-02 rootfstype=ext4 rootwait\n")
        command = "cd /root/motcua && ./motcua install --role kiosk --device-file /root/kiosk-1.toml"
        out, _ = timed(c, command)
        assert "created user motcua-kiosk" in out, out
        for pkg in ("libmtdev1", "libusb-1.0-0", "libgl1-mesa-dri"):
            assert "install ok installed" in c.run(f"dpkg-query -W -f='${{Status}}' {pkg}").stdout
        groups = set(c.run("id -nG motcua-kiosk").stdout.split())
        assert {"video", "render", "input", "lp", "dialout"} <= groups
        dev = c.path("/etc/motcua/device.toml")
        st = dev.stat()
        assert dev.read_text() == KIOSK_DEVICE and st.st_mode & 0o777 == 0o600
        assert c.run(f"stat -c %U {'/etc/motcua/device.toml'}").stdout.strip() == "motcua-kiosk"
        rule = c.path("/etc/udev/rules.d/60-motcua-printer.rules").read_text()
        assert 'ATTR{idVendor}=="0416", ATTR{idProduct}=="5011"' in rule and 'SYMLINK+="motcua-printer"' in rule
        assert 'GROUP="lp"' in rule
        assert cmdline.read_text().split().count("consoleblank=0") == 1 and len(cmdline.read_text().splitlines()) == 1
        assert "ID_INPUT_TOUCHSCREEN" in c.path("/etc/udev/rules.d/60-motcua-touchscreen.rules").read_text()
        assert "install ok installed" in c.run("dpkg-query -W -f='${Status}' udev").stdout
        # The release's own bootstrap, run by the service's user, goes straight to its venv (no apt).
        p = c.run("runuser -u motcua-kiosk -- /opt/motcua/motcua printer --help", check=False)
        assert p.returncode == 0 and "installing" not in p.stderr, p.stderr
        # A command of a role this machine lacks (the hall's) says so, instead of pip failing on root's venv.
        p = c.run("runuser -u motcua-kiosk -- /opt/motcua/motcua staff --help", check=False)
        assert p.returncode == 2 and "has no 'hall' packages (it has: kiosk)" in p.stderr, p.stderr
        runs_without_a_screen(c, "motcua-kiosk")
        screen_second_run_changes_nothing(c, command)
        uninstall_leaves_no_unit(c, "motcua-kiosk", "/var/lib/motcua-kiosk")


@pytest.mark.parametrize(("role", "device_role", "user", "groups"), [
    ("display", "display", "motcua-display", {"video", "render", "audio"}),
    ("counter-pad", "counter", "motcua-counter-pad", {"video", "render", "input"}),
])
def test_other_screens_install_twice_then_uninstall(role: str, device_role: str, user: str, groups: set[str]) -> None:
    with Container.boot() as c:
        c.copy_clone()
        text = KIOSK_DEVICE.split("[printer]")[0].replace('role = "kiosk"', f'role = "{device_role}"')
        if device_role == "counter":
            text = text.replace('password = "s3cret-kiosk"\n', 'password = "s3cret-kiosk"\ncounter = 3\n')
        c.path("/root/device.toml").write_text(text)
        command = f"cd /root/motcua && ./motcua install --role {role} --device-file /root/device.toml"
        out, _ = timed(c, command)
        assert f"created user {user}" in out, out
        assert groups <= set(c.run(f"id -nG {user}").stdout.split())
        assert c.path("/etc/motcua/device.toml").read_text() == text
        assert not c.path("/etc/udev/rules.d/60-motcua-printer.rules").exists()
        assert c.path("/etc/udev/rules.d/60-motcua-touchscreen.rules").exists() == (role == "counter-pad")
        runs_without_a_screen(c, f"motcua-{role}")
        screen_second_run_changes_nothing(c, command)
        uninstall_leaves_no_unit(c, f"motcua-{role}", f"/var/lib/motcua-{role}")


def runs_without_a_screen(c: Container, unit: str) -> None:
    """No screen in a container: the shipped unit starts the real app, which fails for want of a display
    and is restarted (Restart=always). Its failure must be the app's, not systemd's setting up the
    sandbox (a hardening option nspawn refused would show as status=2xx, "Failed at step")."""
    assert c.run(f"systemctl is-enabled {unit}").stdout.strip() == "enabled"
    deadline = time.monotonic() + 60
    restarts = 0
    while time.monotonic() < deadline:
        restarts = int(c.run(f"systemctl show -P NRestarts {unit}").stdout.strip() or 0)
        if restarts >= 1:
            break
        time.sleep(1)
    journal = c.run(f"journalctl -u {unit} --no-pager -o cat", check=False).stdout
    assert restarts >= 1, journal
    assert "status=2" not in journal and "Failed at step" not in journal, journal
    assert "kmsdrm not available" in journal, journal    # the app got as far as asking SDL for the screen


def screen_second_run_changes_nothing(c: Container, command: str) -> None:
    """As second_run_changes_nothing, for a unit that restarts by itself (its MainPID moves on its own)."""
    fixed, data = c.tree(FIXED), c.tree(DATA, contents=False)
    out, _ = timed(c, command)
    assert "nothing changed" in out, out
    assert c.tree(FIXED) == fixed
    assert c.tree(DATA, contents=False) == data
