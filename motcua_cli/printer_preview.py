"""`motcua printer preview`: write the PNG of a sample ticket (see docs/ticket-layout.md)."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser("preview", help="write the PNG of a sample ticket")
    p.set_defaults(fn=run)


def run(args) -> int:
    raise RuntimeError("not built yet")
