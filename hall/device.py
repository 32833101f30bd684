"""A device's own config file (device.toml), written by `motcua device add`.

    dev = load_device("kiosk-1.toml")
    dev.id, dev.role, dev.counter, dev.host, dev.port, dev.hall
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hall.config import ID_PATTERN, doc
from hall.protocol import ROLES, SERVER_ID
from hall.tomlcheck import ConfigError, Table


@dataclass(frozen=True)
class DeviceConfig:
    id: str = doc("[device] id: the device's id, also its MQTT username.")
    role: str = doc("[device] role: kiosk, counter or display.")
    password: str = doc("[device] password: its MQTT password (keep the file private).")
    counter: int | None = doc("[device] counter: for a counter device, the counter it acts for.")
    hall: str = doc("[hall] id: the hall id, as in hall.toml.")
    host: str = doc("[hall] host: address of the hall server.")
    port: int = doc("[hall] port: Mosquitto's port on the hall server.")
    printer: dict | None = doc("[printer] transport: the kiosk's ticket printer — the raw [printer] table, "
                               "checked by printer.config (docs/printers.md); None when the device has none.",
                               default=None)
    display: dict | None = doc("[display] template: the wall display's settings — the raw [display] table, "
                               "checked by display.config (docs/display.md); None when the device has none.",
                               default=None)


def load_device(path: str | Path) -> DeviceConfig:
    root = Table.load(path)
    d = root.table("device")
    dev_id = d.text("id", pattern=ID_PATTERN)
    if dev_id == SERVER_ID:
        raise d.error("id", f"'{SERVER_ID}' is reserved for the hall service")
    role = d.choice("role", ROLES)
    password = d.text("password")
    counter = d.integer("counter", None, low=1, high=99) if d.has("counter") else None
    if role == "counter" and counter is None:
        raise d.error("counter", "a counter device must name its counter")
    if role != "counter" and counter is not None:
        raise d.error("counter", f"only counter devices have a counter, this one is a {role}")
    d.done()
    h = root.table("hall")
    hall_id = h.text("id", pattern=ID_PATTERN)
    host = h.text("host")
    port = h.integer("port", 1883, low=1, high=65535)
    h.done()
    # [printer] belongs to the printer package, which checks it with the same file/key errors.
    printer = root.table("printer", optional=True).data if root.has("printer") else None
    # [display] likewise belongs to the display package (display/config.py).
    display = root.table("display", optional=True).data if root.has("display") else None
    root.done()
    return DeviceConfig(dev_id, role, password, counter, hall_id, host, port, printer, display)


# Written, commented out, into a new kiosk's device.toml: a kiosk without [printer] prints nothing
# (it says so on screen and to the hall), so the file itself must say how to connect one. ASCII only:
# the file may be written under any locale. The transports and keys are docs/printers.md's.
PRINTER_TEMPLATE = """
# [printer]: this kiosk's ticket printer. Without it the kiosk prints nothing: it shows each
# number on screen, says that no ticket is printed, and `motcua device list` on the hall server
# shows "printer not_configured". Uncomment [printer], a model and ONE transport, then try it:
#   motcua printer test --config <this file>
# Which printer, udev rules, every key: docs/printers.md.
#[printer]
#model = "TM-T20II"        # or TM-T88V, POS-80, POS-58 ... (docs/printers.md)
#
# network (Ethernet, raw TCP port 9100): the best choice
#transport = "network"
#host = "192.168.1.50"
#
# USB through libusb (the ids as lsusb shows them; needs the udev rule of docs/printers.md)
#transport = "usb"
#vendor_id = "0x0416"
#product_id = "0x5011"
#
# USB through the kernel's usblp driver (simplest, but no paper-out status)
#transport = "file"
#path = "/dev/usb/lp0"
#
# serial (at 9600 baud an image ticket takes ~20 s: add text_mode = true)
#transport = "serial"
#port = "/dev/ttyUSB0"
#baudrate = 9600
#
# a raw CUPS queue
#transport = "cups"
#queue = "ve-kiosk"
#
# no printer: each ticket written as a PNG file (a demo setting, never for a real hall)
#transport = "preview"
#folder = "tickets"
"""


def device_toml(dev: DeviceConfig) -> str:
    """The text of a device.toml; the inverse of load_device ([printer] written when given, [display] not).

    A kiosk without a printer gets PRINTER_TEMPLATE: how to configure one, commented out.
    """
    lines = ["# motcua device config. Keep it private: it holds the device's password.",
             "[device]", f'id = "{dev.id}"', f'role = "{dev.role}"', f'password = "{dev.password}"']
    if dev.counter is not None:
        lines.append(f"counter = {dev.counter}")
    lines += ["", "[hall]", f'id = "{dev.hall}"', f'host = "{dev.host}"', f"port = {dev.port}", ""]
    if dev.printer is not None:
        lines += ["[printer]"] + [f"{key} = {_toml_value(value)}" for key, value in dev.printer.items()] + [""]
    elif dev.role == "kiosk":
        lines.append(PRINTER_TEMPLATE.lstrip("\n"))
    return "\n".join(lines)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))   # a JSON string is a TOML basic string (same escapes)


__all__ = ["DeviceConfig", "load_device", "device_toml", "ConfigError"]
