"""The printer's real-time status (ESC/POS DLE EOT n), as one word the hall understands.

    state = query(link)          # ok | paper_low | paper_out | cover_open | offline | unknown
    state in NOT_READY           # True → do not send a ticket now
    MESSAGES_VI[state]           # what the kiosk screen says

Source for the bit meanings: Epson, "ESC/POS Command Reference", DLE EOT n
(Transmit real-time status), https://download4.epson.biz/sec_pubs/pos/reference_en/escpos/dle_eot.html
— the same tables are in the TM-T88III/TM-T20 technical references and are
followed by the Xprinter/POS-58 clones. Each answer is one byte in which bit 0
and bit 7 are always 0 and bits 1 and 4 always 1 (so 0x12 = "nothing to
report"); that fixed pattern also tells a status byte from stray bytes.

    n = 1 printer status:  bit 3 = offline (bit 2 drawer pin 3, bit 5 waiting for online recovery)
    n = 2 offline cause:   bit 2 = cover open, bit 3 = paper fed by the FEED button,
                           bit 5 = printing stopped by paper end, bit 6 = an error occurred
    n = 4 roll paper:      bits 2+3 = near-end sensor: paper near its end,
                           bits 5+6 = end sensor: no paper

A printer answers DLE EOT even while offline (that is what it is for), but a
stalled one does not answer at all; `query` then raises NoAnswer and the spool
decides (a printer that answered before and now is silent is treated as offline).
A printer executes DLE EOT when it *receives* it, and over USB or the network it
receives only as fast as it prints: after a ticket the answer waits until the
printer has taken the ticket's bytes in (printer.timing says how long).

Automatic status back (ASB, `GS a n`, Epson: "Enable/disable Automatic Status
Back"): the printer sends 4 status bytes at once and again whenever its state
changes, whether or not it can receive anything. That is the only way to hear
"paper out" from a printer whose receive buffer is full of the ticket it
stopped printing. The spool asks for it on Epson TM models (profiles.status_back).

    1st byte 0xx1xx00: bit 3 offline, bit 5 cover open
    2nd byte 0xx0xxxx: bit 2 mechanical error, bit 3 autocutter error, bit 5 unrecoverable, bit 6 auto-recoverable
    3rd byte 0xx0xxxx: bits 0+1 paper near its end, bits 2+3 no paper
    4th byte 0xx0xxxx: not used here

The fixed bits tell an ASB message from a DLE EOT answer (0xx1xx10); `Replies`
sorts what a printer sends into the two.
"""

from __future__ import annotations

from typing import Protocol

DLE_EOT = b"\x10\x04"
PRINTER, OFFLINE_CAUSE, PAPER = 1, 2, 4
# GS a n with online/offline (2), error (4) and roll paper sensor (8) status: what the hall needs to hear.
STATUS_BACK = b"\x1da\x0e"

# The states of contract v1 (hall.protocol.Status.printer), plus "unknown" which is never published.
STATES = ("ok", "paper_low", "paper_out", "cover_open", "offline")
UNKNOWN = "unknown"
NOT_READY = frozenset({"paper_out", "cover_open", "offline"})

MESSAGES_VI = {
    "ok": "Máy in sẵn sàng.",
    "paper_low": "Máy in sắp hết giấy.",
    "paper_out": "Máy in hết giấy. Vé sẽ được in khi có giấy; vui lòng ghi nhớ số thứ tự.",
    "cover_open": "Nắp máy in đang mở. Vé sẽ được in khi đóng nắp.",
    "offline": "Máy in không hoạt động. Vui lòng ghi nhớ số thứ tự trên màn hình.",
    UNKNOWN: "Không rõ trạng thái máy in.",
}
MESSAGES_EN = {
    "ok": "ready", "paper_low": "paper near its end", "paper_out": "out of paper",
    "cover_open": "cover open", "offline": "offline or in error", UNKNOWN: "status unknown (no answer)",
}

# An idle printer answers DLE EOT within milliseconds; longer means it is not listening. Not so right
# after a ticket: the query waits behind the ticket's bytes (printer.timing.answer_wait).
STATUS_TIMEOUT_S = 0.5


class NoAnswer(Exception):
    """The printer did not answer a status query in time (it may be stalled or not support it)."""


class Asks(Protocol):
    """What a status query needs of a connection (printer.transports.Link is one)."""
    name: str

    def exchange(self, request: bytes, timeout: float) -> bytes | None: ...


def is_status_byte(b: int) -> bool:
    """The fixed bits of every DLE EOT answer: bits 1 and 4 on, bits 0 and 7 off."""
    return b & 0b1001_0011 == 0b0001_0010


def parse(printer: int, offline_cause: int | None = None, paper: int | None = None) -> str:
    """Combine the answers to DLE EOT 1, 2 and 4 into one state; the most urgent wins.

    >>> parse(0x12, None, 0x12), parse(0x12, None, 0x1E), parse(0x1A, 0x32, 0x72), parse(0x1A, 0x16, 0x12)
    ('ok', 'paper_low', 'paper_out', 'cover_open')
    """
    if offline_cause is not None and offline_cause & 0x04:
        return "cover_open"  # checked first: the cover is opened to load paper, and closing it is the fix
    if (paper is not None and paper & 0x60) or (offline_cause is not None and offline_cause & 0x20):
        return "paper_out"
    if printer & 0x08:
        return "offline"     # offline for another reason: an error (cutter jam, head too hot) or FEED held
    if paper is not None and paper & 0x0C:
        return "paper_low"
    return "ok"


def parse_status_back(msg: bytes) -> str:
    """One 4-byte ASB message as a state, by the same rules as parse().

    >>> parse_status_back(bytes([0x10, 0, 0, 0])), parse_status_back(bytes([0x18, 0, 0x0F, 0]))
    ('ok', 'paper_out')
    """
    first, second, paper = msg[0], msg[1], msg[2]
    if first & 0x20:
        return "cover_open"
    if paper & 0x0C:
        return "paper_out"
    if first & 0x08 or second & 0x6C:
        return "offline"
    return "paper_low" if paper & 0x03 else "ok"


class Replies:
    """What a printer sends back, sorted: DLE EOT answers (`answers`) and the states of ASB messages (`pushed`)."""

    def __init__(self):
        self.answers = bytearray()        # DLE EOT answer bytes not taken yet
        self.pushed: list[str] = []       # states from ASB messages, oldest first, until taken
        self._asb = bytearray()

    def feed(self, data: bytes) -> None:
        """Sort bytes from the printer; anything that is neither kind is dropped."""
        for b in data:
            if self._asb:
                if b & 0x90 == 0:         # 2nd-4th bytes of an ASB message
                    self._asb.append(b)
                    if len(self._asb) == 4:
                        self.pushed.append(parse_status_back(bytes(self._asb)))
                        self._asb.clear()
                    continue
                self._asb.clear()         # a broken message: start again with this byte
            if is_status_byte(b):
                self.answers.append(b)
            elif b & 0b1001_0011 == 0b0001_0000:
                self._asb.append(b)

    def take_answers(self) -> bytes:
        out = bytes(self.answers)
        self.answers.clear()
        return out

    def take(self) -> str | None:
        """The latest state the printer pushed since the last take, or None."""
        state = self.pushed[-1] if self.pushed else None
        self.pushed.clear()
        return state


def ask(link: Asks, n: int, timeout: float = STATUS_TIMEOUT_S) -> int | None:
    """One DLE EOT n answer byte; None when the transport cannot read. NoAnswer, PrinterUnavailable."""
    answer = link.exchange(DLE_EOT + bytes([n]), timeout)
    if answer is None:
        return None
    valid = [b for b in answer if is_status_byte(b)]
    if not valid:
        raise NoAnswer(f"{link.name}: answer {answer.hex()} to DLE EOT {n} is not a status byte")
    return valid[-1]


def query(link: Asks, timeout: float = STATUS_TIMEOUT_S) -> str:
    """The printer's state now; "unknown" when its transport cannot read answers (file, cups).

    Raises NoAnswer when the printer stays silent, PrinterUnavailable when the connection fails.
    """
    printer = ask(link, PRINTER, timeout)
    if printer is None:
        return UNKNOWN
    paper = ask(link, PAPER, timeout)
    # The offline cause only matters when the printer says it is offline: one round trip fewer when fine.
    cause = ask(link, OFFLINE_CAUSE, timeout) if printer & 0x08 else None
    return parse(printer, cause, paper)
