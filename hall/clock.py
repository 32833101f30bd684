"""Is this machine's clock right? A Raspberry Pi has no real-time clock: until NTP has set it, it runs
from the last time it saved (fake-hwclock) or from 1970. A screen shows the time of day only once
this says yes (stdlib only: ctypes on libc).

    if clock_synchronised():               # cheap: one read-only syscall and one stat()
        label.text = f"{now:%H:%M}"

Two signals, either is enough:
- the kernel's NTP state (adjtimex with modes=0, which only reads): the maximum error below the
  kernel's own 16 s limit. At boot it is at the limit, with STA_UNSYNC set; whoever sets the clock
  by NTP (systemd-timesyncd, chronyd, ntpd) lowers it and clears STA_UNSYNC, and the kernel raises
  it by 500 ppm while nobody does, setting STA_UNSYNC again at 16 s (about 9 hours without a time
  server). The maximum error, not STA_UNSYNC: chronyd without `rtcsync` in chrony.conf leaves
  STA_UNSYNC set on a synchronised clock (systemd's timedated reads the maximum error for that
  reason, systemd commit bca5a0e);
- systemd-timesyncd's /run/systemd/timesync/synchronized, which it touches at its first sync
  after boot (systemd 249 and later; /run is empty at each boot, so the file never outlives one).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
STA_UNSYNC = 0x0040           # <linux/timex.h>: the clock is not synchronised
TIME_ERROR = 5                # adjtimex's return: the clock is not synchronised
MAXERROR_LIMIT_US = 16_000_000   # NTP_PHASE_LIMIT: past it the kernel marks the clock unsynchronised


class _Timex(ctypes.Structure):
    # struct timex of <sys/timex.h>, as glibc's adjtimex takes it (ctypes adds the same padding).
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long), ("tick", ctypes.c_long),
                ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
                ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
                ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
                ("_reserved", ctypes.c_int * 11)]


@dataclass(frozen=True)
class KernelClock:
    """What adjtimex said: its return value (TIME_OK 0 … TIME_ERROR 5), status bits, maximum error."""
    state: int
    status: int
    maxerror_us: int
    seconds: int           # the kernel's time as adjtimex read it (a check that the struct was read right)

    @property
    def synchronised(self) -> bool:
        return 0 <= self.maxerror_us < MAXERROR_LIMIT_US

    @property
    def unsync_flag(self) -> bool:
        """STA_UNSYNC: set at boot and after 16 s of drift; kept set by chronyd without `rtcsync`."""
        return bool(self.status & STA_UNSYNC)


def kernel_clock() -> KernelClock | None:
    """The kernel's NTP state, read only (modes=0: no privilege needed); None where there is no adjtimex."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        adjtimex = libc.adjtimex
    except (OSError, AttributeError):
        return None
    tx = _Timex()           # zeroed: modes=0
    state = adjtimex(ctypes.byref(tx))
    if state < 0:
        return None
    return KernelClock(state, tx.status, tx.maxerror, tx.tv_sec)


def clock_synchronised(kernel: Callable[[], KernelClock | None] = kernel_clock,
                       timesyncd_flag: Path = TIMESYNCD_FLAG) -> bool:
    """True when the time of day can be shown: the kernel or systemd-timesyncd says the clock was set."""
    k = kernel()
    if k is not None and k.synchronised:
        return True
    try:
        return timesyncd_flag.exists()
    except OSError:
        return False
