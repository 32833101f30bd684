"""No connection: the kiosk says so plainly and issues nothing until it is back by itself."""

from __future__ import annotations

from kiosk.screens.widgets import NoticeScreen


class OfflineScreen(NoticeScreen):
    """Its layout is in offline.kv; what it shows comes from kiosk.views."""
