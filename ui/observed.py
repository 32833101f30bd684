"""What a motcua Kivy app shows to whoever watches it — the probe (tests, benchmarks) — and nothing more.

    class KioskApp(Observed, App):
        def view(self): return asdict(self.last_view)     # what is on screen, as plain data
    app.notify("worker", kind="reply", t=time.monotonic())  # an event; nobody listening costs nothing
    app.watch(lambda name, data: ...)                     # the probe, attached from outside (ui.probe)

The app never asks whether it is watched: it states what happens, and a watcher may listen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Watcher = Callable[[str, dict], None]


class Observed:
    """Mixin for a Kivy App. Override view(); the touch hooks matter only to apps with buttons."""

    _watchers: list[Watcher]

    def watch(self, watcher: Watcher) -> None:
        self.__dict__.setdefault("_watchers", []).append(watcher)

    def notify(self, name: str, **data: Any) -> None:
        for w in self.__dict__.get("_watchers", ()):
            w(name, data)

    def view(self) -> dict | None:
        """What the screen shows now, as JSON-able data."""
        return None

    def touch_layers(self) -> list:
        """The widgets a finger can reach now, topmost first (an overlay hides what is behind it)."""
        return [self.root]

    def tap_wait(self, key: bool) -> float:
        """Seconds a person would wait before tapping now (the screen settling, a double tap's window)."""
        return 0.0

    def settled(self) -> bool:
        """False while the screen is between two pictures (a transition): a screenshot waits."""
        return True
