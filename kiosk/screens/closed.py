"""Outside opening hours: say so, show the hours and when the office opens again."""

from __future__ import annotations

from kiosk.screens.widgets import NoticeScreen


class ClosedScreen(NoticeScreen):
    """Its layout is in closed.kv; what it shows comes from kiosk.views."""
