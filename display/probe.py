"""`motcua display --probe`: the running display reports and obeys over stdin/stdout, for tests and bench.

One JSON object per line. Out (events): `ready`, `drawn` (a call's first frame on screen, with
time.monotonic() — the same clock in every process of one machine), `connection`, `speaking`
(an announcement's first sample went out), `played` (it ended). Out (replies): `texts` (what the
labels on screen say), `screenshot` (the PNG written). In (commands):

    {"cmd": "texts"}
    {"cmd": "screenshot", "path": "/abs/board.png"}
    {"cmd": "quit"}

Everything else Kivy or motcua prints goes to stderr, so stdout carries only these lines.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import asdict
from pathlib import Path


class Probe:
    def __init__(self, app):
        self.app = app
        # Keep the real stdout for our lines; anything else that prints goes to stderr.
        self.out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8")
        sys.stdout = sys.stderr
        self.lock = threading.Lock()

    def start(self) -> None:
        from kivy.clock import Clock
        from kivy.core.window import Window
        threading.Thread(target=self._read, name="probe", daemon=True).start()
        # 'ready' once the first frame is on screen: everything before it is start-up.
        Window.bind(on_flip=self._first_flip)
        self._clock = Clock

    def _first_flip(self, window, *_):
        window.unbind(on_flip=self._first_flip)
        self.event("ready", pid=os.getpid(), size=list(window.size))

    def event(self, name: str, **data) -> None:
        with self.lock:
            self.out.write(json.dumps({"event": name, **data}, ensure_ascii=False) + "\n")

    def played(self, p) -> None:
        self.event("played", **asdict(p))

    def speaking(self, a, started: float) -> None:
        self.event("speaking", seq=a.seq, ticket=a.ticket, counter=a.counter, t=started)

    def _read(self) -> None:
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
            except ValueError:
                continue
            self._clock.schedule_once(lambda dt, cmd=cmd: self._handle(cmd))
        # stdin closed: whoever ran us is gone, so are we.
        self._clock.schedule_once(lambda dt: self.app.stop())

    def _handle(self, cmd: dict) -> None:
        what = cmd.get("cmd")
        if what == "texts":
            self.event("texts", **self.texts())
        elif what == "screenshot":
            self.event("screenshot", path=self.screenshot(cmd["path"]))
        elif what == "quit":
            self.app.stop()

    def texts(self) -> dict:
        ids = self.app.screen.ids
        return {
            "hall_name": ids.hall_name.text, "clock": ids.clock.text, "date": ids.date.text,
            "offline": _shown(ids.offline), "no_sound": _shown(ids.no_sound),
            "call_title": ids.call_title.text, "call_number": ids.call_number.text,
            "call_counter": ids.call_counter.text, "lit": bool(self.app.screen.lit),
            "blinking": self.app._blinker is not None,
            "counters": [[w.name, w.text, w.state] for w in reversed(ids.counters.children)],
            "services": [[w.name, w.waiting] for w in reversed(ids.services.children)],
            "last_calls": [[w.ticket, w.counter] for w in reversed(ids.last_calls.children)],
            "notice": ids.notice.text, "frames": self.app.frames, "ticks": self._clock.frames,
            "played": [asdict(p) for p in self.app.announcer.history()] if self.app.announcer else [],
        }

    def screenshot(self, path: str) -> str:
        """The window as it is on screen now, as a PNG."""
        from kivy.core.window import Window
        from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
        from PIL import Image
        # RGBA, not Kivy's Window.screenshot (RGB): GL pads RGB rows to 4 bytes, which shears
        # every width that is not a multiple of 4, such as 1366.
        w, h = Window.size
        data = glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.frombytes("RGBA", (w, h), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM).convert("RGB").save(target)
        return str(target)


def _shown(label) -> str:
    """A header mark's text if it is on screen: visible and laid out in the band (not only asked for)."""
    band = label.parent
    on = label.opacity > 0 and label.height > 0 and band.y <= label.y and label.top <= band.top + 1
    return label.text if on else ""
