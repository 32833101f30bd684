"""Where a backup goes: a USB stick prepared for it when one is plugged in, else a folder.

    dest, place = destination(data_dir, to=None, folder=None)   # (Path, "usb" | "folder")
    prepare_usb(Path("/media/usb"), data_dir)                  # makes /media/usb/motcua-backup/

A stick counts when a file system mounted under /media or /mnt (as /proc/self/mounts lists it)
carries a folder `motcua-backup/` that is writable and on another device than the data folder.
The marker folder is what `motcua backup prepare-usb` makes: a stick the staff plugged in for
photos is never written to, and an unmounted mount point (an empty folder on the SD card) is
never mistaken for the stick, since it has no marker and is on the data folder's own device.
An fstab line with x-systemd.automount is fine: looking for the marker mounts the stick.

Order: `--to FOLDER` given on the command line; the stick; `[backup] folder` of hall.toml (when
hall/config.py has it); DATA/backups (same SD card: it guards against a damaged ledger or a
mistake, not against the card dying, which is why the stick comes first).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

MARKER = "motcua-backup"
USB_ROOTS = ("/media", "/mnt")
MOUNTS = "/proc/self/mounts"
DEFAULT_FOLDER = "backups"          # DATA/backups
README = "DOC-TOI.txt"

README_TEXT = """\
Thư mục sao lưu của phần mềm motcua (Bộ phận Một cửa).
Máy chủ của Bộ phận Một cửa tự ghi bản sao lưu vào đây mỗi đêm khi thẻ nhớ này được cắm vào máy.
Không xóa, không sửa các tệp motcua-*.zip: máy tự xóa bản cũ (giữ 7 ngày, 5 tuần, 12 tháng gần nhất).
Các tệp này chứa dữ liệu nội bộ và mật khẩu đã mã hóa: cất thẻ nhớ ở nơi có khóa.
Cách khôi phục: xem docs/backup.md.

Backup folder of motcua, the one-stop office's hall software. Do not edit or delete the files.
"""

_OCTAL = re.compile(rb"\\([0-7]{3})")


def mount_points(mounts: str | Path = MOUNTS) -> list[Path]:
    """The mount points /proc/self/mounts lists (its \\040-style escapes undone)."""
    try:
        raw = Path(mounts).read_bytes()
    except OSError:
        return []
    out = []
    for line in raw.splitlines():
        fields = line.split()
        if len(fields) >= 2:
            path = _OCTAL.sub(lambda m: bytes([int(m[1], 8)]), fields[1])
            out.append(Path(os.fsdecode(path)))
    return out


def usb_folder(data_dir: str | Path, mounts: str | Path = MOUNTS,
               roots: tuple[str, ...] = USB_ROOTS) -> Path | None:
    """The marker folder of a prepared stick that is plugged in, or None."""
    try:
        own = os.stat(data_dir).st_dev
    except OSError:
        own = None
    for mp in sorted(mount_points(mounts)):
        if not any(mp == Path(r) or Path(r) in mp.parents for r in roots):
            continue
        folder = mp / MARKER
        try:
            st = os.stat(folder)
        except OSError:
            continue
        if folder.is_dir() and st.st_dev != own and os.access(folder, os.W_OK | os.X_OK):
            return folder
    return None


def destination(data_dir: str | Path, to: str | Path | None = None, folder: str | Path | None = None,
                mounts: str | Path = MOUNTS, roots: tuple[str, ...] = USB_ROOTS) -> tuple[Path, str]:
    """Where the next backup goes and what kind of place it is ("usb" or "folder")."""
    if to:
        return Path(to), "folder"
    stick = usb_folder(data_dir, mounts, roots)
    if stick is not None:
        return stick, "usb"
    return (Path(folder) if folder else Path(data_dir) / DEFAULT_FOLDER), "folder"


class NotAStick(ValueError):
    """`prepare-usb` was pointed at a folder of the server's own disk."""


def prepare_usb(mount_point: str | Path, data_dir: str | Path) -> Path:
    """Make MOUNT/motcua-backup/ (with a note for whoever opens the stick); the folder."""
    mp = Path(mount_point)
    if not mp.is_dir():
        raise NotAStick(f"{mp} is not a folder: give the folder where the USB stick is mounted "
                        "(e.g. /media/usb; `lsblk -o NAME,MOUNTPOINT` lists them)")
    try:
        same = os.stat(mp).st_dev == os.stat(data_dir).st_dev
    except OSError:
        same = False
    if same:
        raise NotAStick(f"{mp} is on the hall server's own disk, like {data_dir}: a backup there dies with "
                        "the SD card. Plug in the stick and give the folder it is mounted on")
    folder = mp / MARKER
    folder.mkdir(exist_ok=True)
    (folder / README).write_text(README_TEXT, encoding="utf-8")
    probe = folder / ".motcua-write-test"
    probe.write_bytes(b"ok")           # a read-only stick fails here, not at night
    probe.unlink()
    return folder
