"""The Kivy wall display: one window, one screen, fed by the hall's retained config/board and its calls.

    run_display("display-1.toml", size=(1920, 1080), fullscreen=False)   # blocks until the window closes

paho's thread only decodes a message and hands it to the UI thread (Clock.schedule_once);
the model changes there, and the screen is redrawn by one Clock trigger, at most once a frame,
however many messages came. Announcements are spoken by the announcer's own thread.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from hall.runtime import kivy_environment, software_version

log = logging.getLogger("motcua.display")
HERE = Path(__file__).resolve().parent
# Kivy's loop wakes MAX_FPS times a second even when nothing changes (redraws happen only on
# change). 20 keeps that under ~1.5% of a core here, and a call waits at most 50 ms for its
# frame. (Kivy's 'interrupt' clock would wake at once on a message, but it spins hundreds of
# times a second when idle.) Measured by `motcua bench display`; see docs/display.md.
MAX_FPS = 20


def prepare_kivy(size: tuple[int, int], fullscreen: bool) -> None:
    """Kivy reads these when first imported: call before any `import kivy`."""
    kivy_environment()
    from kivy.config import Config
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "maxfps", str(MAX_FPS))
    # No multisampling: text and rectangles do not need it, and with software GL (Mesa's
    # llvmpipe, a Pi without its GPU driver) it makes every frame about four times dearer.
    Config.set("graphics", "multisamples", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")


def run_display(device_toml: str | Path, size: tuple[int, int] = (1920, 1080), fullscreen: bool = False,
                probe: bool = False) -> int:
    """Open the wall display for a device.toml and run until the window is closed (or `quit` on the probe)."""
    from display.config import display_config
    from hall.device import load_device
    dev = load_device(device_toml)
    if dev.role != "display":
        raise RuntimeError(f"{device_toml} is the device.toml of a {dev.role}, not of a display")
    cfg = display_config(dev.display, device_toml)     # config errors before any window opens
    prepare_kivy(size, fullscreen)
    # Kivy sets its logger to INFO on import; follow motcua's level (-v) instead.
    logging.getLogger("kivy").setLevel(logging.getLogger().getEffectiveLevel())
    from display.probe import Probe
    app = make_app(dev, cfg)
    if probe:
        app.probe = Probe(app)
    import signal

    from kivy.clock import Clock
    # SIGTERM (systemd, the demo): close the window in order, so the device says 'offline' itself.
    signal.signal(signal.SIGTERM, lambda *_: Clock.schedule_once(lambda dt: app.stop()))
    app.run()
    return 0


def make_app(dev, cfg):
    from kivy.app import App
    from kivy.clock import Clock
    from kivy.core.window import Window
    from kivy.lang import Builder
    from kivy.properties import NumericProperty

    from display.announcer import Announcer
    from display.backends import pick_backend
    from display.board import BoardScreen
    from display.model import BoardModel
    from display.speech import Speech
    from hall.client import HallClient
    from hall.protocol import Board, Call, ProtocolError, decode

    class DisplayApp(App):
        s = NumericProperty(1.0)      # scale of every size in board.kv (1 = 1920×1080)
        title = "motcua — bảng gọi số"

        def __init__(self):
            super().__init__()
            self.dev, self.cfg = dev, cfg
            self.model = BoardModel(cfg)
            self.probe = None
            self.frames = 0                        # frames drawn (idle costs nothing only if this stays still)
            self.drawn_seq = 0                     # the newest call seq a frame has shown
            self.timing: dict[int, list[float]] = {}   # (probe only) seq → [arrived, applied, redraw start, end]
            self._await_seq: int | None = None
            self._blinker = None
            self.announcer = None
            self.client = None

        def build(self):
            Builder.load_file(str(HERE / "board.kv"))
            self.screen = BoardScreen(name="board", notice_page_s=cfg.notice_page_s)
            Window.bind(size=self._rescale, on_flip=self._on_flip)
            self._rescale(Window, Window.size)
            Window.clearcolor = (0.043, 0.082, 0.133, 1)      # NAVY of board.kv
            # timeout -1: run once, just before this frame is drawn, after every message that came
            # in during the frame has been applied (so a burst costs one redraw, and no extra frame).
            self.redraw = Clock.create_trigger(self._redraw, -1)
            self.rest = Clock.create_trigger(lambda dt: self.screen.show_rest(self.model.view(time.time())), 0)
            return self.screen

        def on_start(self):
            self.announcer = Announcer(self.model.queue, Speech(cfg), pick_backend(cfg),
                                       on_played=self.probe.played if self.probe else None,
                                       on_started=self.probe.speaking if self.probe else None,
                                       on_sound=lambda state: Clock.schedule_once(
                                           lambda dt: self._apply("sound", state)),
                                       log_dir=cfg.audio_out())
            self.model.on_sound(self.announcer.sound, time.time())    # "no-device": the mark from the start
            self.announcer.start()
            self.client = HallClient(dev, subscribe=["config", "board", "called"], on_message=self._on_message,
                                     on_connection=self._on_connection, version=software_version())
            self.client.start()
            Clock.schedule_interval(self._tick, 1.0)
            self._tick(0)
            self.redraw()
            if self.probe:
                self.probe.start()

        def on_stop(self):
            if self.client:
                self.client.stop()
            if self.announcer:
                self.announcer.stop()

        # --- paho's thread: decode, then hand over ---------------------------------------
        def _on_message(self, topic: str, payload: bytes) -> None:
            kind = topic.rsplit("/", 1)[-1]
            try:
                obj = Board.from_payload(payload) if kind == "board" else Call.from_payload(payload) \
                    if kind == "called" else decode(payload)
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
            if kind == "called" and self.probe:
                self.timing = {obj.seq: [arrived, time.monotonic()]}
            handle = {"board": m.on_board, "called": m.on_called, "sound": m.on_sound}.get(kind, m.on_config)
            try:
                if kind == "connection":
                    changed = m.on_connection(obj[0], now, refused=obj[1])
                else:
                    changed = handle(obj, now)
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                # A message with the right envelope but wrong insides must not take the wall down.
                log.error("%s message ignored: %r", kind, err)
                return
            if kind == "connection" and self.probe:
                self.probe.event("connection", up=obj[0], refused=obj[1])
            if changed:
                self.redraw()

        def _redraw(self, *_):
            t0 = time.monotonic()
            view = self.model.view(time.time())
            self.screen.show_call(view)
            fresh = view.newest is not None and view.newest.seq > self.drawn_seq
            if fresh:
                # A new call: its frame carries only the big panel (3 labels to render); the
                # counters and lists follow in the next frame, which keeps the call's frame fast.
                self._await_seq = view.newest.seq
                self.rest()
            else:
                self.screen.show_rest(view)
            if view.newest and view.newest.seq in self.timing and len(self.timing[view.newest.seq]) == 2:
                self.timing[view.newest.seq] += [t0, time.monotonic()]
            lit = view.newest is not None and view.newest.highlighted
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
            self.screen.tick(*self.model.clock(time.time()))

        def _rescale(self, window, size):
            self.s = min(size[0] / 1920, size[1] / 1080)

        def _on_flip(self, *_):
            self.frames += 1
            # The first frame on screen whose big number shows the newest call (texture included).
            seq = self._await_seq
            if seq is None:
                return
            number = self.screen.ids.call_number
            if not number._trigger_texture.is_triggered and number.texture is not None:
                self._await_seq = None
                t = time.monotonic()
                self.drawn_seq = max(self.drawn_seq, seq)
                if self.probe:
                    self.probe.event("drawn", seq=seq, ticket=number.text, t=t, steps=self.timing.pop(seq, []))

    return DisplayApp()


def spawn_display(device_toml: str | Path, size: tuple[int, int] = (1280, 720), fullscreen: bool = False,
                  log: str | Path | None = None):
    """Start `motcua display` for a device.toml as a child process and return its Popen (what
    `motcua demo` does): Kivy's window is one per process, so the display never shares one.
    Stop it with .terminate() (it closes its MQTT session cleanly) and .wait()."""
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "motcua_cli.main", "display", "--config", str(device_toml),
           "--size", f"{size[0]}x{size[1]}"] + (["--fullscreen"] if fullscreen else [])
    out = open(log, "ab") if log else subprocess.DEVNULL
    env = {**os.environ, "KIVY_NO_ARGS": "1"}
    return subprocess.Popen(cmd, cwd=HERE.parent, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
