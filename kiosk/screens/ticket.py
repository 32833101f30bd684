"""The ticket: the number very large, where to go, who is ahead, the paper copy's state."""

from __future__ import annotations

from kivy.properties import StringProperty

from kiosk.screens.widgets import KioskScreen
from ui.widgets import text_drawn


class TicketScreen(KioskScreen):
    print_state = StringProperty("printing")     # printing | printed | trouble: the band's colour

    def show(self, view) -> None:
        ids, b = self.ids, view.body
        ids.heading.text = b.heading
        ids.number.text = b.number
        ids.service.text = b.service
        ids.priority.text = b.priority
        ids.go_to.text = b.go_to
        ids.ahead.text = b.ahead
        ids.wait.text = b.wait
        # One label per paper state, shown or hidden: a label whose text flips back and forth on
        # every ticket costs a texture re-upload that (on software GL) held the number's frame
        # back by ~100 ms; a label that keeps its text costs nothing (docs/kiosk.md).
        {"printing": ids.printing, "printed": ids.printed, "trouble": ids.trouble}[b.print_state].text = b.print_text
        self.print_state = b.print_state
        ids.done.title = b.done

    def number_drawn(self, number: str) -> bool:
        """True once the big number's texture holds `number` (the next frame shows it)."""
        return text_drawn(self.ids.number, number)
