"""A small decoder for exactly the ESC/POS commands printer.escpos_job and printer.textmode emit.

    job = decode(data)
    job.image(576)   # the GS v 0 fragments stacked back into one mode "1" image (black = ink)
    job.commands     # [("ESC @",), ("ESC a", 1), ("GS v 0", 576, 128), …, ("GS V", 66, 0)]
    job.text         # text-mode bytes between commands, as (code page index, bytes) runs

Anything else raises: a byte the encoder was not meant to send is a bug, not noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

ESC, GS = 0x1B, 0x1D


@dataclass
class Job:
    commands: list[tuple] = field(default_factory=list)
    bands: list[Image.Image] = field(default_factory=list)
    text: list[tuple[int | None, bytes]] = field(default_factory=list)

    def image(self, width: int | None = None) -> Image.Image:
        """The bands stacked, left-aligned on paper `width` dots wide (default: the widest band)."""
        width = width or max(b.width for b in self.bands)
        out = Image.new("1", (width, sum(b.height for b in self.bands)), 1)
        y = 0
        for band in self.bands:
            out.paste(band, (0, y))
            y += band.height
        return out


def decode(data: bytes) -> Job:
    job = Job()
    page: int | None = None
    i = 0
    while i < len(data):
        b = data[i]
        if b == ESC:
            cmd = data[i + 1]
            if cmd == 0x40:                                   # ESC @: initialise
                job.commands.append(("ESC @",))
                i += 2
            elif cmd in (0x61, 0x64, 0x74, 0x21, 0x45):     # ESC a / d / t / ! / E n
                name = {0x61: "ESC a", 0x64: "ESC d", 0x74: "ESC t", 0x21: "ESC !", 0x45: "ESC E"}[cmd]
                job.commands.append((name, data[i + 2]))
                if cmd == 0x74:
                    page = data[i + 2]
                i += 3
            elif cmd == 0x42:                                 # ESC B n t: buzzer
                job.commands.append(("ESC B", data[i + 2], data[i + 3]))
                i += 4
            else:
                raise ValueError(f"unexpected ESC 0x{cmd:02x} at byte {i}")
        elif b == GS:
            cmd = data[i + 1]
            if cmd == 0x76 and data[i + 2] == 0x30:           # GS v 0 m xL xH yL yH data
                m, xl, xh, yl, yh = data[i + 3:i + 8]
                width_bytes, height = xl + 256 * xh, yl + 256 * yh
                size = width_bytes * height
                raster = data[i + 8:i + 8 + size]
                if len(raster) != size:
                    raise ValueError(f"GS v 0 at byte {i}: {len(raster)} of {size} data bytes")
                # Raster bit 1 = a burnt dot; in a mode "1" image 0 is black, so invert.
                band = Image.frombytes("1", (8 * width_bytes, height), bytes(255 - v for v in raster))
                # m: bit 0 doubles the width, bit 1 the height (each dot printed as 2 dots).
                sx, sy = (2 if m & 1 else 1), (2 if m & 2 else 1)
                job.bands.append(band.resize((band.width * sx, band.height * sy), Image.NEAREST))
                job.commands.append(("GS v 0", 8 * width_bytes, height, m))
                i += 8 + size
            elif cmd == 0x56:                                 # GS V m [n]: cut
                m = data[i + 2]
                if m in (65, 66):
                    job.commands.append(("GS V", m, data[i + 3]))
                    i += 4
                else:
                    job.commands.append(("GS V", m))
                    i += 3
            elif cmd in (0x21, 0x42):                         # GS ! n: character size; GS B n: reverse
                job.commands.append(("GS !" if cmd == 0x21 else "GS B", data[i + 2]))
                i += 3
            elif cmd == 0x28 and data[i + 2] == 0x6B:         # GS ( k pL pH cn fn …: native QR code
                length = data[i + 3] + 256 * data[i + 4]
                job.commands.append(("GS ( k", data[i + 6], bytes(data[i + 7:i + 5 + length])))
                i += 5 + length
            else:
                raise ValueError(f"unexpected GS 0x{cmd:02x} at byte {i}")
        elif b == 0x0A or b >= 0x20:
            j = i
            while j < len(data) and data[j] not in (ESC, GS) and (data[j] == 0x0A or data[j] >= 0x20):
                j += 1
            job.text.append((page, data[i:j]))
            i = j
        else:
            raise ValueError(f"unexpected control byte 0x{b:02x} at byte {i}")
    return job
