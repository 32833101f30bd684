"""`sudo ./motcua install --role ROLE [--device-file FILE]` and `sudo ./motcua uninstall [--purge]`.

    PYTHONPATH=<clone> python3 -m motcua_cli.deploy.install_cmd install --role kiosk --device-file kiosk-1.toml
    PYTHONPATH=<clone> python3 -m motcua_cli.deploy.install_cmd uninstall [--role ROLE] [--purge]

Runs with the system's python3 (stdlib only). Prints each thing it did; a second run prints that
nothing changed. docs/install-device.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from motcua_cli.deploy import layout, system
from motcua_cli.deploy.roles import ROLES, Role, apt_packages
from motcua_cli.deploy.system import InstallError, Log

ETC = Path("/etc/motcua")
DEVICE_FILE = ETC / "device.toml"
HALL_FILE = ETC / "hall.toml"
SOURCE = Path(__file__).resolve().parents[2]        # the clone this runs from


@dataclass(frozen=True)
class DeviceFile:
    data: bytes
    role: str
    printer_ids: tuple[str, str] | None
    """(vendor, product) as 4 lowercase hex digits, when the [printer] is a USB one."""


def _hex_id(value: object, key: str, path: Path) -> str:
    try:
        n = int(value, 0) if isinstance(value, str) else int(value)   # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InstallError(f"{path}: [printer] {key} = {value!r} is not a USB id (like \"0x0416\")") from None
    if not 0 <= n <= 0xFFFF:
        raise InstallError(f"{path}: [printer] {key} = {value!r} is not a USB id (0x0000-0xffff)")
    return f"{n:04x}"


def read_device_file(path: Path, role: Role) -> DeviceFile:
    """The device file, checked as far as the installer needs (the app checks the rest when it starts)."""
    try:
        data = path.read_bytes()
        root = tomllib.loads(data.decode())
    except OSError as e:
        raise InstallError(f"cannot read the device file {path}: {e.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InstallError(f"{path} is not a device file (TOML): {e}") from None
    device = root.get("device")
    if not isinstance(device, dict) or not all(isinstance(device.get(k), str) for k in ("id", "role", "password")):
        raise InstallError(f"{path} is not a device file: it needs [device] id, role and password "
                           "(write it with `motcua device add` on the hall server)")
    if device["role"] != role.device_role:
        raise InstallError(f"{path} is the file of a {device['role']} device ({device['id']}), "
                           f"not of a {role.device_role}: use the file `motcua device add` wrote for this one")
    printer = root.get("printer")
    ids = None
    if isinstance(printer, dict) and printer.get("transport") == "usb":
        if "vendor_id" not in printer or "product_id" not in printer:
            raise InstallError(f"{path}: a USB [printer] needs vendor_id and product_id (docs/printers.md)")
        ids = (_hex_id(printer["vendor_id"], "vendor_id", path), _hex_id(printer["product_id"], "product_id", path))
    return DeviceFile(data, device["role"], ids)


def install(roles: list[Role], device_file: Path | None) -> Log:
    log = Log()
    device = None
    for role in roles:
        if role.device_role is not None:
            if device_file is None:
                raise InstallError(f"the {role.name} role needs its device file: --device-file FILE "
                                   "(from `motcua device add` on the hall server)")
            device = read_device_file(device_file, role)
    device_roles = [r for r in roles + [ROLES[n] for n in layout.installed_roles() if n in ROLES]
                    if r.device_role is not None]
    if len({r.name for r in device_roles}) > 1:
        raise InstallError(f"one Pi is one device: {', '.join(sorted({r.name for r in device_roles}))} would "
                           f"share {DEVICE_FILE}; `sudo ./motcua uninstall` the other role first")

    layout.check_current()
    system.ensure_packages(log, apt_packages(roles))
    if any(r.name == "server" for r in roles):
        # Debian's mosquitto package starts its own broker on 1883; the hall runs its own there.
        system.stop_and_disable(log, "mosquitto.service")
    for role in roles:
        system.ensure_user(log, role.user, role.groups, role.state_dir)

    release = layout.build_release(SOURCE, roles[0].pip_role)
    for role in roles[1:]:
        layout.build_release(SOURCE, role.pip_role)
    previous = layout.switch_to(release)
    upgraded = previous != release
    if upgraded:
        log.did(f"{layout.CURRENT} -> {release}" + (f" (was {previous})" if previous else ""))
    else:
        log.same(f"{layout.CURRENT} -> {release}")

    system.ensure_dir(log, ETC)
    changed = False
    for role in roles:
        changed |= _install_role_files(log, role, device, release)
    every = layout.installed_roles() + [r.name for r in roles]
    system.ensure_file(log, layout.ROLES_FILE, layout.roles_text(every).encode())
    if changed:
        system.systemctl("daemon-reload")
        log.did("reloaded systemd")
    for role in roles:
        system.ensure_running(log, role.unit, restart=changed or upgraded)
    return log


def refresh_units(roles: list[Role], release: Path) -> bool:
    """The roles' unit files as `release` ships them (an upgrade, or its rollback, switched to it);
    systemd re-reads them when one changed. The admin's /etc/default files are left as they are."""
    log = Log(quiet=True)
    changed = False
    for role in roles:
        changed |= system.ensure_file(log, system.UNIT_DIR / role.unit, (release / "systemd" / role.unit).read_bytes())
    if changed:
        system.systemctl("daemon-reload")
        log.did("reloaded systemd")
    return changed


def _install_role_files(log: Log, role: Role, device: DeviceFile | None, release: Path) -> bool:
    """The role's files; True when a unit, its environment or its device file changed (restart it)."""
    changed = system.ensure_file(log, system.UNIT_DIR / role.unit, (release / "systemd" / role.unit).read_bytes())
    env = release / "systemd" / f"{role.env_name}.env"
    changed |= system.ensure_file(log, Path("/etc/default") / role.env_name, env.read_bytes(), keep=True)
    system.ensure_dir(log, Path(role.state_dir), 0o700, role.user)
    if role.name == "server":
        example = release / "examples" / "dang-kang" / "hall.toml"
        system.ensure_file(log, HALL_FILE, example.read_bytes(), 0o644, keep=True)
    if device is not None and role.device_role is not None:
        changed |= system.ensure_file(log, DEVICE_FILE, device.data, 0o600, role.user)
    if role.printer:
        if device is not None and device.printer_ids:
            if system.ensure_file(log, system.PRINTER_RULE, system.printer_rule(*device.printer_ids).encode()):
                system.reload_udev(log)
        else:
            log.same("no USB [printer] in the device file: no printer udev rule (network, serial, file: none needed)")
            system.remove_path(log, system.PRINTER_RULE)
    if role.touch and system.ensure_file(log, system.TOUCH_RULE, system.TOUCH_RULE_TEXT.encode()):
        system.reload_udev(log)
    if role.screen:
        system.keep_screen_awake(log)
    return changed


def uninstall(roles: list[Role], purge: bool) -> Log:
    log = Log()
    installed = layout.installed_roles()
    for role in roles:
        system.stop_and_disable(log, role.unit)
        system.remove_path(log, system.UNIT_DIR / role.unit)
        if purge:
            for p in (Path("/etc/default") / role.env_name, Path(role.state_dir)):
                system.remove_path(log, p)
            system.remove_user(log, role.user)
    system.systemctl("daemon-reload", check=False)
    left = [n for n in installed if n not in {r.name for r in roles}]
    if not any(ROLES[n].printer for n in left if n in ROLES):
        system.remove_path(log, system.PRINTER_RULE)
    if not any(ROLES[n].touch for n in left if n in ROLES):
        system.remove_path(log, system.TOUCH_RULE)
    if left:
        system.ensure_file(log, layout.ROLES_FILE, layout.roles_text(left).encode())
    else:
        system.remove_path(log, layout.ROLES_FILE)
        system.remove_path(log, layout.CURRENT)
        system.remove_path(log, layout.RELEASES)
        if purge:
            system.remove_path(log, ETC)
    if not purge:
        print(f"kept: the data (/var/lib/motcua*), {ETC} and /etc/default/motcua-*, the users "
              "(`uninstall --purge` removes them too)")
    return log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="motcua", description="Install or remove motcua's system services.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ins = sub.add_parser("install", help="install a role: packages, user, release, udev rules, unit")
    ins.add_argument("--role", action="append", required=True, choices=list(ROLES), help="server, kiosk, …")
    ins.add_argument("--device-file", type=Path, help="the device's file from `motcua device add` (not the server)")
    un = sub.add_parser("uninstall", help="stop and remove the units, udev rules and releases")
    un.add_argument("--role", action="append", choices=list(ROLES), help="only this role (default: every one)")
    un.add_argument("--purge", action="store_true", help="also the data, /etc/motcua, the settings, the users")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print(f"motcua: `{args.cmd}` changes the system: run it as root (sudo ./motcua {args.cmd} …)", file=sys.stderr)
        return 1
    try:
        if args.cmd == "install":
            log = install([ROLES[n] for n in dict.fromkeys(args.role)], args.device_file)
        else:
            # --purge after a plain uninstall: the roles file is gone, what is left (users, data) may be any role's.
            names = args.role or layout.installed_roles() or (list(ROLES) if args.purge else [])
            log = uninstall([ROLES[n] for n in dict.fromkeys(names) if n in ROLES], args.purge)
    except (InstallError, layout.LayoutError) as e:
        print(f"motcua: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 — a failed command (pip, systemctl) is said in one line, no traceback
        print(f"motcua: {args.cmd} stopped: {e}", file=sys.stderr)
        return 1
    print(f"motcua {args.cmd}: {len(log.changed)} change(s)" if log.changed else f"motcua {args.cmd}: nothing changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
