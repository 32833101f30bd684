"""`motcua display --config display-1.toml`: open the wall display (a Kivy window) for a display device.

    $ motcua display --config display-1.toml --fullscreen
    $ motcua display --config display-1.toml --size 1280x720

It connects to the hall server named in device.toml, draws the board and speaks the calls
(see docs/display.md). Exit status 0 when the window was closed, 2 for a wrong device.toml.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


# Kivy's loop wakes MAX_FPS times a second even when nothing changes (redraws happen only on
# change). 20 keeps that under ~1.5% of a core here, and a call waits at most 50 ms for its
# frame. (Kivy's 'interrupt' clock would wake at once on a message, but it spins hundreds of
# times a second when idle.) Measured by `motcua bench display`; see docs/display.md.
MAX_FPS = 20


def run(args) -> int:
    return run_display(args.config, size=args.size, fullscreen=args.fullscreen, probe=args.probe)


def run_display(device_toml: str | Path, size: tuple[int, int] = (1920, 1080), fullscreen: bool = False,
                probe: bool = False) -> int:
    """Open the wall display for a device.toml and run until the window is closed (or `quit` on the probe)."""
    from display.config import display_config
    from hall.device import load_device
    from ui.environment import KivySettings, prepare_kivy
    dev = load_device(device_toml)
    if dev.role != "display":
        raise RuntimeError(f"{device_toml} is the device.toml of a {dev.role}, not of a display")
    cfg = display_config(dev.display, device_toml)     # config errors before any window opens
    prepare_kivy(KivySettings(size, fullscreen, MAX_FPS))
    # Kivy sets its logger to INFO on import; follow motcua's level (-v) instead.
    logging.getLogger("kivy").setLevel(logging.getLogger().getEffectiveLevel())
    from kivy.clock import Clock

    from display.app import DisplayApp
    from ui import watchdog
    app = DisplayApp(dev, cfg)
    watchdog.attach(app)      # systemd's READY and WATCHDOG (docs/deploy.md); nothing without systemd
    if probe:
        from ui.probe import attach
        attach(app)
    # SIGTERM (systemd, the demo): close the window in order, so the device says 'offline' itself.
    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda dt: app.stop()))
    app.run()
    return 0


def spawn_display(device_toml: str | Path, size: tuple[int, int] = (1280, 720), fullscreen: bool = False,
                  log: str | Path | None = None):
    """Start `motcua display` for a device.toml as a child process and return its Popen (what
    `motcua demo` does): Kivy's window is one per process, so the display never shares one.
    Stop it with .terminate() (it closes its MQTT session cleanly) and .wait()."""
    cmd = [sys.executable, "-m", "motcua_cli.main", "display", "--config", str(device_toml),
           "--size", f"{size[0]}x{size[1]}"] + (["--fullscreen"] if fullscreen else [])
    out = open(log, "ab") if log else subprocess.DEVNULL
    env = {**os.environ, "KIVY_NO_ARGS": "1"}
    return subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
