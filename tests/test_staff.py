"""Staff accounts (issue 10, section 2): the store in broker/staff.py and `motcua staff …`.

Real SQLite files in tmp_path. The store's tests use cheap scrypt parameters (Staff takes them as
a parameter and stores them with each hash); the command runs with the real ones, in-process
through motcua_cli.main.main and once as a subprocess with the PIN on a pipe.
"""

from __future__ import annotations

import dataclasses
import io
import sqlite3
import subprocess
import sys
import unicodedata

import pytest

from broker.ledger import Ledger
from broker.staff import SCRYPT, PinHash, Scrypt, Staff, StaffError, StaffMember
from motcua_cli.main import main
from tests.conftest import EXAMPLE, ROOT

CHEAP = Scrypt(n=2 ** 10, r=8, p=1)
COUNTERS = (1, 2, 3, 4)
LAN = "Nguyễn Thị Lan"


class Clock:
    def __init__(self, now: float = 1_790_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def staff(tmp_path, clock):
    s = Staff(tmp_path / "staff.db", kdf=CHEAP, clock=clock)
    yield s
    s.close()


def raw_hashes(path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [h for (h,) in conn.execute("SELECT pin_hash FROM staff ORDER BY id")]
    finally:
        conn.close()


# --- the store ---------------------------------------------------------------------------------

def test_add_list_disable_reset_pin(staff, clock):
    lan = staff.add(LAN, "clerk", "4821", counters=[2, 1, 2], hall_counters=COUNTERS)
    assert lan == StaffMember(1, LAN, "clerk", (1, 2), False, clock.now, clock.now)
    clock.now += 60
    hung = staff.add("Trần Văn Hùng", "leader", "mật khẩu 2026", hall_counters=COUNTERS)
    assert [m.name for m in staff.members()] == [LAN, "Trần Văn Hùng"]
    assert (hung.id, hung.role, hung.counters) == (2, "leader", ())
    assert lan.may_act_for(1) and not lan.may_act_for(3)
    assert not hung.may_act_for(1), "a leader acts only at a counter named for them"

    clock.now += 60
    changed = staff.reset_pin("nguyễn thị lan", "73920145")
    assert changed.pin_changed_at == clock.now and changed.created_at == lan.created_at
    assert staff.verify(LAN, "4821") is None
    # A right PIN sets the count back to 0; the last wrong one's time stays, for the web step to show.
    assert staff.verify(LAN, "73920145") == dataclasses.replace(changed, last_failure_at=clock.now)

    off = staff.disable(hung.id)
    assert off.disabled and not off.may_act_for(1)
    assert staff.member(2) == off and staff.member("2") == off
    with pytest.raises(StaffError) as err:
        staff.disable("Không Có Ai")
    assert err.value.code == "not_found" and "Không tìm thấy cán bộ" in err.value.vi


def test_the_store_survives_a_reopen(tmp_path, clock):
    with Staff(tmp_path / "staff.db", kdf=CHEAP, clock=clock) as s:
        s.add(LAN, "clerk", "4821", counters=[3], hall_counters=COUNTERS)
    with Staff(tmp_path / "staff.db", kdf=CHEAP, clock=clock) as s:
        assert s.verify(LAN, "4821") == s.member(1) and s.member(1).counters == (3,)


@pytest.mark.parametrize("pin", ["", "123", "123456789" + "x" * 120, "12", "123456789", "abc", "pass wd",
                                 "abcdefg", " abcdefgh", "abcdefgh ", "abcd\tefgh", "١٢٣٤"])
def test_bad_pin_shapes_are_refused(staff, pin):
    with pytest.raises(StaffError) as err:
        staff.add(LAN, "clerk", pin, hall_counters=COUNTERS)
    assert err.value.code == "bad_pin" and "4–8 chữ số" in err.value.vi
    assert staff.members() == []


@pytest.mark.parametrize("pin", ["0000", "12345678", "mật khẩu dài", "abcdefgh", "1234 5678"])
def test_good_pin_shapes(staff, pin):
    staff.add(LAN, "clerk", pin, hall_counters=COUNTERS)
    assert staff.verify(LAN, pin) is not None


def test_an_unknown_counter_is_named(staff):
    with pytest.raises(StaffError) as err:
        staff.add(LAN, "clerk", "4821", counters=[1, 9], hall_counters=COUNTERS)
    assert err.value.code == "unknown_counter" and "counter 9" in str(err.value) and "quầy 9" in err.value.vi
    assert staff.members() == []


@pytest.mark.parametrize("again", ["nguyễn thị lan", "NGUYỄN THỊ LAN", unicodedata.normalize("NFD", LAN),
                                   "  Nguyễn   Thị Lan ", unicodedata.normalize("NFD", "nGUYỄN thị LAN")])
def test_a_name_already_there_is_refused_in_any_case_or_composition(staff, again):
    staff.add(LAN, "clerk", "4821", hall_counters=COUNTERS)
    assert again != LAN
    with pytest.raises(StaffError) as err:
        staff.add(again, "leader", "5555", hall_counters=COUNTERS)
    assert err.value.code == "name_taken" and LAN in str(err.value) and LAN in err.value.vi
    assert len(staff.members()) == 1


def test_names_are_stored_nfc_and_other_names_and_roles_are_checked(staff):
    m = staff.add(unicodedata.normalize("NFD", LAN), "clerk", "4821", hall_counters=COUNTERS)
    assert m.name == LAN and unicodedata.is_normalized("NFC", m.name)
    for name, role, code in [("", "clerk", "bad_name"), ("1234", "clerk", "bad_name"),
                             ("x" * 61, "clerk", "bad_name"), ("Lê\x07Văn", "clerk", "bad_name"),
                             ("Lê\u200bVăn", "clerk", "bad_name"), ("Lê Văn A", "admin", "bad_role")]:
        with pytest.raises(StaffError) as err:
            staff.add(name, role, "4821", hall_counters=COUNTERS)
        assert err.value.code == code, name


def test_the_hash_never_holds_the_pin_and_one_pin_hashes_differently_per_member(tmp_path, staff):
    pin = "48213579"
    staff.add(LAN, "clerk", pin, hall_counters=COUNTERS)
    staff.add("Trần Văn Hùng", "clerk", pin, hall_counters=COUNTERS)
    first, second = raw_hashes(tmp_path / "staff.db")
    assert first != second
    assert PinHash.parse(first).salt != PinHash.parse(second).salt
    assert first.startswith("scrypt$n=1024,r=8,p=1$")
    # Nowhere in the files SQLite wrote: the database and its write-ahead log.
    for path in tmp_path.glob("staff.db*"):
        assert pin.encode() not in path.read_bytes(), path


def test_verify_right_wrong_disabled_and_unknown(staff, clock):
    lan = staff.add(LAN, "clerk", "4821", hall_counters=COUNTERS)
    assert staff.verify(LAN, "4821") == lan
    assert staff.verify(lan.id, "4821") == lan and staff.verify("NGUYỄN THỊ LAN", "4821") == lan
    clock.now += 5
    assert staff.verify(LAN, "4822") is None and staff.verify(LAN, "") is None
    failed = staff.get(LAN)
    assert (failed.failures, failed.last_failure_at) == (2, clock.now)
    assert staff.verify(LAN, "4821").failures == 0, "a right PIN sets the count back to 0"
    staff.verify(LAN, "0000")
    assert staff.reset_pin(LAN, "5678").failures == 0
    staff.disable(LAN)
    assert staff.verify(LAN, "5678") is None
    assert staff.verify("Không Có Ai", "5678") is None and staff.verify(99, "5678") is None


def test_the_stored_parameters_verify_and_raised_ones_take_over_at_the_next_login(tmp_path, clock):
    with Staff(tmp_path / "staff.db", kdf=CHEAP, clock=clock) as s:
        s.add(LAN, "clerk", "4821", hall_counters=COUNTERS)
    stronger = Scrypt(n=2 ** 11, r=8, p=1)
    with Staff(tmp_path / "staff.db", kdf=stronger, clock=clock) as s:
        assert s.verify(LAN, "4822") is None
        assert raw_hashes(tmp_path / "staff.db")[0].startswith("scrypt$n=1024,"), "a wrong PIN changes no hash"
        assert s.verify(LAN, "4821") is not None          # checked with the stored n=1024
        assert raw_hashes(tmp_path / "staff.db")[0].startswith("scrypt$n=2048,r=8,p=1$")
        assert s.verify(LAN, "4821") is not None
    with Staff(tmp_path / "staff.db", kdf=CHEAP, clock=clock) as s:   # never lowered again
        assert s.verify(LAN, "4821") is not None
        assert raw_hashes(tmp_path / "staff.db")[0].startswith("scrypt$n=2048,")


def test_the_default_parameters_are_the_measured_ones():
    assert (SCRYPT.n, SCRYPT.r, SCRYPT.p) == (2 ** 15, 8, 1)
    salt = bytes(16)
    assert SCRYPT.derive("4821", salt) != SCRYPT.derive("4822", salt)   # 32 MiB: above OpenSSL's default limit


# --- the command -------------------------------------------------------------------------------

@pytest.fixture
def data(tmp_path):
    """The data folder of an existing hall (it has a ledger)."""
    folder = tmp_path / "data"
    folder.mkdir()
    Ledger(folder / "hall.db").close()
    return folder


def staff_cmd(capsys, monkeypatch, data, *args, stdin: str | None = None, config=True):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    where = ["--data", str(data)] + (["--config", str(EXAMPLE)] if config else [])
    code = main(["staff", *args, *where])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_staff_commands(capsys, monkeypatch, data):
    code, out, err = staff_cmd(capsys, monkeypatch, data, "add", LAN, "--role", "clerk", "--counters", "1,2",
                               "--pin-stdin", stdin="4821\n")
    assert code == 0, err
    assert out == f"staff member 1 '{LAN}' (clerk, counters 1, 2) added; they log in with their name and PIN\n"
    code, out, err = staff_cmd(capsys, monkeypatch, data, "add", "Trần Văn Hùng", "--role", "leader",
                               "--pin-stdin", stdin="mật khẩu 2026\r\n")
    assert code == 0 and "'Trần Văn Hùng' (leader) added" in out

    for args, stdin, message in [
            (("add", "nguyễn thị lan", "--role", "leader"), "5555\n", f"staff member 1 '{LAN}' already has that name"),
            (("add", "Lê Văn A", "--role", "clerk", "--counters", "1,9"), "5555\n", "counter 9 is not in hall.toml"),
            (("add", "Lê Văn A", "--role", "clerk"), "123\n", "a PIN is 4-8 digits"),
            (("add", "Lê Văn A", "--role", "clerk"), "", "a PIN is 4-8 digits")]:
        code, out, err = staff_cmd(capsys, monkeypatch, data, *args, "--pin-stdin", stdin=stdin)
        assert code == 2 and err.startswith("motcua staff add: ") and message in err, (args, err)
    # No terminal and no --pin-stdin: refused, never read from a pipe by surprise.
    code, out, err = staff_cmd(capsys, monkeypatch, data, "add", "Lê Văn A", "--role", "clerk", stdin="5555\n")
    assert code == 2 and "give --pin-stdin" in err

    code, out, err = staff_cmd(capsys, monkeypatch, data, "list", config=False)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].split()[:6] == ["1", "Nguyễn", "Thị", "Lan", "clerk,", "counters"] and "PIN set" in lines[0]

    code, out, err = staff_cmd(capsys, monkeypatch, data, "disable", "TRẦN VĂN HÙNG", config=False)
    assert code == 0 and out == "staff member 2 'Trần Văn Hùng' disabled; they can no longer log in\n"
    code, out, err = staff_cmd(capsys, monkeypatch, data, "reset-pin", "1", "--pin-stdin", stdin="73920145\n",
                               config=False)
    assert code == 0 and out == f"PIN of staff member 1 '{LAN}' changed; the old one no longer works\n"
    code, out, err = staff_cmd(capsys, monkeypatch, data, "reset-pin", "Không Có Ai", "--pin-stdin",
                               stdin="73920145\n", config=False)
    assert code == 2 and err == "motcua staff reset-pin: no staff member 'Không Có Ai'\n"
    code, out, err = staff_cmd(capsys, monkeypatch, data, "list", config=False)
    assert out.splitlines()[1].endswith("disabled")

    with Staff(data / "staff.db") as s:     # what the command stored, checked with the stored parameters
        assert s.verify(LAN, "73920145") is not None and s.verify(LAN, "4821") is None
        assert s.verify("Trần Văn Hùng", "mật khẩu 2026") is None      # disabled
    assert oct((data / "staff.db").stat().st_mode)[-3:] == "600"


def test_staff_commands_refuse_a_folder_with_no_hall(capsys, monkeypatch, tmp_path):
    code, out, err = staff_cmd(capsys, monkeypatch, tmp_path, "list", config=False)
    assert code == 1 and "no hall server data in" in err
    assert not (tmp_path / "staff.db").exists()


def test_staff_add_as_a_process_with_the_pin_on_a_pipe(data):
    res = subprocess.run([sys.executable, "-m", "motcua_cli.main", "staff", "add", LAN, "--role", "clerk",
                          "--counters", "3", "--pin-stdin", "--config", str(EXAMPLE), "--data", str(data)],
                         cwd=ROOT, input="4821\n", capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "4821" not in res.stdout + res.stderr
    with Staff(data / "staff.db") as s:
        m = s.verify(LAN, "4821")
        assert m is not None and m.counters == (3,)
        assert raw_hashes(data / "staff.db")[0].startswith("scrypt$n=32768,r=8,p=1$")
