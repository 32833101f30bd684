"""The installer's changes to the machine, each idempotent and reported: users, files, udev, systemd.

    log = Log()
    ensure_user(log, "motcua-kiosk", ("video", "lp"))      # "created user motcua-kiosk" / "unchanged: …"
    ensure_file(log, Path("/etc/motcua/device.toml"), data, 0o600, "motcua-kiosk")
    log.changed                                           # what was done, for the closing line

Each ensure_* writes only when the content, mode or owner differ, so a second install changes
nothing, and says what it did (or that it left a thing as it was).
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

UDEV_RULES = Path("/etc/udev/rules.d")
PRINTER_RULE = UDEV_RULES / "60-motcua-printer.rules"
TOUCH_RULE = UDEV_RULES / "60-motcua-touchscreen.rules"
UNIT_DIR = Path("/etc/systemd/system")
CMDLINE = Path("/boot/firmware/cmdline.txt")     # the Pi's kernel command line (Raspberry Pi OS, Debian 12)


class InstallError(Exception):
    """A step that cannot be done, in words for the admin (never a traceback)."""


@dataclass
class Log:
    """What the installer did, printed as it goes."""
    changed: list[str] = field(default_factory=list)
    quiet: bool = False

    def did(self, what: str) -> None:
        self.changed.append(what)
        print(what, flush=True)

    def same(self, what: str) -> None:
        if not self.quiet:
            print(f"unchanged: {what}", flush=True)


def run(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command; a failure becomes an InstallError naming it and its own message."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        msg = (p.stderr or p.stdout).strip().splitlines()
        raise InstallError(f"`{' '.join(cmd)}` failed ({p.returncode}): {msg[-1] if msg else 'no message'}")
    return p


# --- packages ---------------------------------------------------------------------------------

def missing_packages(packages: list[str]) -> list[str]:
    def installed(pkg: str) -> bool:
        p = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
        return p.returncode == 0 and "install ok installed" in p.stdout
    return [p for p in packages if not installed(p)]


def ensure_packages(log: Log, packages: list[str]) -> None:
    """apt-get only what is missing (no `apt-get update` when nothing is: a second run changes nothing)."""
    missing = missing_packages(packages)
    if not missing:
        log.same(f"OS packages ({len(packages)})")
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]):
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise InstallError(f"`{' '.join(cmd[:2])}` failed: {(p.stderr or p.stdout).strip()[-400:]}")
    log.did(f"installed OS packages: {' '.join(missing)}")


# --- users ------------------------------------------------------------------------------------

def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def ensure_user(log: Log, name: str, groups: tuple[str, ...], home: str) -> None:
    """A system user with its own group, no login, home = its state directory; a member of groups."""
    if user_exists(name):
        log.same(f"user {name}")
    else:
        run(["useradd", "--system", "--user-group", "--home-dir", home, "--no-create-home",
             "--shell", "/usr/sbin/nologin", name])
        log.did(f"created user {name}")
    for g in groups:
        try:
            members = grp.getgrnam(g).gr_mem
        except KeyError:
            run(["groupadd", "--system", g])
            log.did(f"created group {g}")
            members = []
        if name in members:
            log.same(f"{name} in group {g}")
        else:
            run(["usermod", "--append", "--groups", g, name])
            log.did(f"added {name} to group {g}")


def remove_user(log: Log, name: str) -> None:
    if user_exists(name):
        run(["userdel", name])
        log.did(f"removed user {name}")


# --- files ------------------------------------------------------------------------------------

def _ids(owner: str, group: str | None) -> tuple[int, int]:
    try:
        return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group or owner).gr_gid
    except KeyError as e:
        raise InstallError(f"no user or group {e.args[0]!r} on this machine") from None


def ensure_dir(log: Log, path: Path, mode: int = 0o755, owner: str = "root", group: str | None = None) -> None:
    uid, gid = _ids(owner, group)
    if not path.is_dir():
        path.mkdir(parents=True, mode=mode)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        log.did(f"created {path}/")
        return
    st = path.stat()
    if (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (mode, uid, gid):
        log.same(f"{path}/")
    else:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        log.did(f"set owner/mode of {path}/")


def ensure_file(log: Log, path: Path, data: bytes, mode: int = 0o644, owner: str = "root",
                group: str | None = None, *, keep: bool = False) -> bool:
    """path holds data with this mode and owner; True when anything was written.

    keep=True: an existing file is the admin's and stays as it is (only a missing one is written).
    A new content goes to a temporary file first, renamed into place: never half a file.
    """
    uid, gid = _ids(owner, group)
    if path.exists() and keep:
        log.same(f"{path} (kept as it is: it is yours to edit)")
        return False
    old = path.read_bytes() if path.is_file() else None
    if old == data:
        st = path.stat()
        if (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (mode, uid, gid):
            log.same(str(path))
            return False
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        log.did(f"set owner/mode of {path}")
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.motcua-new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chown(tmp, uid, gid)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    log.did(f"{'created' if old is None else 'updated'} {path}")
    return True


def remove_path(log: Log, path: Path) -> bool:
    if path.is_symlink() or path.is_file():
        path.unlink()
        log.did(f"removed {path}")
        return True
    if path.is_dir():
        subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=True)
        log.did(f"removed {path}/")
        return True
    return False


# --- udev -------------------------------------------------------------------------------------

def printer_rule(vendor_id: str, product_id: str) -> str:
    """The kiosk's printer, by its USB ids: group lp may open it (libusb), and /dev/motcua-printer names
    it, the one printer node the kiosk's unit allows (DeviceAllow=)."""
    return ("# Written by `motcua install --role kiosk` from the device file's [printer] vendor_id/product_id.\n"
            f'SUBSYSTEM=="usb", ENV{{DEVTYPE}}=="usb_device", ATTR{{idVendor}}=="{vendor_id}", '
            f'ATTR{{idProduct}}=="{product_id}", MODE="0660", GROUP="lp", SYMLINK+="motcua-printer"\n'
            "# The same printer through the kernel's usblp driver (transport = \"file\", /dev/usb/lp0).\n"
            f'SUBSYSTEM=="usbmisc", KERNEL=="lp[0-9]*", ATTRS{{idVendor}}=="{vendor_id}", '
            f'ATTRS{{idProduct}}=="{product_id}", MODE="0660", GROUP="lp"\n')


TOUCH_RULE_TEXT = (
    "# Written by `motcua install`: the touchscreen, readable by group input (the kiosk and the counter\n"
    "# pad read it, DeviceAllow=char-input r), and named /dev/motcua-touchscreen for an admin's checks.\n"
    'SUBSYSTEM=="input", KERNEL=="event[0-9]*", ENV{ID_INPUT_TOUCHSCREEN}=="1", MODE="0640", GROUP="input", '
    'SYMLINK+="motcua-touchscreen"\n')


def reload_udev(log: Log) -> None:
    """Apply changed rules now; where no udevd runs (a container) they apply at the next boot."""
    if not Path("/run/udev/control").exists():
        log.did("udev is not running here: the rules apply at the next boot")
        return
    run(["udevadm", "control", "--reload-rules"], check=False)
    run(["udevadm", "trigger", "--subsystem-match=usb", "--subsystem-match=usbmisc", "--subsystem-match=input"],
        check=False)
    log.did("reloaded the udev rules")


# --- systemd ----------------------------------------------------------------------------------

def systemctl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["systemctl", *args], check=check)


def unit_state(unit: str) -> tuple[str, str]:
    """(is-enabled, is-active) of a unit, as systemctl prints them."""
    enabled = systemctl("is-enabled", unit, check=False).stdout.strip() or "not-found"
    active = systemctl("is-active", unit, check=False).stdout.strip() or "unknown"
    return enabled, active


def ensure_running(log: Log, unit: str, restart: bool) -> None:
    """Enabled and started (restarted when its files changed); started without waiting (a screen unit
    without its screen keeps restarting: that is shown after, not waited for here)."""
    enabled, active = unit_state(unit)
    if enabled == "enabled":
        log.same(f"{unit} enabled")
    else:
        systemctl("enable", unit)
        log.did(f"enabled {unit}")
    if active in ("active", "activating", "reloading") and not restart:
        log.same(f"{unit} {active}")
    else:
        systemctl("restart" if active in ("active", "activating") else "start", "--no-block", unit)
        log.did(f"{'restarted' if active in ('active', 'activating') else 'started'} {unit}")


def stop_and_disable(log: Log, unit: str) -> None:
    enabled, active = unit_state(unit)
    if active not in ("inactive", "unknown", "failed") or enabled in ("enabled", "static"):
        systemctl("disable", "--now", unit, check=False)
        log.did(f"stopped and disabled {unit}")
    systemctl("reset-failed", unit, check=False)


# --- the screen -------------------------------------------------------------------------------

def keep_screen_awake(log: Log) -> None:
    """consoleblank=0 on the Pi's kernel command line: the kernel never blanks the console the Kivy app
    draws on (KMS/DRM, no desktop, so no screensaver or DPMS setting of a desktop applies)."""
    if not CMDLINE.exists():
        log.same(f"screen blanking: no {CMDLINE} here (not a Raspberry Pi image); nothing to set")
        return
    text = CMDLINE.read_text()
    words = text.split()
    if "consoleblank=0" in words:
        log.same(f"consoleblank=0 in {CMDLINE}")
        return
    words = [w for w in words if not w.startswith("consoleblank=")] + ["consoleblank=0"]
    st = CMDLINE.stat()
    # One line, as the Pi's firmware reads it; the file's own mode is kept (it is on the FAT boot partition).
    CMDLINE.write_text(" ".join(words) + "\n")
    os.chmod(CMDLINE, st.st_mode & 0o7777)
    log.did(f"added consoleblank=0 to {CMDLINE} (from the next boot)")
