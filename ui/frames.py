"""The main loop's frame-rate cap, changed while the app runs (the kiosk slows down when nobody is there).

Kivy reads `maxfps` from its Config once, when the Clock is made, and has no public way to change
it after (2.3): the Clock's `_max_fps` is the one place it lives. This module is the only one that
touches it, so a Kivy upgrade that renames it breaks here, in one place, and the test port sees it
(`stats` reports fps_cap).
"""

from __future__ import annotations

from kivy.clock import Clock


def fps_cap() -> float:
    return float(Clock._max_fps)


def set_fps_cap(fps: float) -> None:
    if Clock._max_fps != fps:
        Clock._max_fps = float(fps)
