"""The Kivy ticket kiosk: one window, its screens fed by the model; tickets and printing in a worker.

    prepare_kivy(window((800, 480)))     # ui.environment and kiosk.screens.window: before any `import kivy`
    from kiosk.app import KioskApp
    KioskApp(dev, printer_cfg, spool_path, Settings(idle_s=60)).run()   # motcua_cli/kiosk_cmd.py

kiosk.backend holds everything but the screen (hall client, printer, worker). Its news — a
message decoded on paho's thread, a printer state, a reply or print state from the worker — is
handed to the UI thread with Clock.schedule_once_free; the model changes there, and the screen is
redrawn by one Clock trigger however many messages came. A tap asks the model; a ticket request
goes to the worker. What happens is told to whoever watches (ui.observed: the probe in tests).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty

from hall.runtime import software_version
from kiosk.backend import KioskBackend
from kiosk.model import WORKER_NEWS, KioskModel, Settings
from kiosk.screens import HERE, KV_FILES, MAX_FPS, scale
from kiosk.views import clock_text, view
from ui import theme
from ui.clock_gate import ClockGate
from ui.environment import the_window
from ui.frames import on_shown, set_fps_cap
from ui.observed import Observed

log = logging.getLogger("motcua.kiosk")
IDLE_FPS = 5     # the cap while nobody touches it (MAX_FPS, in kiosk.screens, while in use): a first
#                 touch-down waits ≤ 200 ms (docs/kiosk.md)
IDLE_AFTER_S = 5.0


class KioskApp(Observed, App):
    s = NumericProperty(1.0)          # scale of every size in the .kv files (1 = 800×480)
    portrait = BooleanProperty(False)
    title = "motcua — lấy số thứ tự"

    def __init__(self, dev, printer_cfg, spool_path: Path, settings: Settings, clock_gate=None):
        super().__init__()
        self.clock_gate: ClockGate = clock_gate or ClockGate()   # the time shows only once the clock is right
        self.dev, self.printer_cfg, self.spool_path = dev, printer_cfg, spool_path
        self.model = KioskModel(settings, now=time.time())
        self.backend = self.worker = None
        self.last_view = None
        self.tapped_at = 0.0              # time.monotonic() of the last tap handled
        self._shown_screen = None
        self._drawn_ticket = None         # the ticket id whose number a frame has shown
        self._active_until = 0.0

    def build(self):
        Window = the_window()

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
        for name in KV_FILES:
            Builder.load_file(str(HERE / name))
        Window.clearcolor = theme.BG     # every screen's background (kiosk/screens/widgets.kv)
        Window.bind(size=self._rescale, on_touch_down=self._touched)
        self._rescale(Window, Window.size)
        self.root_widget = root = KioskRoot()
        root.add_screens([cls() for cls in (HomeScreen, PriorityScreen, TicketScreen, FieldsScreen,
                                            ProceduresScreen, DetailScreen, SearchScreen, ClosedScreen,
                                            OfflineScreen)])
        self.redraw = Clock.create_trigger(self._redraw)
        return root

    def on_start(self):
        # Every other thread's news (paho's, the spool's, the worker's) comes to _apply here.
        self.backend = KioskBackend(self.dev, self.printer_cfg, self.spool_path, config=lambda: self.model.config,
                                    deliver=lambda *a: Clock.schedule_once_free(lambda dt: self._apply(*a)),
                                    version=software_version(), gate_s=0.5)
        self.worker = self.backend.worker
        on_shown(self._on_shown)
        self.backend.start()
        Clock.schedule_interval(self._tick, 1.0)
        self._tick(0)
        self.redraw()

    def on_stop(self):
        if self.backend is not None:
            self.backend.stop()

    # --- what a watcher sees (ui.observed) ------------------------------------------------------
    def view(self) -> dict | None:
        return dataclasses.asdict(self.last_view) if self.last_view else None

    def touch_layers(self) -> list:
        from kiosk.screens.widgets import Overlay
        root = self.root_widget
        return [w for w in root.children if isinstance(w, Overlay)] or [root]

    def tap_wait(self, key: bool) -> float:
        # A person taps once the screen has settled and, unless on a key, the double-tap window has
        # passed: a test taps the kiosk as a citizen would, it does not race it.
        m, s, now = self.model, self.model.settings, time.time()
        return max(m.shown_at + s.settle_s - now, 0 if key else m.last_tap[1] + s.debounce_s - now, 0)

    def settled(self) -> bool:
        return not self.root_widget.ids.sm.transition.is_active

    # --- UI thread --------------------------------------------------------------------------
    def _apply(self, kind: str, *args) -> None:
        worker = kind in WORKER_NEWS
        if worker:
            self.notify("worker", kind=kind, t=time.monotonic())
        self.model.apply(kind, *args, now=time.time())
        if not worker:
            self.notify("message", kind=kind)
        self.redraw()

    def _redraw(self, *_):
        self._awake()
        now = time.time()
        self.last_view = v = view(self.model, now)
        self.root_widget.show(v)
        self._clock(now)
        if v.screen != self._shown_screen:
            self._shown_screen = v.screen
            self.notify("screen", screen=v.screen, title=v.title)

    def _on_shown(self):
        # The frame with the new ticket's number is out: let the worker lay out the paper copy.
        t, sm = self.model.ticket, self.root_widget.ids.sm
        if t and sm.current == "ticket" and sm.current_screen.number_drawn(t.data.ticket):
            shown_at = time.monotonic()     # before the worker's thread starts on the paper copy
            self.worker.shown()
            if t.data.ticket_id != self._drawn_ticket:
                self._drawn_ticket = t.data.ticket_id
                self.notify("ticket_drawn", number=t.data.ticket, tap_t=self.tapped_at, t=shown_at)

    def _touched(self, *_):
        self.model.touch(time.time())
        self._awake()

    def _awake(self):
        # Full speed while someone uses the kiosk; _tick slows the loop down again when idle.
        self._active_until = time.monotonic() + IDLE_AFTER_S
        set_fps_cap(MAX_FPS)

    def _tick(self, dt):
        if time.monotonic() > self._active_until:
            set_fps_cap(IDLE_FPS)
        now = time.time()
        if self.model.tick(now):
            self.redraw()
        self._clock(now)

    def _clock(self, now: float) -> None:
        # Kivy redraws only when a label's text really changes: once a minute here.
        ids = self.root_widget.ids
        ids.clock.text, ids.date.text = self.clock_gate.hide(clock_text(self.model, now))

    def _rescale(self, window, size):
        self.s, self.portrait = scale(*size)

    # --- taps (kv: on_release: app.tap_…) ---------------------------------------------------
    def _do(self, method: str, *args, **kw):
        self.tapped_at = time.monotonic()
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
