"""`motcua backup now|list|prepare-usb` and `motcua restore FILE`: the hall's backups (docs/backup.md).

    $ motcua backup now --config /etc/motcua/hall.toml --data /var/lib/motcua      # to the stick if plugged in
    $ motcua backup list --data /var/lib/motcua --check
    $ motcua backup prepare-usb /media/usb --data /var/lib/motcua
    $ sudo systemctl stop motcua-hall
    $ motcua restore /media/usb/motcua-backup/motcua-dang-kang-20261202-020003.zip --config … --data …

`--config` is required where the hall id matters: a backup is stamped with it and a restore
refuses a backup of another hall. Exit status: 0 done; 1 the backup could not be written, or a
hall server runs on the folder (restore); 2 a file refused (another hall's, damaged, newer) or
wrong arguments. Errors are printed in English and in Vietnamese, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from motcua_cli.paths import DATA_DIR

REFUSED = {"other_hall", "damaged", "newer", "no_file"}


def add_parser(sub) -> None:
    b = sub.add_parser("backup", help="back up the hall's data (ledger, staff, secret) to a USB stick or a folder"
                       ).add_subparsers(dest="backup_cmd", required=True)
    now = b.add_parser("now", help="take a backup now (online: the hall keeps running), then rotate old ones")
    _config(now)
    _data(now)
    now.add_argument("--to", help="write it into this folder (default: the prepared USB stick when one is "
                     "plugged in, else DATA/backups)")
    now.set_defaults(fn=cmd_now)
    ls = b.add_parser("list", help="list the backups where `backup now` would write them, and the last good one")
    _data(ls)
    ls.add_argument("--config", help="only this hall's backups (its hall.toml)")
    ls.add_argument("--from", dest="folder", help="list this folder instead")
    ls.add_argument("--check", action="store_true", help="also unpack and check each one (sha256, integrity_check)")
    ls.set_defaults(fn=cmd_list)
    pu = b.add_parser("prepare-usb", help="make a mounted USB stick the place backups go (MOUNT/motcua-backup/)")
    pu.add_argument("mount", help="the folder the stick is mounted on, e.g. /media/usb")
    _data(pu)
    pu.set_defaults(fn=cmd_prepare_usb)

    r = sub.add_parser("restore", help="put a backup back in place of the hall's data (the hall server stopped); "
                       "the current files are kept aside")
    r.add_argument("file", help="the backup file (motcua-HALL-YYYYmmdd-HHMMSS.zip)")
    _config(r)
    _data(r)
    r.add_argument("--everything", action="store_true", help="also replace staff.db and catalog.json when the "
                   "folder has them (default: only when it has none)")
    r.set_defaults(fn=cmd_restore)


def _config(sp) -> None:
    sp.add_argument("--config", required=True, help="the hall's hall.toml (its hall id is stamped on the backup)")


def _data(sp) -> None:
    sp.add_argument("--data", default=DATA_DIR, help=f"the hall server's data folder (default {DATA_DIR})")


def _fail(command: str, err) -> None:
    print(f"motcua {command}: {err}", file=sys.stderr)
    vi = getattr(err, "vi", None)
    if vi:
        print(f"  {vi}", file=sys.stderr)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} KB"


def cmd_now(args) -> int:
    from broker.backup import BackupError
    from broker.backup_schedule import backup_now
    from hall.config import load_hall
    cfg = load_hall(args.config)
    try:
        done = backup_now(args.data, cfg, time.time(), to=args.to, folder=cfg.backup_folder or None)
    except BackupError as err:
        _fail("backup now", err)
        return 1
    m = done.backup.manifest
    where = "the USB stick" if done.place == "usb" else "a folder of this machine"
    print(f"backup written to {where}: {done.backup.path} ({_size(done.backup.path.stat().st_size)}, "
          f"{m.tickets} tickets, {', '.join(x.name for x in m.members)}); every database passed integrity_check")
    print(f"  Đã sao lưu vào {'thẻ nhớ USB' if done.place == 'usb' else 'thư mục trên máy chủ'}: {done.backup.path}")
    if done.deleted:
        print(f"rotation deleted {len(done.deleted)} old backup(s): {', '.join(p.name for p in done.deleted)}")
    if done.place != "usb":
        print("note: not on a USB stick; a backup on the server's own SD card does not survive the card. "
              "Prepare one with `motcua backup prepare-usb`.")
    return 0


def cmd_list(args) -> int:
    from broker.backup import BackupError, backups_in, read_manifest, unpacked
    from broker.backup_place import destination
    from broker.backup_schedule import backup_status
    from hall.config import load_hall
    cfg = load_hall(args.config) if args.config else None
    folder, place = ((Path(args.folder), "folder") if args.folder else
                     destination(args.data, None, (cfg.backup_folder or None) if cfg else None))
    print(f"backups in {folder}{' (USB stick)' if place == 'usb' else ''}:")
    found = backups_in(folder, cfg.id if cfg else None)
    bad = 0
    for path, _hall, local in found:
        try:
            m = read_manifest(path)
            note = f"{m.tickets} tickets"
            if args.check:
                with tempfile.TemporaryDirectory(dir=folder, prefix=".motcua-check-") as tmp:
                    with unpacked(path, Path(tmp) / "x"):
                        note += ", checked: good"
        except BackupError as err:
            bad += 1
            note = f"DAMAGED: {err}"
        print(f"  {path.name}  {local:%Y-%m-%d %H:%M}  {_size(path.stat().st_size):>9}  {note}")
    if not found:
        print("  (none)")
    s = backup_status(args.data, time.time())
    if s.last_good_at is None:
        print("last good backup: none recorded in this data folder")
    else:
        print(f"last good backup: {time.strftime('%Y-%m-%d %H:%M', time.localtime(s.last_good_at))} "
              f"({(s.age_s or 0) / 3600:.0f} hours ago) {s.file}")
    if s.stale and cfg is not None:
        print(f"WARNING: {s.warning_en(cfg.zone)}\n  {s.warning_vi(cfg.zone)}")
    elif s.stale:
        print("WARNING: the last good backup is older than 2 days (or there is none)")
    return 1 if bad else 0


def cmd_prepare_usb(args) -> int:
    from broker.backup_place import NotAStick, prepare_usb
    try:
        folder = prepare_usb(args.mount, args.data)
    except (NotAStick, OSError) as err:
        _fail("backup prepare-usb", err)
        return 2 if isinstance(err, NotAStick) else 1
    print(f"ready: backups go to {folder} whenever this stick is plugged in")
    print(f"  Thẻ nhớ đã sẵn sàng: bản sao lưu sẽ được ghi vào {folder} mỗi khi cắm thẻ vào máy chủ.")
    return 0


def cmd_restore(args) -> int:
    from broker.backup import BackupError
    from broker.restore import restore
    from hall.config import load_hall
    cfg = load_hall(args.config)
    try:
        done = restore(args.file, args.data, cfg, time.time(), everything=args.everything)
    except BackupError as err:
        _fail("restore", err)
        return 2 if err.code in REFUSED else 1
    m = done.manifest
    print(f"restored hall '{m.hall_id}' from {args.file} (taken {m.taken_local}, {m.tickets} tickets): "
          f"{', '.join(done.put)} in place")
    if done.aside:
        print(f"the files that were there are kept as: {', '.join(p.name for p in done.aside)}")
    if done.kept:
        print(f"kept this folder's own {', '.join(done.kept)} (newer than the backup; --everything replaces them)")
    print("  Đã khôi phục dữ liệu. Khởi động lại máy chủ: sudo systemctl start motcua-hall")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`backup …` and `restore …` alone (python -m motcua_cli.backup_cmd), as `motcua` runs them."""
    p = argparse.ArgumentParser(prog="motcua")
    add_parser(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    from hall.tomlcheck import ConfigError
    try:
        return args.fn(args)
    except ConfigError as err:
        print(f"motcua: config error: {err}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as err:     # as motcua_cli.main says them: one line, no traceback
        print(f"motcua: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
