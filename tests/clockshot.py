"""One screenshot of a device's screen with its clock check given: `python -m tests.clockshot ROLE
DEVICE_TOML SYNCED OUT_PNG` runs the real kiosk or wall display app (offscreen Kivy, a window per
process), its ClockGate answering SYNCED (1 or 0), and after a few seconds saves the window to
OUT_PNG and what its clock and date labels say to OUT_PNG with .json, then quits."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(role: str, device_toml: str, synced: bool, out: str, wait_s: float = 4.0) -> None:
    from hall.device import load_device
    from ui.clock_gate import ClockGate
    from ui.environment import KivySettings, prepare_kivy
    dev = load_device(device_toml)
    gate = ClockGate(lambda: synced, every_s=0.5)
    if role == "display":
        from display.config import display_config
        cfg = display_config(dev.display, device_toml)
        prepare_kivy(KivySettings((1280, 720), False, 30))
        from display.app import DisplayApp
        app = DisplayApp(dev, cfg, clock_gate=gate)
    else:
        from kiosk.screens import window
        prepare_kivy(window((800, 480), False))
        from kiosk.app import KioskApp
        from kiosk.model import Settings
        app = KioskApp(dev, None, Path(out).with_suffix(".spool.db"), Settings(), clock_gate=gate)
    from kivy.clock import Clock

    from ui.probe import screenshot

    def shoot(dt) -> None:
        ids = app.screen.ids if role == "display" else app.root_widget.ids
        screenshot(out)
        Path(out).with_suffix(".json").write_text(json.dumps({"clock": ids.clock.text, "date": ids.date.text}))
        app.stop()
    Clock.schedule_once(shoot, wait_s)
    app.run()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4])
