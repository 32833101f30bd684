"""The hall's colours, chosen for contrast (WCAG AA or better for every text on its background).

The module's names are the kiosk's paper screens (`#:import T ui.theme` in their .kv files);
WALL is the wall display's navy board (display/board.kv), seen from 10 m.
Sizes are not here: every .kv multiplies its base sizes by `app.s`.
"""

from dataclasses import dataclass

BG = (0.965, 0.957, 0.93, 1)        # warm paper white
INK = (0.09, 0.10, 0.12, 1)         # body text
DIM = (0.30, 0.32, 0.36, 1)         # secondary text on BG (contrast 7:1)
RED = (0.68, 0.07, 0.10, 1)         # header band: the colours of a commune office sign
RED_DARK = (0.50, 0.04, 0.07, 1)
YELLOW = (1.0, 0.84, 0.20, 1)
BLUE = (0.05, 0.29, 0.56, 1)        # services: white on this is 8:1
GREEN = (0.05, 0.42, 0.20, 1)       # "take a ticket for this procedure", lookup
ORANGE = (0.93, 0.55, 0.05, 1)      # priority: dark text on it
GREY = (0.42, 0.44, 0.47, 1)        # back / home / disabled
WHITE = (1, 1, 1, 1)
WARN_BG = (1.0, 0.90, 0.55, 1)      # printer and error notes: ink on pale yellow
SHADE = (0, 0, 0, 0.55)             # behind a message box

Colour = tuple[float, float, float, float]


@dataclass(frozen=True)
class WallColours:
    navy: Colour = (0.043, 0.082, 0.133, 1)     # the board's background (the window's clear colour)
    panel: Colour = (0.078, 0.153, 0.247, 1)
    tile: Colour = (0.106, 0.208, 0.333, 1)
    red: Colour = (0.70, 0.07, 0.11, 1)
    yellow: Colour = (1, 0.835, 0.22, 1)
    white: Colour = (1, 1, 1, 1)
    dim: Colour = (0.78, 0.83, 0.90, 1)
    grey: Colour = (0.55, 0.58, 0.62, 1)


WALL = WallColours()
