"""`motcua display --config display-1.toml`: open the wall display (a Kivy window) for a display device.

    $ motcua display --config display-1.toml --fullscreen
    $ motcua display --config display-1.toml --size 1280x720

It connects to the hall server named in device.toml, draws the board and speaks the calls
(see docs/display.md). Exit status 0 when the window was closed, 2 for a wrong device.toml.
"""

from __future__ import annotations

import argparse
import re


def size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{3,5})x(\d{3,5})", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 1920x1080")
    return int(m.group(1)), int(m.group(2))


def add_parser(sub) -> None:
    p = sub.add_parser("display", help="open the wall display for a display device")
    p.add_argument("--config", default="device.toml", help="the display's device.toml (with an optional [display])")
    p.add_argument("--size", type=size, default=(1920, 1080), help="window size WxH (default 1920x1080)")
    p.add_argument("--fullscreen", action="store_true", help="fill the screen (the TV's own resolution)")
    p.add_argument("--probe", action="store_true",
                   help="report events as JSON lines on stdout and take commands on stdin (tests, bench)")
    p.set_defaults(fn=run)


def run(args) -> int:
    from display.app import run_display
    return run_display(args.config, size=args.size, fullscreen=args.fullscreen, probe=args.probe)
