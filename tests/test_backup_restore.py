"""Restore refuses what it must (another hall's backup, a damaged one) and keeps the current files aside.

Real SQLite files in a real data folder (a Ledger, staff.db, hall.secret), no running server.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import sqlite3
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from broker.backup import MANIFEST, BackupError, read_manifest, take_backup
from broker.ledger import Ledger
from broker.restore import restore
from broker.server import server_secret
from broker.staff import Staff
from hall.config import load_hall
from motcua_cli import backup_cmd
from tests.conftest import EXAMPLE, at

CFG = load_hall(EXAMPLE)
NOW = at(2026, 12, 2, 15, 0)


def make_hall(data: Path, marker: int) -> Path:
    """A data folder as `serve` leaves it, its ledger's meta 'marker' set to `marker`."""
    data.mkdir(parents=True)
    ledger = Ledger(data / "hall.db")
    ledger.set_meta("marker", marker)
    ledger.close()
    server_secret(data)
    staff = Staff(data / "staff.db")
    staff.add("Nguyễn Thị Lan", "clerk", "4821", counters=(1,), hall_counters=(1, 2, 3, 4))
    staff.close()
    return data


def marker(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT value FROM meta WHERE key = 'marker'").fetchone()[0]
    finally:
        conn.close()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file of the folder and its sha256: what 'nothing changed' means."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_restore_of_another_halls_backup_is_refused_and_changes_nothing(tmp_path, capsys):
    other = replace(CFG, id="xa-ben-canh", name="UBND xã Bên Cạnh")
    theirs = take_backup(make_hall(tmp_path / "theirs", 7), other, tmp_path / "stick", NOW)
    ours = make_hall(tmp_path / "ours", 1)
    before = snapshot(ours)
    with pytest.raises(BackupError) as refused:
        restore(theirs.path, ours, CFG, NOW + 60)
    assert refused.value.code == "other_hall"
    assert "xa-ben-canh" in str(refused.value) and CFG.id in str(refused.value)
    assert "Từ chối khôi phục" in refused.value.vi and "UBND xã Bên Cạnh" in refused.value.vi
    assert snapshot(ours) == before

    # The command says it in both languages and exits 2 (a wrong file), with no traceback.
    cfg_file = tmp_path / "hall.toml"
    cfg_file.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    code = backup_cmd.main(["restore", str(theirs.path), "--config", str(cfg_file), "--data", str(ours)])
    err = capsys.readouterr().err
    assert code == 2 and "refused" in err and "Từ chối khôi phục" in err and "Traceback" not in err
    assert snapshot(ours) == before


def _rezip(src: Path, dst: Path, change) -> Path:
    """A copy of a backup archive with its members passed through change(name, bytes) -> bytes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, change(name, zin.read(name)))
    return dst


def _garbled_db(data: bytes) -> bytes:
    # Page 2 onward is b-tree pages: garbage there is what a failing SD card leaves.
    page = int.from_bytes(data[16:18], "big")
    return data[:page] + bytes(range(256)) * (page // 256) + data[2 * page:]


def test_a_damaged_backup_is_refused_and_changes_nothing(tmp_path):
    good = take_backup(make_hall(tmp_path / "hall", 1), CFG, tmp_path / "stick", NOW).path
    ours = make_hall(tmp_path / "ours", 2)
    raw = good.read_bytes()
    flipped = tmp_path / "flipped.zip"
    middle = raw.index(b"hall.db") + 200      # inside the compressed ledger
    flipped.write_bytes(raw[:middle] + bytes([raw[middle] ^ 0xFF]) + raw[middle + 1:])
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(raw[: len(raw) // 2])
    other_secret = _rezip(good, tmp_path / "secret.zip", lambda n, b: b"not the secret" if n == "hall.secret" else b)

    def garble_with_matching_sha(name: str, body: bytes) -> bytes:
        if name == "hall.db":
            return _garbled_db(body)
        if name == MANIFEST:
            m = json.loads(body)
            with zipfile.ZipFile(good) as zf:
                bad = _garbled_db(zf.read("hall.db"))
            for member in m["members"]:
                if member["name"] == "hall.db":
                    member["sha256"], member["size"] = hashlib.sha256(bad).hexdigest(), len(bad)
            return json.dumps(m).encode()
        return body

    garbled = _rezip(good, tmp_path / "garbled.zip", garble_with_matching_sha)
    not_zip = tmp_path / "photo.zip"
    not_zip.write_bytes(b"\xff\xd8\xff\xe0 a photo, not a backup")

    before = snapshot(ours)
    for bad, why in ((flipped, "hall.db"), (truncated, "not a readable"), (other_secret, "sha256"),
                     (garbled, "integrity_check"), (not_zip, "not a readable")):
        with pytest.raises(BackupError) as refused:
            restore(bad, ours, CFG, NOW)
        assert refused.value.code == "damaged", (bad.name, refused.value)
        assert why in str(refused.value), (bad.name, str(refused.value))
        assert "bị hỏng" in refused.value.vi
        assert snapshot(ours) == before, bad.name
    assert not list(ours.glob(".restore-staging-*"))
    # The good one still restores: what was refused was the damage, not the backup.
    assert restore(good, ours, CFG, NOW).put == ["hall.db", "hall.secret"]


def _write_and_die(db: str) -> None:
    # A hall server killed -9 after a commit: the change is only in the WAL (wal_autocheckpoint=0).
    import os
    ledger = Ledger(db)
    ledger.set_meta("marker", 2)
    os._exit(0)


def test_restore_keeps_the_current_files_aside(tmp_path, capsys):
    data = make_hall(tmp_path / "data", 1)
    first_secret = (data / "hall.secret").read_bytes()
    backup = take_backup(data, CFG, tmp_path / "stick", NOW).path
    # Since the backup: the secret changed (a new Pi) and a commit sits un-checkpointed in the WAL.
    (data / "hall.secret").write_text("a-newer-secret")
    p = multiprocessing.get_context("spawn").Process(target=_write_and_die, args=(str(data / "hall.db"),))
    p.start()
    p.join(30)
    assert (data / "hall.db-wal").stat().st_size > 0
    staff_before = (data / "staff.db").read_bytes()

    cfg_file = tmp_path / "hall.toml"
    cfg_file.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert backup_cmd.main(["restore", str(backup), "--config", str(cfg_file), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "before-restore" in out and "Đã khôi phục" in out

    assert marker(data / "hall.db") == 1
    assert (data / "hall.secret").read_bytes() == first_secret
    [old_db] = data.glob("hall.db.before-restore-*[0-9]")
    assert marker(old_db) == 2, "the set-aside ledger keeps the commit that was in its WAL"
    [old_secret] = data.glob("hall.secret.before-restore-*")
    assert old_secret.read_text() == "a-newer-secret"
    assert (data / "staff.db").read_bytes() == staff_before, "staff.db is newer than the backup: kept"

    # --everything also replaces staff.db, setting the current one aside too (a second restore in the
    # same second gets a -2 name, never overwriting the first one's set-aside files).
    done = restore(backup, data, CFG, NOW + 1, everything=True)
    assert done.put == ["hall.db", "hall.secret", "staff.db"]
    assert any(p.name.startswith("staff.db.before-restore-") for p in done.aside)


def test_a_new_pi_gets_everything_and_the_manifest_says_what_is_inside(tmp_path):
    data = make_hall(tmp_path / "data", 5)
    (data / "catalog.json").write_text('{"v": 1}')
    backup = take_backup(data, CFG, tmp_path / "stick", NOW)
    m = read_manifest(backup.path)
    assert (m.hall_id, m.hall_name, m.taken_at) == (CFG.id, CFG.name, NOW)
    assert {x.name: x.schema for x in m.members} == {"hall.db": 2, "staff.db": 2, "hall.secret": None,
                                                     "catalog.json": None}
    with zipfile.ZipFile(backup.path) as zf:
        for x in m.members:
            assert hashlib.sha256(zf.read(x.name)).hexdigest() == x.sha256
        copy = tmp_path / "copy.db"
        copy.write_bytes(zf.read("hall.db"))
    # A copy through the backup API: one self-contained file, not in WAL mode, no -wal beside it.
    assert sqlite3.connect(copy).execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not any(n.endswith(("-wal", "-shm")) for n in zipfile.ZipFile(backup.path).namelist())

    new = tmp_path / "new-pi"
    done = restore(backup.path, new, CFG, NOW)
    assert done.put == ["hall.db", "hall.secret", "staff.db", "catalog.json"] and not done.aside
    staff = Staff(new / "staff.db")
    assert marker(new / "hall.db") == 5 and staff.verify("Nguyễn Thị Lan", "4821")
    staff.close()
    assert (new / "hall.db").stat().st_mode & 0o777 == 0o600


def test_a_backup_made_by_a_newer_motcua_is_refused(tmp_path):
    data = make_hall(tmp_path / "data", 1)
    good = take_backup(data, CFG, tmp_path / "stick", NOW).path

    def newer(name: str, body: bytes) -> bytes:
        if name != MANIFEST:
            return body
        m = json.loads(body)
        for member in m["members"]:
            if member["name"] == "hall.db":
                member["schema"] = 99
        return json.dumps(m).encode()

    with pytest.raises(BackupError) as refused:
        restore(_rezip(good, tmp_path / "newer.zip", newer), tmp_path / "new", CFG, NOW)
    assert refused.value.code == "newer" and "cập nhật motcua" in refused.value.vi


def test_the_archive_is_written_whole_and_private(tmp_path):
    data = make_hall(tmp_path / "data", 1)
    backup = take_backup(data, CFG, tmp_path / "stick", NOW)
    assert backup.path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "stick").iterdir()) == [backup.path.name]   # no temp left
    assert zipfile.ZipFile(io.BytesIO(backup.path.read_bytes())).testzip() is None


def test_the_commands_back_up_list_and_say_what_is_damaged(tmp_path, capsys):
    data = make_hall(tmp_path / "data", 1)
    cfg_file = tmp_path / "hall.toml"
    cfg_file.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    folder = tmp_path / "folder"
    assert backup_cmd.main(["backup", "now", "--config", str(cfg_file), "--data", str(data), "--to", str(folder)]) == 0
    out = capsys.readouterr().out
    [made] = folder.glob("motcua-*.zip")
    assert str(made) in out and "integrity_check" in out and "Đã sao lưu" in out and "not on a USB stick" in out

    assert backup_cmd.main(["backup", "list", "--data", str(data), "--from", str(folder), "--check"]) == 0
    out = capsys.readouterr().out
    assert made.name in out and "checked: good" in out and "last good backup:" in out
    made.write_bytes(made.read_bytes()[:300])
    assert backup_cmd.main(["backup", "list", "--data", str(data), "--from", str(folder)]) == 1
    assert "DAMAGED" in capsys.readouterr().out

    # No hall in the folder: said in both languages, exit 1, nothing written.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert backup_cmd.main(["backup", "now", "--config", str(cfg_file), "--data", str(empty), "--to", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "no hall server data" in err and "Không có dữ liệu" in err and not list(empty.iterdir())
