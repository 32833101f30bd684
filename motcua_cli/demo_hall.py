"""An always-open copy of the example hall, for the demo and the benchmarks (which run at any hour)."""

from __future__ import annotations

import re
from pathlib import Path

from hall.config import WEEKDAYS
from motcua_cli.paths import EXAMPLE_HALL


def demo_hall_text(hall_id: str = "dang-kang", mqtt_port: int = 1883, http_port: int = 8080,
                   tickets_per_minute: int = 6, bind: str = "127.0.0.1") -> str:
    """The example hall.toml, open 24 hours every day, on the given id and ports."""
    out = []
    for line in EXAMPLE_HALL.read_text(encoding="utf-8").splitlines():
        key = line.split("=")[0].strip()
        if key in WEEKDAYS:
            line = f'{key} = ["00:00-24:00"]'
        elif key == "closed_dates":
            line = "closed_dates = []"
        elif key == "id" and line.startswith("id = \"dang-kang\""):
            line = f'id = "{hall_id}"'
        elif key == "mqtt_port":
            line = f"mqtt_port = {mqtt_port}"
        elif key == "http_port":
            line = f"http_port = {http_port}"
        elif key == "lookup_url":   # the QR opens this machine's ticket page, on the demo's own port
            line = f'lookup_url = "http://127.0.0.1:{http_port}/tra-cuu"'

        elif key == "mqtt_bind":
            line = f'mqtt_bind = "{bind}"'
        elif key == "tickets_per_minute":
            line = f"tickets_per_minute = {tickets_per_minute}"
        out.append(line)
    text = "\n".join(out) + "\n"
    assert re.search(rf'^id = "{re.escape(hall_id)}"', text, re.M), "example hall id line not found"
    return text


def write_demo_hall(path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(demo_hall_text(**kw), encoding="utf-8")
    return path
