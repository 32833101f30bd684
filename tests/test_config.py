"""hall.toml and device.toml: the example hall loads, and every mistake names file, key and problem."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hall.config import load_hall
from hall.device import load_device
from hall.tomlcheck import ConfigError
from tests.conftest import EXAMPLE, VN

# The smallest hall that loads; each broken case below edits one spot of it.
BASE = """\
[hall]
id = "thu-nghiem"
name = "UBND xã Thử Nghiệm"

[hours]
monday = ["07:00-11:30", "13:30-17:00"]

[[counters]]
id = 1
name = "Quầy 1"
name_en = "Counter 1"

[[counters]]
id = 2
name = "Quầy 2"
name_en = "Counter 2"

[[services]]
id = "ho-tich"
name = "Hộ tịch"
name_en = "Civil status"
first = 1
last = 99
counters = [1]

[[services]]
id = "chung-thuc"
name = "Chứng thực"
name_en = "Certification"
prefix = "B"
first = 1
last = 99
counters = [2]
"""

RATING_1 = '\n[[rating]]\nname = "Hài lòng"\nname_en = "Satisfied"\n'

# (case id, text to find in BASE, its replacement, key the error must name, words of the problem)
BROKEN = [
    ("invalid-toml", 'name = "UBND xã Thử Nghiệm"', 'name = "UBND xã Thử Nghiệm', "", "not valid TOML"),
    ("missing-hall-id", 'id = "thu-nghiem"\n', "", "hall.id", "required but missing"),
    ("missing-hall", "[hall]\n", "[hal]\n", "hall", "required but missing"),
    ("bad-id-chars", 'id = "thu-nghiem"', 'id = "Thu Nghiem"', "hall.id", "'Thu Nghiem' is not allowed"),
    ("typo-in-hall", "[hall]\n", '[hall]\nlookup_ulr = "http://x"\n', "hall.lookup_ulr", "not a known setting"),
    ("typo-in-service", "counters = [2]", "counters = [2]\nminutse = 5", "services[2].minutse",
     "not a known setting"),
    ("typo-top-table", "[hours]", "[kiosks]\ntickets_per_minute = 6\n\n[hours]", "kiosks", "not a known setting"),
    ("text-for-number", "[hours]", '[kiosk]\ntickets_per_minute = "6"\n\n[hours]',
     "kiosk.tickets_per_minute", "must be a whole number, not '6'"),
    ("true-for-number", "[hours]", "[server]\nmqtt_port = true\n\n[hours]", "server.mqtt_port",
     "must be a whole number, not True"),
    ("true-in-number-list", "counters = [1]", "counters = [true]", "services[1].counters", "only whole numbers"),
    ("number-out-of-range", "[hours]", "[hours]\nreset_hour = 24", "hours.reset_hour", "at most 23"),
    ("undefined-counter", "counters = [2]", "counters = [2, 9]", "services[2].counters",
     "counter 9 is not in [[counters]]"),
    ("overlapping-numbers", 'prefix = "B"\nfirst = 1\nlast = 99', 'prefix = ""\nfirst = 99\nlast = 150',
     "services", "services 'ho-tich' and 'chung-thuc' share prefix ''"),     # both print 99
    ("last-not-after-first", "first = 1\nlast = 99\ncounters = [1]", "first = 99\nlast = 99\ncounters = [1]",
     "services[1].last", "greater than 'first'"),
    ("span-not-hh-mm", '"07:00-11:30", "13:30-17:00"', '"7h-11h"', "hours.monday", "'7h-11h' is not a span"),
    ("span-end-before-start", '"07:00-11:30", "13:30-17:00"', '"11:30-07:00"', "hours.monday",
     "start before end"),
    ("span-past-midnight", '"07:00-11:30", "13:30-17:00"', '"07:00-24:30"', "hours.monday", "not a valid span"),
    ("spans-overlap", '"07:00-11:30", "13:30-17:00"', '"13:30-17:00", "07:00-14:00"', "hours.monday",
     "07:00-14:00 and 13:30-17:00 overlap"),
    ("bad-closed-date", "[hours]", '[hours]\nclosed_dates = ["2027-02-30"]', "hours.closed_dates",
     "'2027-02-30' is not a date"),
    ("unquoted-closed-date", "[hours]", "[hours]\nclosed_dates = [2027-02-16]", "hours.closed_dates",
     "only texts in quotes"),
    ("unknown-zone", 'name = "UBND', 'timezone = "Mars/Olympus"\nname = "UBND', "hall.timezone",
     "'Mars/Olympus' is not a known time zone"),
    # 'Asia' is a folder of the tz database: ZoneInfo raised IsADirectoryError, not a ConfigError.
    ("zone-is-a-folder", 'name = "UBND', 'timezone = "Asia"\nname = "UBND', "hall.timezone",
     "'Asia' is not a known time zone"),
    ("rating-one-level", "[[counters]]\nid = 1", RATING_1 + "\n[[counters]]\nid = 1", "rating", "2 to 5 levels"),
    ("duplicate-counter", "id = 2\nname = \"Quầy 2\"", "id = 1\nname = \"Quầy 2\"", "counters",
     "two counters have the same id"),
    ("duplicate-service", 'id = "chung-thuc"', 'id = "ho-tich"', "services", "two services have the same id"),
    ("no-counters-in-service", "counters = [1]", "counters = []", "services[1].counters", "at least one counter"),
    ("bad-policy", "[hours]", '[priority]\npolicy = "fifo"\n\n[hours]', "priority.policy",
     "must be one of strict, interleave"),
]


def write(tmp_path, text: str | bytes, name: str = "hall.toml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_base_hall_loads(tmp_path):
    # Without this, every broken case could be failing for a reason other than its own edit.
    # BASE has no [hall] name_en: optional, it used to fail with "must not be empty".
    cfg = load_hall(write(tmp_path, BASE))
    assert [s.id for s in cfg.services] == ["ho-tich", "chung-thuc"]
    assert cfg.timezone == "Asia/Ho_Chi_Minh" and cfg.rating[-1].score == 3   # the defaults


@pytest.mark.parametrize("case, old, new, key, problem", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_hall_names_file_key_and_problem(tmp_path, case, old, new, key, problem):
    assert BASE.count(old) == 1, "the case must edit exactly one spot of BASE"
    path = write(tmp_path, BASE.replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_hall(path)
    err = info.value
    assert err.file == str(path) and str(path) in str(err)
    assert err.key == key
    if key:
        assert f"key '{key}'" in str(err)
    assert problem in str(err)


def test_invalid_toml_says_where(tmp_path):
    path = write(tmp_path, BASE.replace('name = "Quầy 2"', 'name = Quầy 2'))
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 15"):
        load_hall(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere" / "hall.toml"
    with pytest.raises(ConfigError) as info:
        load_hall(path)
    assert str(path) in str(info.value) and "cannot read the file" in str(info.value)


def test_not_utf8(tmp_path):
    # A file saved by an editor in a legacy Windows code page instead of UTF-8.
    data = '[hall]\nid = "x"\nname = "UBND xã"\n'.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_hall(path)
    assert str(path) in str(info.value) and "not UTF-8" in str(info.value)


def test_same_numbers_with_other_prefixes_are_fine(tmp_path):
    # Ranges may overlap when prefixes differ: 'B01' and '01' cannot be confused.
    cfg = load_hall(write(tmp_path, BASE))
    assert cfg.service("ho-tich").label(1) == "01" and cfg.service("chung-thuc").label(1) == "B01"


def test_example_hall():
    cfg = load_hall(EXAMPLE)
    assert cfg.id == "dang-kang" and cfg.name == "UBND xã Dang Kang" and cfg.zone.key == "Asia/Ho_Chi_Minh"
    assert [c.id for c in cfg.counters] == [1, 2, 3, 4]
    assert [c.name for c in cfg.counters] == ["Quầy 1", "Quầy 2", "Quầy 3", "Quầy 4"]
    assert {s.id: s.counters for s in cfg.services} == {
        "ho-tich": (1, 2), "chung-thuc": (2, 1), "dat-dai": (3,), "xa-hoi": (4,), "khac": (4, 3),
        "tra-ket-qua": (1, 2, 3, 4)}
    assert [(s.first, s.last, s.minutes) for s in cfg.services][:3] == [(1001, 1999, 10), (2001, 2999, 5),
                                                                        (3001, 3999, 15)]
    assert cfg.service("dat-dai").label(3001) == "3001" and cfg.service("nope") is None
    assert cfg.services_of(1) == ("ho-tich", "chung-thuc", "tra-ket-qua")
    assert cfg.services_of(4) == ("xa-hoi", "khac", "tra-ket-qua")
    assert (cfg.priority.policy, cfg.priority.every) == ("interleave", 3)
    assert [c.id for c in cfg.priority.categories] == ["elderly", "disabled", "pregnant", "small-child", "merit"]
    assert [(r.score, r.name) for r in cfg.rating] == [
        (1, "Không hài lòng"), (2, "Hài lòng"), (3, "Rất hài lòng")]
    assert (cfg.kiosk_tickets_per_minute, cfg.mqtt_port, cfg.http_port) == (6, 1883, 8080)
    assert cfg.hours.reset_hour == 3 and date(2027, 9, 2) in cfg.hours.closed_dates
    assert cfg.hours.week[2] == ((7 * 60, 11 * 60 + 30), (13 * 60 + 30, 17 * 60))
    assert cfg.hours.week[5] == ((7 * 60 + 30, 11 * 60 + 30),) and cfg.hours.week[6] == ()


@pytest.mark.parametrize("when, is_open", [
    ((2026, 11, 25, 6, 59), False), ((2026, 11, 25, 7, 0), True), ((2026, 11, 25, 11, 29), True),
    ((2026, 11, 25, 11, 30), False),            # spans end exclusive: lunch break
    ((2026, 11, 25, 13, 30), True), ((2026, 11, 25, 17, 0), False),
    ((2026, 11, 28, 7, 30), True), ((2026, 11, 28, 13, 30), False),    # Saturday morning only
    ((2026, 11, 29, 9, 0), False),              # Sunday
    ((2027, 9, 2, 9, 0), False), ((2027, 9, 3, 9, 0), True),           # National Day, then a Friday
])
def test_example_opening_hours(when, is_open):
    assert load_hall(EXAMPLE).hours.is_open(datetime(*when, tzinfo=VN)) is is_open


def test_hours_describe_in_vietnamese():
    text = load_hall(EXAMPLE).hours.describe()
    assert text.startswith("Thứ Hai: 07:00–11:30, 13:30–17:00; Thứ Ba:")
    assert text.endswith("Thứ Bảy: 07:30–11:30") and "Chủ nhật" not in text


# --- device.toml ------------------------------------------------------------------

DEVICE = """\
[device]
id = "counter-1"
role = "counter"
password = "s3cret"
counter = 1

[hall]
id = "dang-kang"
host = "10.0.0.2"
"""


def test_device_loads(tmp_path):
    dev = load_device(write(tmp_path, DEVICE, "device.toml"))
    assert (dev.id, dev.role, dev.counter, dev.hall, dev.host, dev.port) == (
        "counter-1", "counter", 1, "dang-kang", "10.0.0.2", 1883)


@pytest.mark.parametrize("old, new, key, problem", [
    ("counter = 1\n", "", "device.counter", "must name its counter"),
    ('id = "counter-1"', 'id = "hall"', "device.id", "'hall' is reserved"),
    ('role = "counter"', 'role = "printer"', "device.role", "must be one of kiosk, counter, display"),
    ("counter = 1", "counter = 0", "device.counter", "at least 1"),
    ('host = "10.0.0.2"', 'host = "10.0.0.2"\nport = "1883"', "hall.port", "must be a whole number"),
    ('password = "s3cret"', 'password = "s3cret"\npasword = "x"', "device.pasword", "not a known setting"),
], ids=["counter-without-counter", "reserved-id", "unknown-role", "counter-zero", "port-as-text", "typo"])
def test_broken_device(tmp_path, old, new, key, problem):
    assert DEVICE.count(old) == 1
    path = write(tmp_path, DEVICE.replace(old, new), "device.toml")
    with pytest.raises(ConfigError) as info:
        load_device(path)
    assert info.value.key == key and str(path) in str(info.value) and problem in str(info.value)
