"""The main loop's frames: the frame-rate cap, and "this frame is on the screen now".

Kivy reads `maxfps` from its Config once, when the Clock is made, and has no public way to change
it after (2.3): the Clock's `_max_fps` is the one place it lives. This module is the only one that
touches it, so a Kivy upgrade that renames it breaks here, in one place, and the test port sees it
(`stats` reports fps_cap).

`on_shown(callback)` calls back after each frame is really drawn. Kivy's `on_flip` event runs its
bound callbacks *before* the window's own flip (the class handler), and a flip is not a drawn frame
everywhere: on SDL's offscreen window (tests, benches, the demo without a screen) the swap of its
pbuffer does nothing, so Mesa's software rasterizer (llvmpipe) keeps queuing the frames' draw calls
and rasterizes them only when a later GL call needs them: a label's texture re-uploaded, a
screenshot. The frame that showed a ticket then paid for a lump of earlier ones, 80–150 ms in a row
once that began (the kiosk's "slow phase" of issue 9, docs/kiosk.md). So after the swap, each frame
is finished (glFinish) before anyone is told it is shown: on the offscreen window this is what a
screen's swap does with software GL (Mesa's X11 swap waits for the frame, then copies it out); on a
real screen the swap has already drawn the frame, so the finish returns at once. It blocks the UI
thread while the frame is rasterized, as that swap does: so the figures are those of a screen
(bench/kiosk.py offscreen: tap → number p50 31–34 ms; under Xvfb, with its copy, 40 ms).
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.clock import Clock

_shown: list[Callable[[], None]] = []


def fps_cap() -> float:
    return float(Clock._max_fps)


def set_fps_cap(fps: float) -> None:
    if Clock._max_fps != fps:
        Clock._max_fps = float(fps)


def on_shown(callback: Callable[[], None]) -> None:
    """Call `callback()` on the UI thread after each frame is swapped and finished: on screen."""
    if not _shown:
        _finish_each_flip()
    _shown.append(callback)


def _finish_each_flip() -> None:
    from kivy.core.window import Window
    from kivy.graphics.opengl import glFinish

    # WindowBase.on_flip calls self.flip(): wrapping the instance's flip puts us after the swap itself.
    swap = Window.flip

    def flip() -> None:
        swap()
        glFinish()
        for callback in list(_shown):
            callback()

    Window.flip = flip
