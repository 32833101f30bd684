"""[printer] in device.toml: good tables load, every mistake names the file and the key, every key is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from test_docs import doc, documented_keys

from hall.tomlcheck import ConfigError
from kiosk.backend import load_printer
from printer.config import TRANSPORT_KEYS, PrinterConfig, check_printer

DEVICE = """[device]
id = "kiosk-1"
role = "kiosk"
password = "secret"

[hall]
id = "dang-kang"
host = "192.168.1.10"
"""


def device_toml(tmp_path: Path, printer: str) -> Path:
    path = tmp_path / "kiosk-1.toml"
    path.write_text(DEVICE + ("\n[printer]\n" + printer if printer else ""), encoding="utf-8")
    return path


@pytest.mark.parametrize("table, expect", [
    ('transport = "network"\nhost = "192.168.1.50"\nmodel = "TM-T20II"',
     dict(transport="network", host="192.168.1.50", tcp_port=9100, model="TM-T20II", cut="partial",
          max_age_s=90, status_poll_s=2.0, timeout_s=10.0, status_query="auto")),
    ('transport = "usb"\nvendor_id = "0x0416"\nproduct_id = "5011"\nmodel = "POS-58"\ncut = "none"',
     dict(vendor_id=0x0416, product_id=0x5011, in_ep=0x82, out_ep=0x01, model="POS-58", cut="none")),
    ('transport = "usb"\nvendor_id = 0x04b8\nproduct_id = 0x0e15\nin_ep = "0x81"\nout_ep = 2\ninterface = 1',
     dict(vendor_id=0x04B8, product_id=0x0E15, in_ep=0x81, out_ep=2, interface=1)),
    ('transport = "serial"\nport = "/dev/ttyUSB0"\nbaudrate = 115200\ntext_mode = true\nbeep = true',
     dict(serial_port="/dev/ttyUSB0", baudrate=115200, text_mode=True, beep=True)),
    ('transport = "file"\npath = "/dev/usb/lp0"\nmax_age_s = 900\nstatus_poll_s = 0.5',
     dict(path="/dev/usb/lp0", max_age_s=900, status_poll_s=0.5)),
    ('transport = "cups"\nqueue = "ve-kiosk"\nstatus_query = "never"', dict(queue="ve-kiosk", status_query="never")),
    ('transport = "network"\nhost = "p"\nmodel = "default"\nwidth = 384\nport = 9101', dict(width=384, tcp_port=9101)),
    ('transport = "network"\nhost = "p"\nmodel = "TSP600"', dict(status_query="never")),  # Star: no DLE EOT
])
def test_good_printer_tables_load(tmp_path, table, expect):
    cfg = load_printer(device_toml(tmp_path, table))
    assert isinstance(cfg, PrinterConfig)
    assert {k: getattr(cfg, k) for k in expect} == expect


def test_relative_preview_folder_is_taken_from_the_device_toml_folder(tmp_path):
    cfg = load_printer(device_toml(tmp_path, 'transport = "preview"\nfolder = "tickets"'))
    assert cfg.folder == str(tmp_path.resolve() / "tickets")


def test_no_printer_table_means_no_printer(tmp_path):
    assert load_printer(device_toml(tmp_path, "")) is None


@pytest.mark.parametrize("table, key, problem", [
    ('transport = "bluetooth"', "printer.transport", "must be one of usb, serial, network, file, cups, preview"),
    ('transport = "serial"\nport = "/dev/ttyS0"\nbaudrate = "9600"', "printer.baudrate", "must be a whole number"),
    ('transport = "serial"', "printer.port", "is required but missing"),
    ('transport = "network"', "printer.host", "is required but missing"),
    ('transport = "network"\nhost = "p"\nport = 70000', "printer.port", "must be at most 65535"),
    ('transport = "network"\nhost = "p"\nport = "9100"', "printer.port", "must be a whole number"),
    ('transport = "usb"\nvendor_id = "0xZZZZ"\nproduct_id = "1"', "printer.vendor_id", "hexadecimal id like"),
    ('transport = "usb"\nvendor_id = "0x0416"', "printer.product_id", "is required but missing"),
    ('transport = "usb"\nvendor_id = 70000\nproduct_id = 1', "printer.vendor_id", "must be at most 65535"),
    ('transport = "usb"\nvendor_id = 1\nproduct_id = 1\nin_ep = "0x182"', "printer.in_ep", "at most 0xff"),
    ('transport = "usb"\nvendor_id = 1\nproduct_id = 1\nbaudrate = 9600', "printer.baudrate",
     "is for transport 'serial'; this printer's transport is 'usb'"),
    ('transport = "network"\nhost = "p"\nfolder = "x"', "printer.folder", "is for transport 'preview'"),
    ('transport = "network"\nhost = "p"\ncut = "half"', "printer.cut", "must be one of full, partial, none"),
    ('transport = "network"\nhost = "p"\nbeep = "yes"', "printer.beep", "must be true or false"),
    ('transport = "network"\nhost = "p"\nmax_age_s = 0', "printer.max_age_s", "must be at least 10"),
    ('transport = "network"\nhost = "p"\nstatus_poll_s = "2"', "printer.status_poll_s", "must be a number"),
    ('transport = "network"\nhost = "p"\ntimeout_s = true', "printer.timeout_s", "must be a number"),
    ('transport = "network"\nhost = "p"\ntimout_s = 5', "printer.timout_s", "is not a known setting"),
    ('transport = "network"\nhost = "p"\nmodel = "TM-T20"', "printer.model", "TM-T20II"),
    ('transport = "network"\nhost = "p"\nmodel = "default"\nwidth = 500', "printer.width", "multiple of 8"),
    ('transport = "cups"\nqueue = "my queue"', "printer.queue", "is not allowed here"),
    ('transport = "network"\nhost = "p"\nstatus_query = "sometimes"', "printer.status_query", "auto, always, never"),
])
def test_bad_printer_tables_name_the_file_and_the_key(tmp_path, table, key, problem):
    path = device_toml(tmp_path, table)
    with pytest.raises(ConfigError) as err:
        load_printer(path)
    assert err.value.file == str(path) and err.value.key == key
    assert problem in err.value.problem
    assert str(err.value).startswith(f"{path}: key '{key}': ")


def test_error_message_shape_for_the_kiosk_log():
    with pytest.raises(ConfigError, match=r"^device.toml: key 'printer.baudrate': must be a whole number"):
        check_printer({"transport": "serial", "port": "/dev/ttyS0", "baudrate": "fast"})


def _config_keys() -> set[str]:
    """Every [printer] key printer/config.py reads: from the fields' docs and the per-transport table."""
    keys = {k for ks in TRANSPORT_KEYS.values() for k in ks}
    for f in dataclasses.fields(PrinterConfig):
        keys |= set(re.findall(r"\[printer\] ([a-z_]+):", f.metadata["doc"]))
    return keys


def test_every_printer_key_is_documented_in_config_md_and_printers_md():
    keys = _config_keys()
    assert {"transport", "model", "vendor_id", "port", "host", "max_age_s", "status_query"} <= keys
    _, device_keys = documented_keys(doc("config.md"))
    assert keys - device_keys.get("printer", set()) == set(), "missing from config.md's device.toml [printer]"
    printers = doc("printers.md")
    missing = {k for k in keys if f"`{k}`" not in printers}
    assert not missing, f"docs/printers.md does not mention {sorted(missing)}"
    source = "".join(Path(__import__(m, fromlist=["_"]).__file__).read_text(encoding="utf-8")
                     for m in ("printer.config", "printer.transports"))   # each transport reads its own keys
    read = set(re.findall(r"""t\.(?:text|integer|number|boolean|choice)\(\s*["']([a-z_]+)["']""", source))
    assert read - keys == set(), "printer/config.py reads keys no field documents"
