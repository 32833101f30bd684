"""Kivy's environment and Config block, shared by every motcua Kivy app (stdlib only until called).

    prepare_kivy(KivySettings(size=(800, 480), fullscreen=False, max_fps=30, wake_on_free=True))
    from kivy.app import App      # only now

Kivy reads its environment when first imported and its Config when the window is made, so this
runs before any `import kivy`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KivySettings:
    """What differs between the apps' windows; everything else is the same for all."""
    size: tuple[int, int]
    fullscreen: bool = False
    max_fps: int = 30
    """The loop's cap: frames are drawn only on change, this bounds the wake-ups."""
    wake_on_free: bool = False
    """Kivy's 'free_all' clock: the loop sleeps between frames and a *free* event (Clock.schedule_once_free)
    wakes it at once (the kiosk's hand-overs from paho, the worker and the spool use them). The 'interrupt'
    clock measured ~600 wake-ups a second at a 10 fps cap (bench/kiosk.py)."""
    escape_quits: bool = True
    """False where a keyboard plugged in by a child must not close the window (the kiosk)."""
    sound: bool = True
    """False for an app that makes no sound (the kiosk: the printer beeps): SDL opens no audio device."""


def kivy_environment() -> None:
    """Environment Kivy reads when first imported: call before any `import kivy`."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")            # our argv is argparse's, not Kivy's
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")      # log through `logging`, as the rest of motcua
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_HOME", str(Path.home() / ".cache" / "motcua" / "kivy"))
    Path(os.environ["KIVY_HOME"]).parent.mkdir(parents=True, exist_ok=True)   # Kivy makes only the last level


def prepare_kivy(s: KivySettings) -> None:
    """The environment, then the Config block every window of the hall gets."""
    kivy_environment()
    if not s.sound:
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from kivy.config import Config
    Config.set("graphics", "width", str(s.size[0]))
    Config.set("graphics", "height", str(s.size[1]))
    Config.set("graphics", "fullscreen", "auto" if s.fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if s.fullscreen else "1")
    Config.set("graphics", "maxfps", str(s.max_fps))
    # No multisampling: text and rectangles do not need it, and with software GL (Mesa's llvmpipe,
    # a Pi without its GPU driver) it makes every frame about twice as dear to rasterize (24–46 ms
    # against 12–30 ms for a kiosk frame here). That each frame is drawn when it is said to be shown,
    # and not later in a lump with others, is ui/frames.py's (the kiosk's ~180 ms of issue 9).
    Config.set("graphics", "multisamples", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")   # a right click must not leave a red dot
    if s.wake_on_free:
        Config.set("kivy", "kivy_clock", "free_all")
    if not s.escape_quits:
        Config.set("kivy", "exit_on_escape", "0")


class NoScreen(SystemExit):
    """Kivy found no window provider: no display, no GPU device, or SDL's driver is missing."""


def the_window():
    """Kivy's Window, or a one-line exit that names the cause (Kivy leaves None and a traceback follows).

    Under systemd the unit restarts the app (a TV switched on later, a driver that loads late); the
    journal shows this line instead of an AttributeError.
    """
    from kivy.core.window import Window
    if Window is None:
        driver = os.environ.get("SDL_VIDEODRIVER", "SDL's default")
        raise NoScreen(f"motcua: no screen to draw on (Kivy made no window; video driver {driver}): "
                       "check the display's cable and that the Pi's KMS driver is loaded (docs/deploy.md)")
    return Window
