"""A kiosk without Kivy: its real back end (hall client, printer, worker) and model, for tests.

    with Kiosk(dev, printer_cfg, tmp_path / "spool.db") as k:
        v = k.until(lambda v: v.screen == "home")      # applies the back end's news as the UI thread would
        k.tap_service("ho-tich")                        # the model's tap, and the request to the worker
"""

from __future__ import annotations

import queue
import time

from kiosk.backend import KioskBackend
from kiosk.model import KioskModel, Settings
from kiosk.views import view


class Kiosk:
    """A kiosk's back end and model, the test's thread standing in for Kivy's UI thread."""

    def __init__(self, dev, printer_cfg, spool_path, **kw):
        self.model = KioskModel(Settings(), now=time.time())
        self.news: queue.SimpleQueue = queue.SimpleQueue()
        self.backend = KioskBackend(dev, printer_cfg, spool_path, config=lambda: self.model.config,
                                    deliver=lambda *a: self.news.put(a), **kw)

    def __enter__(self) -> Kiosk:
        self.backend.start()
        return self

    def __exit__(self, *exc) -> None:
        self.backend.stop()

    def until(self, pred, timeout: float = 10.0):
        """Apply the back end's news to the model, as the UI thread does, until pred(view) holds."""
        deadline = time.monotonic() + timeout
        while True:
            v = view(self.model, time.time())
            if pred(v):
                return v
            left = deadline - time.monotonic()
            assert left > 0, f"view not as expected after {timeout} s: {v}"
            try:
                self.model.apply(*self.news.get(timeout=min(left, 0.2)), now=time.time())
            except queue.Empty:
                pass

    def tap_service(self, service: str) -> None:
        # As a person would: after the screen settled (a tap sooner is taken as aimed at the old one).
        time.sleep(max(0.0, self.model.shown_at + self.model.settings.settle_s + 0.05 - time.time()))
        cmd = self.model.tap_service(service, time.time())
        assert cmd is not None, "the kiosk took no ticket"
        self.backend.worker.submit(cmd)
