"""The Kivy counter pad: one window at a counter, facing the citizen; fed by the hall's config and board.

    prepare_kivy(window((800, 480)))     # ui.environment and kiosk.counter_pad.window: before any `import kivy`
    from kiosk.counter_pad.app import CounterPadApp
    CounterPadApp(dev).run()             # motcua_cli/counter_pad_cmd.py

kiosk.counter_pad.backend holds the hall client and the sender of ratings. Its news (a message
decoded on paho's thread, a rating's answer from the sender) is handed to the UI thread with
Clock.schedule_once_free; the model changes there, and the screen is redrawn by one Clock
trigger however many messages came. A tap asks the model; a rating goes to the sender, never
sent from here. What happens is told to whoever watches (ui.observed: the probe in tests).
"""

from __future__ import annotations

import dataclasses
import logging
import time

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import NumericProperty

from hall.runtime import software_version
from kiosk.counter_pad import HERE, KV_FILES, MAX_FPS, scale
from kiosk.counter_pad.backend import PadBackend
from kiosk.counter_pad.model import PadModel, PadView
from ui import theme
from ui.environment import the_window
from ui.frames import on_shown, set_fps_cap
from ui.observed import Observed

log = logging.getLogger("motcua.counter_pad")
IDLE_FPS = 5          # while nobody touches it: the number changes a few times an hour
IDLE_AFTER_S = 5.0


class CounterPadApp(Observed, App):
    s = NumericProperty(1.0)          # scale of every size in the .kv files (1 = 800×480)
    title = "motcua — quầy"

    def __init__(self, dev):
        super().__init__()
        self.dev = dev
        self.model = PadModel(dev.counter)
        self.backend: PadBackend | None = None
        self.last_view: PadView | None = None
        self._shown_screen = ""
        self._active_until = 0.0
        self._clean = False               # the last frame drawn shows one screen alone

    def build(self):
        Window = the_window()

        from kiosk.counter_pad.screens import NumberScreen, PadRoot, RatingScreen, ReasonsScreen, ThanksScreen
        for name in KV_FILES:
            Builder.load_file(str(HERE / name))
        Window.clearcolor = theme.BG
        Window.bind(size=self._rescale, on_touch_down=lambda *_: self._awake())
        self._rescale(Window, Window.size)
        self.root_widget = root = PadRoot()
        root.add_screens([NumberScreen(), RatingScreen(), ReasonsScreen(), ThanksScreen()])
        self.redraw = Clock.create_trigger(self._redraw)
        return root

    def on_start(self):
        self.backend = PadBackend(self.dev, deliver=lambda *a: Clock.schedule_once_free(lambda dt: self._apply(*a)),
                                  version=software_version())
        self.backend.start()
        on_shown(self._on_shown)
        Clock.schedule_interval(self._tick, 0.5)
        self.redraw()

    def on_stop(self):
        if self.backend is not None:
            self.backend.stop()

    # --- what a watcher sees (ui.observed) ------------------------------------------------------
    def view(self) -> dict | None:
        return dataclasses.asdict(self.last_view) if self.last_view else None

    def tap_wait(self, key: bool) -> float:
        # A person taps once the screen has settled: a test taps as a citizen would, it does not race it.
        from kiosk.counter_pad.model import SETTLE_S
        return max(self.model.shown_at + SETTLE_S - time.time(), 0.0)

    def settled(self) -> bool:
        # A screen change draws one frame with both screens (Kivy's NoTransition removes the old one
        # on the next tick): a screenshot waits for a frame with the new screen alone.
        return self._clean and not self.root_widget.ids.sm.transition.is_active

    def _on_shown(self) -> None:
        sm = self.root_widget.ids.sm
        self._clean = not sm.transition.is_active and len(sm.children) == 1

    # --- UI thread --------------------------------------------------------------------------
    def _apply(self, kind: str, *args) -> None:
        m, now = self.model, time.time()
        if kind == "config":
            m.on_config(args[0], now)
        elif kind == "board":
            m.on_board(args[0], now)
        elif kind == "connection":
            m.on_connection(args[0], now, refused=args[1])
            self.notify("connection", up=args[0], refused=args[1])
        elif kind == "rated":
            m.on_rated(args[0], args[1], now)
            self._redraw()   # before telling: a watcher told "rated" reads the view that says so
            self.notify("rated", ticket_id=args[0], outcome=args[1])
        self.notify("message", kind=kind)
        self.redraw()

    def _redraw(self, *_):
        self.last_view = v = self.model.view(time.time())
        self.root_widget.show(v)
        if v.screen != self._shown_screen:
            self._shown_screen = v.screen
            self._clean = False
            self._awake()
            self.notify("screen", screen=v.screen, ticket=v.ticket)

    def _tick(self, dt):
        if time.monotonic() > self._active_until:
            set_fps_cap(IDLE_FPS)
        if self.model.tick(time.time()):
            self._send()

    def _awake(self):
        self._active_until = time.monotonic() + IDLE_AFTER_S
        set_fps_cap(MAX_FPS)

    def _rescale(self, window, size):
        self.s = scale(*size)

    # --- taps (kv: on_release: app.tap_…) ---------------------------------------------------
    def _send(self) -> None:
        for rate in self.model.take_rates():
            if self.backend is not None:
                self.backend.send(rate)
        self.redraw()

    def tap_score(self, score):
        self.model.tap_score(int(score), time.time())
        self._send()

    def tap_reason(self, reason_id):
        self.model.tap_reason(reason_id or None, time.time())
        self._send()
