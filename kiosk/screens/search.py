"""Search by name with an on-screen keyboard; results re-rank on each key.

The keyboard has the 26 letters in ABC order, space and delete: no Vietnamese letters or
tone marks, because the search ignores them ("ket hon" finds "Đăng ký kết hôn"), and ABC
order is easier than QWERTY for a citizen who has never typed on a computer.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty

from kiosk.model import MAX_QUERY
from kiosk.screens.widgets import BigButton, KioskScreen, fill
from kiosk.texts import tr
from ui import theme

ROWS = ("abcdefghij", "klmnopqrst", "uvwxyz")
# Two columns on the 7" screen: a name of more letters than this would take a third line.
SHORT_TITLE = 56


class KeyButton(BigButton):
    key = StringProperty("")


class ResultButton(BigButton):
    pass


def shorten(text: str, limit: int) -> str:
    """At most `limit` letters, cut at a word boundary with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:–-") + " …"


def subtitle(text: str) -> str:
    """A result's second line without a bracket cut open: "… hồ sơ (hồ sơ nhận sau 15 giờ …" → "… hồ sơ …"."""
    opened = text.rfind("(")
    if opened != -1 and ")" not in text[opened:]:
        return text[:opened].rstrip(" ,;:–-") + " …"
    return text


class SearchScreen(KioskScreen):
    missing = BooleanProperty(False)     # something typed, nothing found: the "not here" panel instead

    def on_kv_post(self, base_widget):
        for row, letters in zip((self.ids.row1, self.ids.row2, self.ids.row3), ROWS, strict=True):
            for letter in letters:
                # Row 3 ends with space and delete (from search.kv): letters go before them.
                row.add_widget(KeyButton(key=letter, title=letter.upper()), index=2 if row is self.ids.row3 else 0)

    def show(self, view) -> None:
        ids, b = self.ids, view.body
        ids.back.title = view.back
        for label in (ids.query, ids.query_tall):
            label.text = b.query if b.query else b.hint
            label.color = theme.INK if b.query else theme.DIM
        full = len(b.query) >= MAX_QUERY
        # A key that adds nothing must say why, or the keyboard looks broken.
        count = tr("query_full", view.lang, n=MAX_QUERY) if full else b.count
        for label in (ids.count, ids.count_tall):
            label.text = count
            label.color = theme.RED if full else theme.DIM
        ids.space.title, ids.delete.title, ids.clear_all.title = b.space, b.delete, b.clear
        from kivy.app import App
        app = App.get_running_app()
        short = not app.portrait     # the 7" screen: names only, two columns, four results visible
        rows = [dict(item_id=i.id, title=shorten(i.title, SHORT_TITLE) if short else i.title,
                     sub="" if short else subtitle(i.sub)) for i in b.items]
        if [w.item_id for w in reversed(ids.results.children)] != [r["item_id"] for r in rows]:
            ids.scroll.scroll_y = 1
        fill(ids.results, ResultButton, rows)
        self.missing = bool(b.missing)
        if b.missing:
            ids.missing_title.text, ids.missing_hint.text, ids.missing_ask.text = b.missing
