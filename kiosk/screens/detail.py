"""A procedure's posted items (niêm yết công khai), and "Lấy số cho thủ tục này"."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.screens.widgets import KioskScreen, fill


class Section(BoxLayout):
    """One posted item: its heading and its text (one label each, so no texture grows past a GPU's limit)."""
    heading = StringProperty("")
    text = StringProperty("")


class DetailScreen(KioskScreen):
    can_take = BooleanProperty(False)

    def show(self, view) -> None:
        ids, b = self.ids, view.body
        ids.back.title = view.back
        ids.take.title, ids.take.sub = b.take, b.take_sub
        self.can_take = b.can_take
        ids.note.text = b.note
        rows = [dict(heading=h, text=t) for h, t in b.sections]
        if ids.title.text != b.name or [(w.heading, w.text) for w in reversed(ids.sections.children)] != \
                [(r["heading"], r["text"]) for r in rows]:
            ids.title.text = b.name
            fill(ids.sections, Section, rows)
            ids.scroll.scroll_y = 1      # a new procedure (or language): start at the top
