"""No connection: the kiosk says so plainly and issues nothing until it is back by itself."""

from __future__ import annotations

from kiosk.screens.widgets import KioskScreen


class OfflineScreen(KioskScreen):
    def show(self, view) -> None:
        ids, b = self.ids, view.body
        ids.title.text = b.title
        ids.detail.text = b.detail
        ids.lines.text = "\n".join(b.lines)
        ids.lookup.title = b.lookup
