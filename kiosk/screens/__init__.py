"""The kiosk's Kivy screens: one Screen class and one .kv file each; they render a kiosk.views.View.

This module imports no Kivy: the command line reads the window's settings here before Kivy starts.

Nothing here holds queue logic or touches the network: a tap calls one `app.tap_*` method,
which asks the model (kiosk.model) and, for a ticket, the worker (kiosk.worker).
"""

from pathlib import Path

from ui.environment import KivySettings

HERE = Path(__file__).resolve().parent
# Load order: widgets first (the shared rules), then one file per screen.
KV_FILES = ["widgets.kv", "home.kv", "priority.kv", "ticket.kv", "fields.kv", "procedures.kv", "detail.kv",
            "search.kv", "closed.kv", "offline.kv"]

MAX_FPS = 30     # frames are drawn only on change; this caps the loop's wake-ups while in use


def window(size: tuple[int, int], fullscreen: bool = False) -> KivySettings:
    """The kiosk's window: woken at once by its threads' news (free events), silent, deaf to Escape."""
    return KivySettings(size, fullscreen, MAX_FPS, wake_on_free=True, escape_quits=False, sound=False)


def scale(width: int, height: int) -> tuple[float, bool]:
    """(app.s, portrait): sizes in the .kv files are for 800×480; a portrait kiosk lays out for 600×1000."""
    if height > width:
        return min(width / 600, height / 1000), True
    return min(width / 800, height / 480), False
