"""Home: one big button per service (with who is waiting), priority, procedures; home.kv lays it out."""

from __future__ import annotations

from kivy.properties import StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens.widgets import KioskScreen, fill


class ServiceButton(ButtonBehavior, BoxLayout):
    """A service: its name large, what it covers under it, who is waiting at the right."""
    item_id = StringProperty("")
    title = StringProperty("")
    sub = StringProperty("")
    badge = StringProperty("")


class HomeScreen(KioskScreen):
    banner = StringProperty("")     # the chosen priority category, shown instead of the title

    def show(self, view) -> None:
        ids, b = self.ids, view.body
        fill(ids.services, ServiceButton, [dict(item_id=i.id, title=i.title, sub=i.sub, badge=i.badge)
                                           for i in b.services])
        ids.priority.title, ids.priority.sub = b.priority, b.priority_who
        ids.lookup.title = b.lookup
        self.banner, ids.cancel.title = b.banner, b.cancel
        ids.printer_note.text = b.printer_note
