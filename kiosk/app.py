"""The Kivy ticket kiosk: one window, its screens fed by the model; tickets and printing in a worker.

    run_kiosk("kiosk-1.toml", size=(800, 480))     # blocks until the window closes

kiosk.backend holds everything but the screen (hall client, printer, worker). Its news — a
message decoded on paho's thread, a printer state, a reply or print state from the worker — is
handed to the UI thread with Clock.schedule_once_free; the model changes there, and the screen is
redrawn by one Clock trigger however many messages came. A tap asks the model; a ticket request
goes to the worker.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from hall.runtime import kivy_environment, software_version

log = logging.getLogger("motcua.kiosk")
MAX_FPS = 30     # frames are drawn only on change; this caps the loop's wake-ups while in use
IDLE_FPS = 5     # …and this while nobody touches it: a first touch-down waits ≤ 200 ms (docs/kiosk.md)
IDLE_AFTER_S = 5.0


def scale(width: int, height: int) -> tuple[float, bool]:
    """(app.s, portrait): sizes in the .kv files are for 800×480; a portrait kiosk lays out for 600×1000."""
    if height > width:
        return min(width / 600, height / 1000), True
    return min(width / 800, height / 480), False


def prepare_kivy(size: tuple[int, int], fullscreen: bool) -> None:
    """Kivy reads these when first imported: call before any `import kivy`."""
    kivy_environment()
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")     # the kiosk makes no sound (the printer beeps)
    from kivy.config import Config
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "maxfps", str(MAX_FPS))
    # 'free_all': the loop sleeps between frames, and a *free* event (Clock.schedule_once_free,
    # which every hand-over from paho, the worker and the spool uses) wakes it at once. The
    # 'interrupt' clock measured ~600 wake-ups a second at a 10 fps cap here (bench/kiosk.py).
    Config.set("kivy", "kivy_clock", "free_all")
    Config.set("input", "mouse", "mouse,disable_multitouch")   # a right click must not leave a red dot
    Config.set("kivy", "exit_on_escape", "0")                  # a keyboard plugged in by a child


def run_kiosk(device_toml: str | Path, size: tuple[int, int] = (800, 480), fullscreen: bool = False,
              idle_s: float = 60.0, data: str | Path | None = None, probe: bool = False) -> int:
    """Open the kiosk for a device.toml and run until the window is closed (or `quit` on the probe)."""
    from hall.device import load_device
    from kiosk.backend import printer_config
    from kiosk.model import Settings
    dev = load_device(device_toml)
    if dev.role != "kiosk":
        raise RuntimeError(f"{device_toml}: device '{dev.id}' is a {dev.role}, not a kiosk")
    folder = Path(data) if data else Path(device_toml).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    printer_cfg = printer_config(dev, device_toml)    # None without [printer]; config errors before any window
    prepare_kivy(size, fullscreen)
    app = make_app(dev, printer_cfg, folder / f"{dev.id}-spool.db", Settings(idle_s=idle_s))
    if probe:
        from kiosk.probe import Probe
        app.probe = Probe(app)
    app.run()
    return 0


def make_app(dev, printer_cfg, spool_path: Path, settings):
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.lang import Builder
    from kivy.properties import BooleanProperty, NumericProperty
    from kivy.uix.screenmanager import NoTransition

    from kiosk.backend import KioskBackend
    from kiosk.model import WORKER_NEWS, KioskModel
    from kiosk.screens import HERE, KV_FILES
    from kiosk.views import clock_text, view

    class KioskApp(App):
        s = NumericProperty(1.0)          # scale of every size in the .kv files (1 = 800×480)
        portrait = BooleanProperty(False)
        title = "motcua — lấy số thứ tự"

        def __init__(self):
            super().__init__()
            self.dev, self.probe = dev, None
            self.model = KioskModel(settings, now=time.time())
            self.backend = self.worker = None
            self.last_view = None
            self._active_until = 0.0

        def build(self):
            for name in KV_FILES:
                Builder.load_file(str(HERE / name))
            from kiosk.screens.closed import ClosedScreen
            from kiosk.screens.detail import DetailScreen
            from kiosk.screens.fields import FieldsScreen
            from kiosk.screens.home import HomeScreen
            from kiosk.screens.offline import OfflineScreen
            from kiosk.screens.priority import PriorityScreen
            from kiosk.screens.procedures import ProceduresScreen
            from kiosk.screens.search import SearchScreen
            from kiosk.screens.ticket import TicketScreen
            from kiosk.screens.widgets import KioskRoot
            Window.bind(size=self._rescale, on_touch_down=self._touched)
            self._rescale(Window, Window.size)
            self.root_widget = root = KioskRoot()
            root.ids.sm.transition = NoTransition()    # an instant change: no frames spent on animation
            root.add_screens([cls() for cls in (HomeScreen, PriorityScreen, TicketScreen, FieldsScreen,
                                                ProceduresScreen, DetailScreen, SearchScreen, ClosedScreen,
                                                OfflineScreen)])
            self.redraw = Clock.create_trigger(self._redraw)
            return root

        def on_start(self):
            # Every other thread's news (paho's, the spool's, the worker's) comes to _apply here.
            self.backend = KioskBackend(dev, printer_cfg, spool_path, config=lambda: self.model.config,
                                        deliver=lambda *a: Clock.schedule_once_free(lambda dt: self._apply(*a)),
                                        version=software_version(), gate_s=0.5)
            self.worker = self.backend.worker
            Window.bind(on_flip=self._on_flip)
            self.backend.start()
            Clock.schedule_interval(self._tick, 1.0)
            self._tick(0)
            self.redraw()
            if self.probe:
                self.probe.start()

        def on_stop(self):
            if self.backend is not None:
                self.backend.stop()

        # --- UI thread --------------------------------------------------------------------------
        def _apply(self, kind: str, *args) -> None:
            worker = kind in WORKER_NEWS
            if self.probe and worker:
                self.probe.event("worker", kind=kind, t=time.monotonic())
            self.model.apply(kind, *args, now=time.time())
            if self.probe and not worker:
                self.probe.event("message", kind=kind)
            self.redraw()

        def _redraw(self, *_):
            self._awake()
            now = time.time()
            self.last_view = v = view(self.model, now)
            self.root_widget.show(v)
            self._clock(now)
            if self.probe:
                self.probe.shown(v)

        def _on_flip(self, *_):
            # The frame with the new ticket's number is out: let the worker lay out the paper copy.
            t, sm = self.model.ticket, self.root_widget.ids.sm
            if t and sm.current == "ticket" and sm.current_screen.number_drawn(t.data["ticket"]):
                self.worker.shown()

        def _touched(self, *_):
            self.model.touch(time.time())
            self._awake()

        def _awake(self):
            # Full speed while someone uses the kiosk; _tick slows the loop down again when idle.
            self._active_until = time.monotonic() + IDLE_AFTER_S
            if Clock._max_fps != MAX_FPS:
                Clock._max_fps = MAX_FPS

        def _tick(self, dt):
            if Clock._max_fps != IDLE_FPS and time.monotonic() > self._active_until:
                Clock._max_fps = IDLE_FPS
            now = time.time()
            if self.model.tick(now):
                self.redraw()
            self._clock(now)

        def _clock(self, now: float) -> None:
            # Kivy redraws only when a label's text really changes: once a minute here.
            ids = self.root_widget.ids
            ids.clock.text, ids.date.text = clock_text(self.model, now)

        def _rescale(self, window, size):
            self.s, self.portrait = scale(*size)

        # --- taps (kv: on_release: app.tap_…) ---------------------------------------------------
        def _do(self, method: str, *args, **kw):
            result = getattr(self.model, method)(*args, now=time.time(), **kw)
            if result is not None:        # a TakeTicket: off to the worker, never sent from here
                self.worker.submit(result)
            self.redraw()

        def tap_service(self, service):
            self._do("tap_service", service)

        def tap_take_for_procedure(self):
            self._do("tap_procedure_ticket")

        def tap_nav(self, nav, field_id=None, proc_id=None):
            self._do("tap_nav", nav, field_id=field_id, proc_id=proc_id)

        def tap_priority(self, category):
            self._do("tap_priority", category)

        def tap_cancel_priority(self):
            self._do("tap_cancel_priority")

        def tap_back(self):
            self._do("tap_back")

        def tap_key(self, key):
            self._do("tap_key", key)

        def tap_ok(self):
            self._do("tap_ok")

        def tap_done(self):
            self._do("tap_done")

        def tap_language(self):
            self._do("tap_language")

    return KioskApp()


