"""A device's own config file (device.toml), written by `motcua device add`.

    dev = load_device("kiosk-1.toml")
    dev.id, dev.role, dev.counter, dev.host, dev.port, dev.hall
"""

from __future__ import annotations

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


def device_toml(dev: DeviceConfig) -> str:
    """The text of a device.toml; the inverse of load_device."""
    lines = ["# motcua device config. Keep it private: it holds the device's password.",
             "[device]", f'id = "{dev.id}"', f'role = "{dev.role}"', f'password = "{dev.password}"']
    if dev.counter is not None:
        lines.append(f"counter = {dev.counter}")
    lines += ["", "[hall]", f'id = "{dev.hall}"', f'host = "{dev.host}"', f"port = {dev.port}", ""]
    return "\n".join(lines)


__all__ = ["DeviceConfig", "load_device", "device_toml", "ConfigError"]
