"""`motcua counter-pad --config pad-1.toml`: open the counter pad (a Kivy window) for a counter device.

    $ motcua device add pad-1 --role counter --counter 1 --out pad-1.toml    # on the hall server
    $ motcua counter-pad --config pad-1.toml --fullscreen
    $ motcua counter-pad --config pad-1.toml --size 1024x600

It connects to the hall server named in device.toml, shows the counter's name and the number it
serves, and asks the citizen to rate each ticket finished there (docs/counter-pad.md). It never
calls a number: that stays with the clerk's keypad or handheld. Exit status 0 when the window was
closed, 2 for a device.toml with a config error, 1 for one that is not a counter device's.
"""

from __future__ import annotations

import argparse
import logging
import signal
from pathlib import Path

from motcua_cli.kiosk_cmd import size


def add_parser(sub) -> None:
    p = sub.add_parser("counter-pad", help="open the counter pad (number and rating) for a counter device")
    _arguments(p)
    p.set_defaults(fn=run)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default="device.toml",
                   help="the pad's device.toml (`motcua device add pad-1 --role counter --counter N`)")
    p.add_argument("--size", type=size, default=(800, 480),
                   help="window size WxH (default 800x480, the 7\" Pi screen)")
    p.add_argument("--fullscreen", action="store_true", help="fill the screen (the screen's own resolution)")
    p.add_argument("--probe", action="store_true",
                   help="report events as JSON lines on stdout and take commands on stdin (tests, bench)")


def run(args) -> int:
    return run_counter_pad(args.config, size=args.size, fullscreen=args.fullscreen, probe=args.probe)


def run_counter_pad(device_toml: str | Path, size: tuple[int, int] = (800, 480), fullscreen: bool = False,
                    probe: bool = False) -> int:
    """Open the pad for a device.toml and run until the window is closed (or `quit` on the probe)."""
    from hall.device import load_device
    from ui.environment import prepare_kivy
    dev = load_device(device_toml)
    if dev.role != "counter" or dev.counter is None:
        raise RuntimeError(f"{device_toml}: device '{dev.id}' is a {dev.role}, not a counter device with a counter "
                           "(motcua device add pad-1 --role counter --counter 1)")
    from kiosk.counter_pad import window
    prepare_kivy(window(size, fullscreen))
    logging.getLogger("kivy").setLevel(logging.getLogger().getEffectiveLevel())
    from kivy.clock import Clock

    from kiosk.counter_pad.app import CounterPadApp
    from ui import watchdog
    app = CounterPadApp(dev)
    watchdog.attach(app)      # systemd's READY and WATCHDOG (docs/deploy.md); nothing without systemd
    if probe:
        from ui.probe import attach
        attach(app)
    # SIGTERM (systemd, the demo): close the window in order, so the device says 'offline' itself.
    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda dt: app.stop()))
    app.run()
    return 0
