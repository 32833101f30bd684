"""Procedures, step 1: the fields (lĩnh vực) of the posted catalog, and "search by name"."""

from __future__ import annotations

from kiosk.screens.widgets import BigButton, KioskScreen, fill


class FieldButton(BigButton):
    pass


class FieldsScreen(KioskScreen):
    def show(self, view) -> None:
        ids, b = self.ids, view.body
        ids.empty.text = b.empty
        ids.note.text = b.note
        ids.search.title = b.search
        ids.back.title = view.back
        fill(ids.fields, FieldButton, [dict(item_id=i.id, title=i.title, sub=i.sub) for i in b.items])
