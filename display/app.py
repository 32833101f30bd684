"""The Kivy wall display: one window, one screen, fed by the hall's retained config/board and its calls.

    prepare_kivy(window((1920, 1080)))      # ui.environment and display.config: before any `import kivy`
    from display.app import DisplayApp
    DisplayApp(dev, display_config(dev.display, toml)).run()     # motcua_cli/display_cmd.py

paho's thread only decodes a message and hands it to the UI thread (Clock.schedule_once);
the model changes there, and the screen is redrawn by one Clock trigger, at most once a frame,
however many messages came. Announcements are spoken by the announcer's own thread. What
happens is told to whoever watches (ui.observed: the probe in tests and the bench).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.lang import Builder
from kivy.properties import NumericProperty

from display.announce_queue import Announcement
from display.announcer import Announcer, Played
from display.backends import pick_backend
from display.model import BoardModel
from display.speech import Speech
from display.views import board_view
from hall.client import HallClient
from hall.protocol import ProtocolError, decode_message
from hall.runtime import software_version
from ui.clock_gate import ClockGate
from ui.environment import the_window
from ui.frames import on_shown
from ui.observed import Observed
from ui.theme import WALL
from ui.widgets import text_drawn

log = logging.getLogger("motcua.display")
HERE = Path(__file__).resolve().parent


class DisplayApp(Observed, App):
    s = NumericProperty(1.0)      # scale of every size in board.kv (1 = 1920×1080)
    title = "motcua — bảng gọi số"

    def __init__(self, dev, cfg, clock_gate=None):
        super().__init__()
        self.clock_gate: ClockGate = clock_gate or ClockGate()   # the time shows only once the clock is right
        self.dev, self.cfg = dev, cfg
        self.model = BoardModel(cfg)
        self.frames = 0                        # frames drawn (idle costs nothing only if this stays still)
        self.drawn_seq = 0                     # the newest call seq a frame has shown
        self.timing: dict[int, list[float]] = {}   # the newest call's seq → [arrived, applied, redraw start, end]
        self._await_seq: int | None = None
        self._blinker = None
        self.announcer = None
        self.client = None

    def build(self):
        Window = the_window()

        from display.board import BoardScreen
        Builder.load_file(str(HERE / "board.kv"))
        self.screen = BoardScreen(name="board", notice_page_s=self.cfg.notice_page_s)
        Window.bind(size=self._rescale)
        on_shown(self._on_shown)
        self._rescale(Window, Window.size)
        Window.clearcolor = WALL.navy
        # timeout -1: run once, just before this frame is drawn, after every message that came
        # in during the frame has been applied (so a burst costs one redraw, and no extra frame).
        self.redraw = Clock.create_trigger(self._redraw, -1)
        self.rest = Clock.create_trigger(lambda dt: self.screen.show_rest(board_view(self.model.view(time.time()))), 0)
        return self.screen

    def on_start(self):
        cfg = self.cfg
        self.announcer = Announcer(self.model.queue, Speech(cfg), pick_backend(cfg), on_played=self._played,
                                   on_started=self._speaking,
                                   on_sound=lambda state: Clock.schedule_once(lambda dt: self._apply("sound", state)),
                                   log_dir=cfg.audio_out())
        self.model.on_sound(self.announcer.sound, time.time())    # "no-device": the mark from the start
        self.announcer.start()
        self.client = HallClient(self.dev, subscribe=["config", "board", "called"], on_message=self._on_message,
                                 on_connection=self._on_connection, version=software_version())
        self.client.start()
        Clock.schedule_interval(self._tick, 1.0)
        self._tick(0)
        self.redraw()

    def on_stop(self):
        if self.client:
            self.client.stop()
        if self.announcer:
            self.announcer.stop()

    # --- what a watcher sees (ui.observed) ------------------------------------------------------
    def view(self) -> dict:
        """What the labels on screen say, the frames drawn, what was announced and how many calls wait for it."""
        ids, screen = self.screen.ids, self.screen
        return {
            "hall_name": ids.hall_name.text, "clock": ids.clock.text, "date": ids.date.text,
            "offline": _shown(ids.offline), "no_sound": _shown(ids.no_sound),
            "call_title": ids.call_title.text, "call_number": ids.call_number.text,
            "call_counter": ids.call_counter.text, "lit": bool(screen.lit),
            "blinking": self._blinker is not None,
            "counters": [[w.name, w.text, w.state] for w in reversed(ids.counters.children)],
            "services": [[w.name, w.waiting] for w in reversed(ids.services.children)],
            "last_calls": [[w.ticket, w.counter] for w in reversed(ids.last_calls.children)],
            "notice": ids.notice.text, "frames": self.frames, "ticks": Clock.frames,
            "played": [asdict(p) for p in self.announcer.history()] if self.announcer else [],
            "announce_queue": self.announcer.waiting() if self.announcer else 0,
        }

    # --- the announcer's thread ------------------------------------------------------------
    def _played(self, p: Played) -> None:
        self.notify("played", **asdict(p))

    def _speaking(self, a: Announcement, started: float) -> None:
        self.notify("speaking", seq=a.seq, ticket=a.ticket, counter=a.counter, t=started)

    # --- paho's thread: decode, then hand over ---------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        kind = self.client.topics.kind(topic)   # hall.protocol.PAYLOADS says what each topic carries
        if kind not in ("config", "board", "called"):
            log.error("%s: not a topic the display reads; ignored", topic)
            return
        try:
            obj = decode_message(topic, payload)
        except (ProtocolError, TypeError, KeyError) as err:
            log.error("%s: unreadable message ignored: %s", topic, err)
            return
        arrived = time.monotonic()
        Clock.schedule_once(lambda dt: self._apply(kind, obj, arrived))

    def _on_connection(self, up: bool) -> None:
        failure = self.client.failure if self.client else None
        refused = not up and failure is not None and failure.kind == "not_authorised"
        Clock.schedule_once(lambda dt: self._apply("connection", (up, refused)))

    # --- UI thread -----------------------------------------------------------------------
    def _apply(self, kind: str, obj, arrived: float = 0.0) -> None:
        now, m = time.time(), self.model
        if kind == "called":
            self.timing = {obj.seq: [arrived, time.monotonic()]}
        handle = {"board": m.on_board, "called": m.on_called, "sound": m.on_sound, "config": m.on_config}.get(kind)
        try:
            if kind == "connection":
                changed = m.on_connection(obj[0], now, refused=obj[1])
            else:
                changed = handle(obj, now)
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            # A message with the right envelope but wrong insides must not take the wall down.
            log.error("%s message ignored: %r", kind, err)
            return
        if kind == "connection":
            self.notify("connection", up=obj[0], refused=obj[1])
        if changed:
            self.redraw()

    def _redraw(self, *_):
        t0 = time.monotonic()
        view = self.model.view(time.time())
        board = board_view(view)
        self.screen.show_call(board)
        fresh = view.newest is not None and view.newest.seq > self.drawn_seq
        if fresh:
            # A new call: its frame carries only the big panel (3 labels to render); the
            # counters and lists follow in the next frame, which keeps the call's frame fast.
            self._await_seq = view.newest.seq
            self.rest()
        else:
            self.screen.show_rest(board)
        if view.newest and view.newest.seq in self.timing and len(self.timing[view.newest.seq]) == 2:
            self.timing[view.newest.seq] += [t0, time.monotonic()]
        lit = board.call.lit
        if lit and self._blinker is None:
            self.screen.lit = True
            self._blinker = Clock.schedule_interval(self._blink, 0.5)
        elif not lit and self._blinker is not None:     # the call that blinked is no longer the newest
            self._blinker.cancel()
            self._blinker = None

    def _blink(self, dt):
        until = self.model.highlighted_until()
        if until is None or time.time() >= until:
            self._blinker.cancel()
            self._blinker = None
            self.screen.lit = False
            self.redraw()
            return
        self.screen.blink()

    def _tick(self, dt):
        self.screen.tick(*self.clock_gate.hide(self.model.clock(time.time())))

    def _rescale(self, window, size):
        self.s = min(size[0] / 1920, size[1] / 1080)

    def _on_shown(self):
        self.frames += 1
        # The first frame on screen whose big number shows the newest call (texture included).
        seq = self._await_seq
        if seq is None:
            return
        number = self.screen.ids.call_number
        if text_drawn(number, number.text):
            self._await_seq = None
            self.drawn_seq = max(self.drawn_seq, seq)
            self.notify("drawn", seq=seq, ticket=number.text, t=time.monotonic(), steps=self.timing.pop(seq, []))


def _shown(label) -> str:
    """A header mark's text if it is on screen: visible and laid out in the band (not only asked for)."""
    band = label.parent
    on = label.opacity > 0 and label.height > 0 and band.y <= label.y and label.top <= band.top + 1
    return label.text if on else ""
