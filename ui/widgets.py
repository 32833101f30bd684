"""Widgets and helpers no one app owns: hiding a widget for real, screens without a clip, filling a
list, "is this text drawn"."""

from __future__ import annotations

from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager


class Hideable:
    """Mixin: `hidden: True` puts a widget out of sight and out of reach — it draws nothing, and no
    touch reaches it or anything it holds. The .kv still gives it no room while hidden
    (`height: 0 if self.hidden else …`).

    Zero size and opacity 0 alone hide a widget from the eye only: what it holds keeps its own
    size (a label is as tall as its text) and lies over the widgets around it, and Kivy lets a
    *disabled* widget swallow every touch that lands on it. That is how the kiosk's hidden "Ưu tiên"
    row took the taps aimed at "Lĩnh vực khác" (issue 13, item 3). So whatever an app hides, it
    hides this way, and nothing is `disabled`. (A label with no text that shrinks to nothing is
    not hidden, only empty: it has nothing to draw and, not being disabled, takes no touch.)
    """
    hidden = BooleanProperty(False)

    def on_hidden(self, _widget, hidden: bool) -> None:
        self.opacity = 0 if hidden else 1

    def on_touch_down(self, touch):
        return False if self.hidden else super().on_touch_down(touch)

    def on_touch_move(self, touch):
        return False if self._ignores(touch) else super().on_touch_move(touch)

    def on_touch_up(self, touch):
        return False if self._ignores(touch) else super().on_touch_up(touch)

    def _ignores(self, touch) -> bool:
        # A touch this very widget grabbed before it was hidden still ends here, so it lets go of it.
        return self.hidden and touch.grab_current is not self


Factory.register("Hideable", cls=Hideable)      # for .kv classes such as <PrintState@Hideable+Para>


class HideBox(Hideable, BoxLayout):
    """A row or column that can be hidden with all it holds (a banner, a header)."""


class AtOnce(NoTransition):
    """NoTransition, finished inside start(): the old screen leaves the tree before any frame.

    Kivy's NoTransition still runs a 0 s Animation, which ends at the next Clock tick. Until then
    both screens are in the tree, and as the screens paint no background of their own (the
    window's clear colour is the background), a frame drawn meanwhile showed the new screen over
    the old one: the search keyboard through a procedure's page, seen in the kiosk's screenshots
    (2026-12-02). Ended here, the change is one frame: the old screen, then the new one alone.
    """

    def start(self, manager):
        super().start(manager)
        if self._anim is not None:
            self._anim.cancel(self)   # cancel() does not complete it: complete it now
            self._on_complete()


class Screens(ScreenManager):
    """A ScreenManager whose screens change at once, with no transition and no clip.

    Kivy's ScreenManager clips what it holds with the stencil buffer (for its sliding transitions):
    two extra passes over its whole area each frame and a stencil test on every pixel drawn inside.
    With no transition nothing ever lies outside it. On software GL (Mesa's llvmpipe: this machine,
    a Pi without its GPU driver) a full-screen pass costs ~1.3 ms, so the clip was 3–4 ms of each
    kiosk frame (docs/kiosk.md, "tap → number").
    """

    def __init__(self, **kw):
        kw.setdefault("transition", AtOnce())    # an instant change: no frame with two screens
        super().__init__(**kw)


# "<-Screens>": none of ScreenManager's own rules (its stencil instructions) apply to Screens.
Builder.load_string("<-Screens>:\n    size_hint: 1, 1\n")
Factory.register("Screens", cls=Screens)


def fill(layout, cls, rows: list[dict]) -> None:
    """Make `layout` hold one `cls` per row, reusing the widgets already there (no rebuild per redraw)."""
    while len(layout.children) > len(rows):
        layout.remove_widget(layout.children[0])
    while len(layout.children) < len(rows):
        layout.add_widget(cls())
    for widget, row in zip(reversed(layout.children), rows, strict=True):
        for k, v in row.items():
            setattr(widget, k, v)


def text_drawn(label, text: str) -> bool:
    """True once `label`'s texture holds `text`, so the next frame flipped shows it.

    Kivy has no public "texture is current" flag: a Label re-renders its texture from a Clock trigger,
    and that trigger still pending is the only sign the texture is stale (read here, never written).
    """
    return label.text == text and not label._trigger_texture.is_triggered and label.texture is not None
