"""`motcua kiosk --config kiosk-1.toml`: open the ticket kiosk (a Kivy window) for a kiosk device.

    $ motcua kiosk --config kiosk-1.toml --fullscreen
    $ motcua kiosk --config kiosk-1.toml --size 1080x1920

It connects to the hall server named in device.toml, shows the services, issues tickets and
prints them on the [printer] of device.toml — without one, it prints nothing and says so on
screen and to the hall (docs/printers.md). Exit status 0 when the window was closed, 2 for a wrong device.toml.
"""

from __future__ import annotations

import argparse
import re
import signal
from pathlib import Path


def size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{3,5})x(\d{3,5})", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 800x480")
    return int(m.group(1)), int(m.group(2))


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 10 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} s: give 10 to 3600 seconds (a citizen needs time to read)")
    return value


def add_parser(sub) -> None:
    p = sub.add_parser("kiosk", help="open the ticket kiosk for a kiosk device")
    p.add_argument("--config", default="device.toml", help="the kiosk's device.toml (with an optional [printer])")
    p.add_argument("--size", type=size, default=(800, 480),
                   help="window size WxH (default 800x480, the 7\" Pi screen; 1080x1920 for a portrait kiosk)")
    p.add_argument("--fullscreen", action="store_true", help="fill the screen (the screen's own resolution)")
    p.add_argument("--idle", type=seconds, default=60.0,
                   help="seconds without a touch before the kiosk returns home, in Vietnamese (default 60)")
    p.add_argument("--data", help="folder for the print spool (default: the device.toml's folder)")
    p.add_argument("--probe", action="store_true",
                   help="report events as JSON lines on stdout and take commands on stdin (tests, bench)")
    p.set_defaults(fn=run)


def run(args) -> int:
    return run_kiosk(args.config, size=args.size, fullscreen=args.fullscreen, idle_s=args.idle, data=args.data,
                     probe=args.probe)


def run_kiosk(device_toml: str | Path, size: tuple[int, int] = (800, 480), fullscreen: bool = False,
              idle_s: float = 60.0, data: str | Path | None = None, probe: bool = False) -> int:
    """Open the kiosk for a device.toml and run until the window is closed (or `quit` on the probe)."""
    from hall.device import load_device
    from kiosk.backend import printer_config
    from kiosk.model import Settings
    from ui.environment import prepare_kivy
    dev = load_device(device_toml)
    if dev.role != "kiosk":
        raise RuntimeError(f"{device_toml}: device '{dev.id}' is a {dev.role}, not a kiosk")
    folder = Path(data) if data else Path(device_toml).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    printer_cfg = printer_config(dev, device_toml)    # None without [printer]; config errors before any window
    from kiosk.screens import window
    prepare_kivy(window(size, fullscreen))
    from kiosk.app import KioskApp
    from ui import watchdog
    app = KioskApp(dev, printer_cfg, folder / f"{dev.id}-spool.db", Settings(idle_s=idle_s))
    watchdog.attach(app)      # systemd's READY and WATCHDOG (docs/deploy.md); nothing without systemd
    from kivy.clock import Clock
    # SIGTERM (systemd, the demo): close the window in order, so the kiosk says 'offline' itself
    # and a ticket being printed is finished from the spool, not cut off.
    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda dt: app.stop()))
    if probe:
        from ui.probe import attach
        attach(app)
    app.run()
    return 0

