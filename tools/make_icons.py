"""Draw the clerk page's app icons (broker/web/static/clerk/icon-192.png, icon-512.png) with Pillow.

    .venv/bin/python tools/make_icons.py            # rewrites both PNGs; they are committed

A queue ticket with a number on the page's blue, drawn inside the middle 80 % so that Android's
"maskable" crop (a circle or a squircle) never cuts it. The font is DejaVu Sans Bold when the
system has it (Debian's fonts-dejavu-core), else Pillow's own.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "broker" / "web" / "static" / "clerk"
BLUE = (13, 71, 161)
WHITE = (255, 255, 255)
YELLOW = (255, 213, 79)
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if FONT.exists():
        return ImageFont.truetype(str(FONT), size)
    return ImageFont.load_default(size)


def icon(size: int) -> Image.Image:
    img = Image.new("RGB", (size, size), BLUE)
    d = ImageDraw.Draw(img)
    u = size / 100                                   # drawn on a 100-unit grid
    # The ticket: a white card with a notch each side, as the kiosk's paper looks when torn.
    box = (22 * u, 20 * u, 78 * u, 80 * u)
    d.rounded_rectangle(box, radius=6 * u, fill=WHITE)
    for x in (22 * u, 78 * u):
        d.ellipse((x - 5 * u, 45 * u, x + 5 * u, 55 * u), fill=BLUE)
    d.line((30 * u, 50 * u, 70 * u, 50 * u), fill=(190, 200, 215), width=max(1, round(1.5 * u)))
    big = font(round(24 * u))
    d.text((50 * u, 36 * u), "1", font=big, fill=BLUE, anchor="mm")
    d.rounded_rectangle((34 * u, 60 * u, 66 * u, 70 * u), radius=3 * u, fill=YELLOW)
    return img


def main() -> None:
    for size in (192, 512):
        path = OUT / f"icon-{size}.png"
        icon(size).save(path, optimize=True)
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
