"""Search by name with an on-screen keyboard; results re-rank on each key.

The keyboard has the 26 letters in ABC order, space and delete: no Vietnamese letters or
tone marks, because the search ignores them ("ket hon" finds "Đăng ký kết hôn"), and ABC
order is easier than QWERTY for a citizen who has never typed on a computer.
"""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.screens.widgets import BigButton, KioskScreen, fill
from ui import theme

ROWS = ("abcdefghij", "klmnopqrst", "uvwxyz")


class KeyButton(BigButton):
    key = StringProperty("")


class ResultButton(BigButton):
    pass


class SearchScreen(KioskScreen):
    def on_kv_post(self, base_widget):
        for row, letters in zip((self.ids.row1, self.ids.row2, self.ids.row3), ROWS, strict=True):
            for letter in letters:
                # Row 3 ends with space and delete (from search.kv): letters go before them.
                row.add_widget(KeyButton(key=letter, title=letter.upper()), index=2 if row is self.ids.row3 else 0)

    def show(self, view) -> None:
        ids, b = self.ids, view.body
        ids.back.title = view.back
        ids.query.text = b.query if b.query else b.hint
        ids.query.color = theme.INK if b.query else theme.DIM
        ids.count.text = b.count
        ids.space.title, ids.delete.title, ids.clear_all.title = b.space, b.delete, b.clear
        from kivy.app import App
        short = not App.get_running_app().portrait     # the 7" screen: names only, two results visible
        rows = [dict(item_id=i.id, title=i.title, sub="" if short else i.sub) for i in b.items]
        if [w.item_id for w in reversed(ids.results.children)] != [r["item_id"] for r in rows]:
            ids.scroll.scroll_y = 1
        fill(ids.results, ResultButton, rows)
