"""`motcua status`: how the hall server is, in one screen, for the technician on the phone with a clerk.

    $ motcua status --config /etc/motcua/hall.toml --data /var/lib/motcua
    hall 'dang-kang' (UBND xã Dang Kang)
      server    serving (pid 812)
      data      /var/lib/motcua: 12034 MB free
      clock     synchronised
      backup    last good 2026-12-02 02:00 (7 h ago), on the USB stick: /media/usb/motcua-backup/…zip
      devices   kiosk-1 kiosk online (printer ok); display-1 display offline since 2026-12-02 07:58
      alarms    none

It reads the data folder only (the same checks the running server makes: broker/alarms.py), so it
works while the server is down too. Exit status 0 when the server is serving with no alarm, 1
otherwise, so a script or a monitoring probe can use it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hall.clock import clock_synchronised


def add_parser(sub, data_default: str, config_default: str) -> None:
    sp = sub.add_parser("status", help="how the hall server is: serving, disk, clock, backup, devices, alarms")
    sp.add_argument("--config", default=config_default, help="hall.toml (default: the example hall)")
    sp.add_argument("--data", default=data_default, help=f"the hall's data folder (default {data_default})")
    sp.set_defaults(fn=cmd_status)


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _devices(data: Path) -> str:
    from broker.ledger import Ledger
    ledger = Ledger(data / "hall.db")
    try:
        rows = ledger.devices()
    finally:
        ledger.close()
    out = []
    for d in rows:
        status = json.loads(d["status"]) if d["status"] else {}
        state = status.get("state", "never seen")
        since = f" since {_when(d['status_at'])}" if d["status_at"] and state != "online" else ""
        printer = f" (printer {status['printer']})" if status.get("printer") else ""
        out.append(f"{d['id']} {d['role']} {state}{since}{printer}")
    return "; ".join(out) or "none registered (motcua device add)"


def _backup(data: Path, now: float) -> str:
    from broker.backup_schedule import backup_status
    s = backup_status(data, now)
    if s.last_good_at is None:
        text = "none yet (motcua backup now)"
    else:
        where = "on the USB stick" if s.place == "usb" else "in a folder of this machine"
        text = f"last good {_when(s.last_good_at)} ({(s.age_s or 0) / 3600:.0f} h ago), {where}: {s.file}"
    return text + (f"; last attempt failed: {s.last_error}" if s.last_error else "")


def cmd_status(args: argparse.Namespace) -> int:
    from broker.alarms import backup_check, storage_alarms
    from broker.datalock import DataLock
    from broker.ledger import free_bytes
    from hall.config import load_hall
    cfg = load_hall(args.config)
    data = Path(args.data)
    now = time.time()
    print(f"hall {cfg.id!r} ({cfg.name})")
    if not (data / "hall.db").is_file():
        print(f"  data      {data}: no hall here (no hall.db); give --data the folder `motcua serve` uses")
        return 1
    pid = DataLock(data).holder()
    print(f"  server    {f'serving (pid {pid})' if pid else 'NOT RUNNING (systemctl status motcua-hall)'}")
    print(f"  data      {data}: {free_bytes(data) // (1024 * 1024)} MB free")
    # The kernel's own state (set by systemd-timesyncd, chrony or ntpd) or timesyncd's flag file:
    # the same rule the screens use to show the time (hall/clock.py). A Pi has no battery clock.
    synced = clock_synchronised()
    print(f"  clock     {'synchronised' if synced else 'not synchronised from the network (yet): times may be wrong'}"
          f", now {_when(now)}")
    print(f"  backup    {_backup(data, now)}")
    print(f"  devices   {_devices(data)}")
    alarms = [*storage_alarms(data, now), *backup_check(cfg.zone)(data, now)]
    if not alarms:
        print("  alarms    none")
    for i, a in enumerate(alarms):
        print(f"  {'alarms' if i == 0 else '':<9} {a.code}: {a.detail}")
        print(f"  {'':<9}   {a.message}")
    return 0 if pid and not alarms else 1
