"""systemd's sd_notify for the Kivy apps: READY once the first frame is on screen, WATCHDOG from the UI thread.

    from ui import watchdog
    watchdog.attach(app)      # before app.run(); nothing at all unless systemd (or a test) set NOTIFY_SOCKET

The pings are sent by Kivy's Clock, that is by the main loop itself, at half of WATCHDOG_USEC: a UI
thread stuck anywhere (a blocking call, a deadlock, a GL driver that never returns) stops them, and
systemd kills and restarts the app after WatchdogSec (the units' Restart=always, docs/deploy.md). A
ping from any other thread would keep a frozen screen alive, so there is none.

READY=1 waits for the first frame on screen (ui.frames.on_shown), not for the window: until then a
citizen sees nothing, and `systemctl start` should not yet say it worked. STATUS= lines say what
`systemctl status` should show (on screen, the hall's link). Errors sending are ignored, as
sd_notify(3) does: systemd gone must not take the app down.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("motcua.watchdog")


def notify(message: str) -> bool:
    """Send one sd_notify datagram; False when not run by systemd (no NOTIFY_SOCKET) or it failed."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    address = "\0" + path[1:] if path.startswith("@") else path    # '@': Linux's abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(address)
            s.sendall(message.encode())
        return True
    except OSError as err:
        log.debug("sd_notify %r to %s failed: %s", message, path, err)
        return False


def ping_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None when no watchdog is asked
    for this process (unset, 0, or WATCHDOG_PID naming another process, as sd_watchdog_enabled(3))."""
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", "") or 0)
        pid = int(os.environ.get("WATCHDOG_PID", "") or 0)
    except ValueError:
        return None
    if usec <= 0 or (pid and pid != os.getpid()):
        return None
    return usec / 2e6


class Watchdog:
    """READY, WATCHDOG and STATUS for one Kivy App (an ui.observed.Observed one)."""

    def __init__(self, app, interval: float | None):
        self.app, self.interval = app, interval
        self.ready = False
        self.link = ""          # what the last "connection" event said, for STATUS=
        self._screen = ""

    def start(self) -> None:
        from kivy.clock import Clock

        from ui.frames import on_shown
        on_shown(self._shown)
        if self.interval:
            Clock.schedule_interval(self._ping, self.interval)

    def stop(self) -> None:
        notify("STOPPING=1")

    def event(self, name: str, data: dict) -> None:
        # The display and the counter pad say when their link to the hall comes and goes (UI thread).
        if name != "connection":
            return
        self.link = ("connected to the hall server" if data.get("up") else
                     "refused by the hall server (device.toml's password?)" if data.get("refused") else
                     "hall server unreachable; retrying")
        if self.ready:      # before the first frame, READY's STATUS= carries it
            notify(f"STATUS={self._screen}; {self.link}")

    def _shown(self) -> None:
        if not self.ready:
            self.ready = True
            from kivy.core.window import Window
            self._screen = "on screen ({}x{})".format(*Window.size)
            notify(f"READY=1\nSTATUS={self._screen}" + (f"; {self.link}" if self.link else ""))

    def _ping(self, dt) -> None:
        notify("WATCHDOG=1")


def attach(app) -> Watchdog | None:
    """Tell systemd about `app`: starts and stops with it. None (and no cost) when not run by systemd."""
    if not os.environ.get("NOTIFY_SOCKET"):
        return None
    dog = Watchdog(app, ping_interval())
    app.watch(dog.event)
    app.bind(on_start=lambda *_: dog.start(), on_stop=lambda *_: dog.stop())
    return dog
