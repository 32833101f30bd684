"""Where things are for the commands: the installed hall's data folder, and for those that run a hall
on this one machine (the demo, the benchmarks, the tests) the example hall's files in the source
tree and a free TCP port on loopback.

    sp.add_argument("--data", default=DATA_DIR)   # /var/lib/motcua, as the systemd unit has it
    load_hall(EXAMPLE_HALL)                 # examples/dang-kang/hall.toml
    port = free_port()                      # nothing listens there right now
"""

from __future__ import annotations

import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_HALL = ROOT / "examples" / "dang-kang" / "hall.toml"
EXAMPLE_CATALOG = EXAMPLE_HALL.parent / "catalog.toml"
# Where the systemd unit keeps the hall's data: every command defaults to it, so `device add`
# typed without --data finds the running hall instead of starting a second one in ./data.
DATA_DIR = "/var/lib/motcua"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; another program may
    still take it before the caller binds, which the callers' start-up errors then name)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
