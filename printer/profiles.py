"""Printer profiles: what a printer model can do, from python-escpos's printer database.

    prof = load_profile("TM-T20II")           # 576 dots, full/partial cut, DLE EOT status, 200 mm/s
    prof = load_profile("POS-58")             # our 58 mm clone profile: 384 dots, no cutter
    prof = load_profile("default", width=512) # a printer not in the database: say its width
    p = prof.dummy()                          # a python-escpos Dummy printer with this profile
    load_profile("TM-T20")                    # UnknownPrinterModel: … close names: TM-T20II, …

The database (escpos-printer-db, shipped in python-escpos as capabilities.json)
gives each model its printable width in dots, its cutter, its code pages (the
`ESC t n` table) and whether it speaks Star's command set. python-escpos's
`Profile` objects are built on demand, never at import.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

# A 58 mm roll has at most ~48 mm printable (384 dots at 203 dpi); 80 mm has 72 mm (512 or 576).
PAPER_58_MAX_DOTS = 440
FONT_A_DOTS = 12          # Font A is 12×24 dots on Epson and on the clones: 576 / 12 = 48 columns
MIN_WIDTH, MAX_WIDTH = 256, 832
DEFAULT_WIDTH = 576       # python-escpos's 'default' profile has no width; 576 is nearly every 80 mm printer

# Our own profiles for the unbranded clones communes buy (POS-58, Xprinter XP-58/XP-80 …). They are
# built on the database's Zjiang POS-5890 entry, whose code page table (27 = CP1258, 16 = CP1252 …)
# is the one these clones' manuals print; the 80 mm ones add the auto-cutter they all have.
_CLONE_58 = {"notes": "motcua: generic 58 mm ESC/POS clone (POS-58, Xprinter XP-58): 384 dots, no cutter",
             "media": {"dpi": 203, "width": {"mm": 48, "pixels": 384}}}
_CLONE_80 = {"notes": "motcua: generic 80 mm ESC/POS clone (POS-80, Xprinter XP-80): 576 dots, auto-cutter",
             "media": {"dpi": 203, "width": {"mm": 72, "pixels": 576}},
             "features": {"paperFullCut": True, "paperPartCut": True}}
OWN_PROFILES: dict[str, tuple[str, dict]] = {
    "POS-58": ("POS-5890", _CLONE_58), "XP-58": ("POS-5890", _CLONE_58),
    "POS-80": ("POS-5890", _CLONE_80), "XP-80": ("POS-5890", _CLONE_80),
}

# Print speed in mm/s, for the spool's timing (printer.timing): how long a ticket takes to come out, so
# a status answer that waits behind it is not taken for silence. Epson's rated speed for its models
# (the lower figure where versions differ); everything else gets DEFAULT_SPEED_MM_S, the slow end of
# the cheap clones (50-90 mm/s): too slow an estimate only makes the kiosk wait longer before it
# says "printed", too fast a one could say it early. docs/printers.md has the table.
PRINT_SPEEDS_MM_S = {"TM-T20II": 200, "TM-T20II-42col": 200, "TM-T88II": 150, "TM-T88III": 150,
                     "TM-T88IV": 150, "TM-T88IV-SA": 150, "TM-T88V": 300, "TM-L90": 150, "TM-P80": 100,
                     "TM-P80-42col": 100}
DEFAULT_SPEED_MM_S = 50


class UnknownPrinterModel(ValueError):
    """The model name is in neither python-escpos's database nor our own profiles."""


class UnsuitablePrinter(ValueError):
    """A known model that cannot print our ticket (no raster images, no width, width out of range)."""


def _database() -> dict[str, dict]:
    # Importing capabilities loads the whole database: only when a profile is asked for, never at import.
    from escpos.capabilities import CAPABILITIES
    return CAPABILITIES["profiles"]


def model_names() -> list[str]:
    """Every model name load_profile accepts."""
    return sorted({*_database(), *OWN_PROFILES}, key=str.lower)


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return out


@dataclass(frozen=True)
class PrinterProfile:
    """One printer model as the ticket code needs it."""
    model: str                      # the name asked for, e.g. "TM-T20II"
    base: str                       # the python-escpos database entry it is built on
    width: int                      # printable width in dots: the ticket image's width
    dpi: int                        # 203 for most; 180 for Epson TM-T88
    full_cut: bool
    partial_cut: bool
    realtime_status: bool           # answers DLE EOT n (online, cover, paper end)
    speed_mm_s: int                 # print speed used for the spool's timing (PRINT_SPEEDS_MM_S)
    status_back: bool               # sends its status by itself when it changes (GS a, ASB): Epson TM
    code_pages: tuple[str, ...]     # known code pages, in the printer's ESC t order
    data: dict[str, Any] = field(repr=False, compare=False)   # the merged database entry

    @property
    def paper_mm(self) -> int:
        return 58 if self.width <= PAPER_58_MAX_DOTS else 80

    @property
    def columns(self) -> int:
        """Characters per line in Font A (text mode)."""
        return self.width // FONT_A_DOTS

    @property
    def native_qr(self) -> bool:
        """The printer draws QR codes itself (GS ( k), used by text mode."""
        return bool(self.data["features"].get("qrCode"))

    def code_page(self, name: str) -> int:
        """The ESC t index of a code page this printer claims; KeyError if it does not."""
        return next(int(i) for i, n in sorted(self.data["codePages"].items(), key=lambda kv: int(kv[0]))
                    if n == name)

    def mm(self, dots: int) -> float:
        """Paper length of `dots` rows, in millimetres."""
        return dots * 25.4 / self.dpi

    def escpos_profile(self):
        """A python-escpos Profile object carrying this model's data (and our width)."""
        from escpos.capabilities import Profile

        # python-escpos accepts a ready profile only if it is a `Profile`; give it our data as its class data.
        cls = type(f"Motcua{self.base.replace('-', '')}Profile", (Profile,), {"profile_data": self.data})
        return cls(features=self.data["features"])

    def dummy(self):
        """A python-escpos Dummy printer with this profile: collects the job's bytes."""
        from escpos.printer import Dummy
        return Dummy(profile=self.escpos_profile())


def load_profile(model: str, width: int | None = None) -> PrinterProfile:
    """The profile of a model name (python-escpos database or OWN_PROFILES), width overridable."""
    db = _database()
    name = next((n for n in (*OWN_PROFILES, *db) if n.lower() == model.strip().lower()), None)
    if name is None:
        by_upper = {n.upper(): n for n in model_names()}
        close = [by_upper[n] for n in difflib.get_close_matches(model.strip().upper(), by_upper, n=5, cutoff=0.5)]
        hint = f"close names: {', '.join(close)}" if close else f"known models: {', '.join(model_names())}"
        raise UnknownPrinterModel(
            f"printer model {model!r} is not known ({hint}). Check [printer] model in device.toml: use the "
            "printer's model name, 'POS-58'/'POS-80' for unbranded clones, or 'default' with width = …")
    base, extra = OWN_PROFILES.get(name, (name, {}))
    data = _merge(db[base], extra)
    if not data["features"].get("bitImageRaster"):
        raise UnsuitablePrinter(f"printer model {name!r} cannot print raster images (GS v 0), which the "
                                "Vietnamese ticket needs; choose another model in [printer] model")
    known = data["media"]["width"].get("pixels")
    known = known if isinstance(known, int) else (DEFAULT_WIDTH if name == "default" else None)
    if width is None:
        width = known
    if width is None:
        raise UnsuitablePrinter(f"printer model {name!r} does not say its width in dots: set [printer] width "
                                "= 384 (58 mm roll) or 576 (80 mm; 512 for Epson TM-T88)")
    if not (MIN_WIDTH <= width <= MAX_WIDTH and width % 8 == 0):
        raise UnsuitablePrinter(f"printer {name!r}: width {width} dots is not a multiple of 8 between "
                                f"{MIN_WIDTH} and {MAX_WIDTH}; 58 mm rolls take 384, 80 mm 512 or 576")
    if known is not None and width > known and name != "default":
        raise UnsuitablePrinter(f"printer {name!r} prints at most {known} dots wide, not {width}")
    data = _merge(data, {"media": {"width": {"pixels": width}}})
    dpi = data["media"].get("dpi")
    features = data["features"]
    pages = tuple(n for _, n in sorted(data["codePages"].items(), key=lambda kv: int(kv[0])) if n != "Unknown")
    return PrinterProfile(model=name, base=base, width=width, dpi=dpi if isinstance(dpi, int) else 203,
                          full_cut=bool(features.get("paperFullCut")), partial_cut=bool(features.get("paperPartCut")),
                          # Star line-mode printers answer ENQ/ASB, not ESC/POS's DLE EOT.
                          realtime_status=not features.get("starCommands"),
                          speed_mm_s=PRINT_SPEEDS_MM_S.get(name, DEFAULT_SPEED_MM_S),
                          # ESC/POS's ASB is Epson's; the clones' manuals do not promise it, and a printer that
                          # does not know GS a may print it. So only for Epson's own models.
                          status_back=data.get("vendor") == "Epson" and name not in OWN_PROFILES
                          and not features.get("starCommands"),
                          code_pages=tuple(dict.fromkeys(pages)), data=data)
