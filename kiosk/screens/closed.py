"""Outside opening hours: say so, show the hours and when the office opens again."""

from __future__ import annotations

from kiosk.screens.widgets import KioskScreen


class ClosedScreen(KioskScreen):
    def show(self, view) -> None:
        ids, b = self.ids, view.body
        ids.title.text = b.title
        ids.detail.text = b.detail
        ids.lines.text = "\n".join(b.lines)
        ids.lookup.title = b.lookup
