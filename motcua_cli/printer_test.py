"""`motcua printer test --config device.toml`: print a test ticket on the configured printer."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("test", help="print a test ticket on the printer of a device.toml")
    p.set_defaults(fn=run)


def run(args) -> int:
    raise RuntimeError("not built yet")
