"""The counter pad: a 7" screen at a counter, facing the citizen (docs/counter-pad.md).

It shows the counter's name and the number it serves, and after a ticket is finished there asks
the citizen to rate the service. kiosk.counter_pad.model decides what to show (no Kivy);
kiosk.counter_pad.app draws it; kiosk.counter_pad.backend talks to the hall.

This module imports no Kivy: the command line reads the window's settings here before Kivy starts.
"""

from pathlib import Path

from ui.environment import KivySettings

HERE = Path(__file__).resolve().parent
# Load order: the shared rules first, then one file per screen.
KV_FILES = ["pad.kv", "number.kv", "rating.kv", "reasons.kv", "thanks.kv"]

MAX_FPS = 30     # frames are drawn only on change; this caps the loop's wake-ups


def window(size: tuple[int, int], fullscreen: bool = False) -> KivySettings:
    """The pad's window: woken at once by its threads' news, silent, deaf to Escape (a citizen's side)."""
    return KivySettings(size, fullscreen, MAX_FPS, wake_on_free=True, escape_quits=False, sound=False)


def scale(width: int, height: int) -> float:
    """app.s: the .kv sizes are for the 7" 800×480 screen."""
    return min(width / 800, height / 480)
