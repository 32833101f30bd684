"""Where things are for the commands: the installed hall's data folder, and for those that run a hall
on this one machine (the demo, the benchmarks, the tests) the example hall's files in the source
tree and a free TCP port on loopback.

    sp.add_argument("--data", default=DATA_DIR)   # /var/lib/motcua, as the systemd unit has it
    load_hall(EXAMPLE_HALL)                 # examples/dang-kang/hall.toml
    port = free_port()                      # nothing listens there right now
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_HALL = ROOT / "examples" / "dang-kang" / "hall.toml"
EXAMPLE_CATALOG = EXAMPLE_HALL.parent / "catalog.toml"
# Where the systemd unit keeps the hall's data: every command defaults to it, so `device add`
# typed without --data finds the running hall instead of starting a second one in ./data.
DATA_DIR = "/var/lib/motcua"


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768   # Linux's default


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago, below the ephemeral range.

    Why not bind(0): the OS hands out ports of its ephemeral range for every outgoing connection
    too, so a port picked that way may become a client's (a kiosk's MQTT link, a test's HTTP
    request) before the hall binds it. Below the range only another server can take it, and a
    random pick makes two parallel test processes meeting on one port rare; the callers'
    start-up errors name a port taken all the same.
    """
    high = _ephemeral_low() - 1
    for _ in range(200):
        port = random.randint(min(20000, high - 1000), high)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:     # a crowded range: let the OS choose after all
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
