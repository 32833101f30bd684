"""Procedures, step 2: the procedures of one field, each with its time limit and fee."""

from __future__ import annotations

from kiosk.screens.widgets import BigButton, KioskScreen, fill


class ProcButton(BigButton):
    pass


class ProceduresScreen(KioskScreen):
    def show(self, view) -> None:
        ids = self.ids
        ids.back.title, ids.home.title = view.back, view.home
        rows = [dict(item_id=i.id, title=i.title, sub=i.sub) for i in view.body.items]
        if [(w.item_id, w.title, w.sub) for w in reversed(ids.procs.children)] != \
                [(r["item_id"], r["title"], r["sub"]) for r in rows]:
            fill(ids.procs, ProcButton, rows)
            ids.scroll.scroll_y = 1      # another field: start at its top
