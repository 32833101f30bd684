"""Priority: who may take a priority number; tapping a category goes back to the services with it."""

from __future__ import annotations

from kiosk.screens.widgets import BigButton, KioskScreen, fill


class CategoryButton(BigButton):
    pass


class PriorityScreen(KioskScreen):
    def show(self, view) -> None:
        ids = self.ids
        ids.back.title = view.back
        fill(ids.categories, CategoryButton, [dict(item_id=i.id, title=i.title) for i in view.body.items])
