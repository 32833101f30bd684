"""`sudo ./motcua upgrade [--from FILE]`: move an installed Pi to a newer release, back if it fails.

    PYTHONPATH=<clone> python3 -m motcua_cli.deploy.upgrade_cmd [--from motcua-X.tar.gz] [--settle 10]

Steps (docs/upgrade.md): backup of the ledger by the running release's own `motcua backup now`
(server role), build the new release beside the running one, stop the role's services (devices
before the server), switch /opt/motcua, start the server first and then the devices, check each is
healthy (motcua_cli.deploy.health). When one is not: switch back, put the pre-upgrade backup back
if the new code changed the ledger's schema (the migrated file is kept aside), start the old
services, check them, exit 1. Stdlib only: it runs on the system's python3.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from motcua_cli.deploy import health, layout
from motcua_cli.deploy.install_cmd import refresh_units
from motcua_cli.deploy.roles import ROLES, Role
from motcua_cli.deploy.system import InstallError

SOURCE = Path(__file__).resolve().parents[2]        # the clone this runs from
KEEP = 3                                            # releases kept: the current one and the two before
BACKUP_DIR = Path(health.DATA) / "pre-upgrade"      # the service user's own folder: it writes the backup
# What makes a tree a motcua tree (a release file of something else is refused before anything is done).
MARKS = ("motcua", "pyproject.toml", "motcua_cli/main.py", "broker/ledger.py", "systemd/motcua-hall.service")


class UpgradeError(Exception):
    """The upgrade stopped before it changed anything running (a message for the admin)."""


@dataclass
class Ledger:
    """The hall server's ledger before the upgrade: its schema version and the backup taken of it."""
    schema: int
    backup: Path


def say(what: str) -> None:
    print(f"motcua upgrade: {what}", flush=True)


def unpack(file: Path, into: Path) -> Path:
    """The tree inside a release file (`git archive --prefix=motcua/ -o F.tar.gz HEAD`: one top folder)."""
    try:
        with tarfile.open(file) as tf:
            members = tf.getmembers()
            for m in members:
                _check_member(m)
            # Debian 12's Python 3.11.2 has no extractall(filter=...): _check_member is that filter.
            tf.extractall(into, members)
    except (OSError, tarfile.TarError) as e:
        raise UpgradeError(f"cannot read the release file {file}: {e}") from None
    tops = [p for p in into.iterdir()]
    return tops[0] if len(tops) == 1 and tops[0].is_dir() else into


def _check_member(m: tarfile.TarInfo) -> None:
    """Only plain files, folders and links that stay inside the tree (no /abs, no .., no devices)."""
    def outside(name: str) -> bool:
        return name.startswith("/") or ".." in Path(name).parts
    if outside(m.name) or not (m.isfile() or m.isdir() or m.issym()) or (
            m.issym() and outside(str(Path(m.name).parent / m.linkname))):
        raise UpgradeError(f"the release file has an entry that is not a plain file of a tree: {m.name}")
    m.mode &= 0o755                       # no setuid, no world-writable file from a release file


def check_tree(src: Path) -> None:
    missing = [m for m in MARKS if not (src / m).exists()]
    if missing:
        raise UpgradeError(f"{src} is not a motcua tree (no {', '.join(missing)})")


def schema_version(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def backup_first(release: Path) -> Ledger:
    """The running release's own `motcua backup now` (the old code knows its ledger), into BACKUP_DIR."""
    db = Path(health.DATA) / "hall.db"
    if not db.is_file():
        raise UpgradeError(f"no ledger at {db}: is this the hall server? (nothing done)")
    before = set(BACKUP_DIR.glob("*.zip")) if BACKUP_DIR.is_dir() else set()
    p = health.as_service(release, "backup", "now", "--config", health.CONFIG, "--data", health.DATA,
                   "--to", str(BACKUP_DIR))
    new = sorted(set(BACKUP_DIR.glob("*.zip")) - before) if BACKUP_DIR.is_dir() else []
    if p.returncode != 0 or not new:
        raise UpgradeError(f"the backup before the upgrade failed, nothing changed:\n{p.stdout}{p.stderr}".rstrip())
    say(f"backup taken by the running release: {new[-1]}")
    return Ledger(schema_version(db), new[-1])


def start(role: Role, settle: float, timeout: float) -> health.Health:
    subprocess.run(["systemctl", "reset-failed", role.unit], capture_output=True)
    subprocess.run(["systemctl", "start", "--no-block", role.unit], check=True)
    h = health.wait_healthy(role.unit, timeout, settle)
    say(("healthy: " if h.ok else "NOT HEALTHY: ") + h.why)
    if not h.ok:
        # Its own last words, so the admin sees why without a second command.
        log = subprocess.run(["journalctl", "-u", role.unit, "-n", "12", "--no-pager", "-o", "cat"],
                             capture_output=True, text=True).stdout
        print("".join(f"    | {line}\n" for line in log.splitlines()), end="", flush=True)
    return h


def stop(roles: list[Role], kill: bool = False) -> None:
    """Stops the units in this order; kill: SIGKILL first (a broken release hanging before READY would
    take TimeoutStopSec=20 to die; the ledger is SQLite in WAL mode, whole after a kill -9)."""
    for role in roles:
        t = time.monotonic()
        if kill:
            subprocess.run(["systemctl", "kill", "--signal=SIGKILL", role.unit], check=False, capture_output=True)
        subprocess.run(["systemctl", "stop", role.unit], check=False)
        say(f"stopped {role.unit} ({time.monotonic() - t:.1f} s)")


def bring_up(roles: list[Role], release: Path, settle: float, timeout: float,
             ready: list[float] | None = None) -> str | None:
    """Starts the roles' units, the server first; None when all are healthy, else why not.
    `ready` gets the time each unit was first seen ready (the downtime's end)."""
    for role in roles:
        h = start(role, settle, timeout)
        if not h.ok:
            return h.why
        if ready is not None:
            ready.append(h.ready_at)
        if role.name == "server":
            trouble = health.server_status(release)
            if trouble:
                return f"`motcua status` does not say the hall serves with no alarm:\n{trouble}"
            say("`motcua status`: the hall serves, no alarm")
    return None


def roll_back(roles: list[Role], old: Path, ledger: Ledger | None, settle: float, timeout: float) -> bool:
    """Back to the old release (and the old ledger when the new one migrated it); True when it is healthy."""
    say(f"ROLLING BACK to {old.name}")
    stop(list(reversed(roles)), kill=True)
    layout.switch_to(old)
    say(f"{layout.CURRENT} -> {old} again")
    try:
        refresh_units(roles, old)
    except (OSError, InstallError) as e:      # the old units may still be in place: go on and see
        say(f"could not put the old release's unit files back ({e})")
    db = Path(health.DATA) / "hall.db"
    if ledger is not None and db.is_file() and schema_version(db) != ledger.schema:
        say(f"the new release changed the ledger's schema ({ledger.schema} -> {schema_version(db)}): "
            f"putting the pre-upgrade backup back, the migrated files are kept aside")
        p = health.as_service(old, "restore", str(ledger.backup), "--config", health.CONFIG, "--data", health.DATA,
                       "--everything")
        print(p.stdout + p.stderr, end="", flush=True)
        if p.returncode != 0:
            say(f"the restore failed: the ledger the new release migrated is still in {health.DATA}")
            return False
    why = bring_up(roles, old, settle, timeout)
    if why:
        # Once more, from stopped: what it said is above (a start racing the broken one's last exit?).
        say(f"the old release did not come up ({why.splitlines()[0]}); trying once more")
        stop(list(reversed(roles)), kill=True)
        why = bring_up(roles, old, settle, timeout)
    if why:
        say(f"the old release is not healthy either: {why}")
        return False
    return True


def prune(previous: Path, keep: int = KEEP) -> None:
    """Keeps the current release, the one it replaced (what a rollback by hand goes back to) and the
    newest others up to `keep` in all; deletes the rest (a failed release is newer but worth less)."""
    current = layout.current_release()
    others = sorted((p for p in layout.RELEASES.iterdir() if layout.is_release(p) and p not in (current, previous)),
                    key=lambda p: p.stat().st_mtime)
    for old in others[:max(len(others) - (keep - 2), 0)]:
        shutil.rmtree(old, ignore_errors=True)
        say(f"deleted the old release {old}")


def upgrade(src: Path, settle: float, timeout: float) -> int:
    t0 = time.monotonic()
    layout.check_current()
    names = layout.installed_roles()
    old = layout.current_release()
    if not names or old is None:
        raise UpgradeError("nothing is installed here (no /etc/motcua/roles or no /opt/motcua): "
                           "install first with `sudo ./motcua install --role …` (docs/install-device.md)")
    # Stop order: the devices, then the server (a device never sees its server go while it still runs);
    # start order: the reverse, so a device that comes up finds its server already there.
    roles = sorted((ROLES[n] for n in names if n in ROLES), key=lambda r: r.name == "server")
    check_tree(src)
    new_id = layout.release_id(src)
    if old.name == new_id:
        say(f"already at this version ({new_id}): nothing done")
        return 0
    say(f"from {old.name} to {new_id} ({src}); roles: {', '.join(r.name for r in roles)}")
    ledger = backup_first(old) if any(r.name == "server" for r in roles) else None
    t = time.monotonic()
    say("building the new release (the old one keeps running)")
    try:
        release = layout.build_release(src, roles[0].pip_role)
        for r in roles[1:]:
            layout.build_release(src, r.pip_role)
    except (OSError, subprocess.SubprocessError) as e:
        raise UpgradeError(f"building the new release failed ({e}); nothing changed: the running release "
                           f"{old.name} was not touched") from None
    say(f"built {release} in {time.monotonic() - t:.0f} s")
    down, ready = time.monotonic(), list[float]()
    try:
        stop(roles)
        layout.switch_to(release)
        say(f"{layout.CURRENT} -> {release}")
        refresh_units(roles, release)     # a release may change its unit (hardening, a watchdog period)
        why = bring_up(list(reversed(roles)), release, settle, timeout, ready)
    except (OSError, subprocess.SubprocessError, InstallError) as e:
        why = f"it could not be started: {e}"     # the services are down now: roll back, never stop here
    if why is None:
        if ledger is not None:
            now = schema_version(Path(health.DATA) / "hall.db")
            say(f"ledger schema {ledger.schema} -> {now}" + (" (migrated)" if now != ledger.schema else ""))
        prune(old)
        say(f"done: upgraded to {new_id} in {time.monotonic() - t0:.0f} s; the services were down "
            f"{max(ready) - down:.1f} s (stop to ready), then watched {settle:.0f} s")
        return 0
    say(f"the new release is not healthy: {why}")
    t = time.monotonic()
    ok = roll_back(list(reversed(roles)), old, ledger, settle, timeout)
    if ok:
        say(f"UPGRADE FAILED, rolled back in {time.monotonic() - t:.0f} s (services down "
            f"{time.monotonic() - down - settle:.0f} s in all): {old.name} runs again, healthy. "
            f"The new release stays in {release} (see `journalctl -u {roles[-1].unit}`)")
    else:
        say(f"UPGRADE FAILED and the rollback did not come up healthy: see `journalctl -u {roles[-1].unit}`; "
            f"the pre-upgrade backup is {ledger.backup if ledger else '(none: not a server)'}")
    return 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="motcua upgrade", description="Upgrade this Pi's motcua; back if it fails.")
    ap.add_argument("--from", dest="file", type=Path, help="a release file (.tar.gz from `git archive`) instead "
                    "of the clone this runs from")
    ap.add_argument("--settle", type=float, default=10, help="seconds a service must stay up (default 10)")
    ap.add_argument("--timeout", type=float, default=90, help="seconds a service may take to be ready (default 90)")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("motcua: `upgrade` changes the system: run it as root (sudo ./motcua upgrade …)", file=sys.stderr)
        return 1
    try:
        if args.file is None:
            return upgrade(SOURCE, args.settle, args.timeout)
        with tempfile.TemporaryDirectory(prefix="motcua-upgrade-") as tmp:
            return upgrade(unpack(args.file, Path(tmp)), args.settle, args.timeout)
    except (UpgradeError, layout.LayoutError) as e:
        print(f"motcua upgrade: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 — one line for the admin (pip, systemctl), no traceback
        print(f"motcua upgrade stopped: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
