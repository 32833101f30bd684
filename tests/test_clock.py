"""Devices show the time of day only once their clock is synchronised (issue 12, item 6; hall/clock.py).

The real check on this machine (what the kernel says, read through adjtimex), the rule it applies
to the kernel's answer and timesyncd's flag, and the real kiosk and wall display apps with the
check given as a parameter: screenshots with and without the time in test-output/clock/.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hall.clock import MAXERROR_LIMIT_US, STA_UNSYNC, TIME_ERROR, KernelClock, clock_synchronised, kernel_clock
from hall.device import device_toml
from tests.conftest import ROOT
from ui.clock_gate import HIDDEN, ClockGate
from ui.probe_client import headless_env


def test_the_kernel_clock_is_read_as_the_kernel_keeps_it():
    k = kernel_clock()
    assert k is not None, "adjtimex is there on every Linux"
    # The struct was decoded right: its time is now, and adjtimex's answer follows the status it gave.
    assert abs(k.seconds - time.time()) < 2
    assert (k.state == TIME_ERROR) == k.unsync_flag
    assert 0 <= k.maxerror_us <= MAXERROR_LIMIT_US
    print(f"\nthis machine: adjtimex state {k.state}, status {k.status:#x} (STA_UNSYNC "
          f"{'set' if k.unsync_flag else 'clear'}), maxerror {k.maxerror_us} us → synchronised "
          f"{k.synchronised}; timesyncd flag {Path('/run/systemd/timesync/synchronized').exists()}; "
          f"clock_synchronised() = {clock_synchronised()}")
    assert clock_synchronised() == (k.synchronised or Path("/run/systemd/timesync/synchronized").exists())


def test_the_rule_over_the_kernel_and_timesyncd(tmp_path):
    boot = KernelClock(TIME_ERROR, STA_UNSYNC, MAXERROR_LIMIT_US, 0)           # a Pi just booted, no NTP yet
    timesyncd = KernelClock(0, 0x2001, 120_000, 0)                             # after timesyncd's first sync
    chrony_no_rtcsync = KernelClock(TIME_ERROR, STA_UNSYNC | 0x2000, 50_000, 0)   # synced, flag left set
    drifted = KernelClock(TIME_ERROR, STA_UNSYNC, MAXERROR_LIMIT_US, 0)         # 9 h with no time server
    flag = tmp_path / "synchronized"
    assert not clock_synchronised(lambda: boot, flag)
    assert clock_synchronised(lambda: timesyncd, flag)
    assert clock_synchronised(lambda: chrony_no_rtcsync, flag)
    assert not clock_synchronised(lambda: drifted, flag)
    assert not clock_synchronised(lambda: None, flag)           # no adjtimex: only timesyncd can say
    flag.touch()
    assert clock_synchronised(lambda: boot, flag)               # timesyncd has synced since boot


def test_the_gate_hides_the_time_until_synchronised_and_asks_again():
    answers = [False, False, True]
    gate = ClockGate(lambda: answers.pop(0) if len(answers) > 1 else answers[0], every_s=0.05)
    assert gate.hide(("09:41", "Thứ Tư, 25/11")) == HIDDEN
    assert gate.hide(("09:41", "Thứ Tư, 25/11")) == HIDDEN      # asked again only after every_s
    time.sleep(0.06)
    assert gate.hide(("09:41", "Thứ Tư, 25/11")) == HIDDEN
    time.sleep(0.06)
    assert gate.hide(("09:42", "Thứ Tư, 25/11")) == ("09:42", "Thứ Tư, 25/11")


def shot(role: str, toml: Path, synced: bool, out: Path) -> dict:
    env = headless_env(toml.parent / "kivy")
    done = subprocess.run([sys.executable, "-m", "tests.clockshot", role, str(toml), "1" if synced else "0", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.with_suffix(".json").read_text())


@pytest.mark.parametrize("role", ["kiosk", "display"])
def test_the_screen_shows_the_time_only_with_a_synchronised_clock(hall, tmp_path, output_dir, role):
    dev = hall.add_device(f"{role}-1", role)
    toml = tmp_path / f"{role}.toml"
    extra = f'\n[display]\naudio = "file"\naudio_dir = "{tmp_path / "played"}"\ncache = "{tmp_path / "speech"}"\n'
    (tmp_path / "played").mkdir()
    toml.write_text(device_toml(dev) + (extra if role == "display" else ""), encoding="utf-8")
    folder = output_dir / "clock"
    folder.mkdir(exist_ok=True)
    shown = shot(role, toml, True, folder / f"{role}-synchronised.png")
    hidden = shot(role, toml, False, folder / f"{role}-not-synchronised.png")
    assert re.fullmatch(r"\d\d:\d\d", shown["clock"]) and shown["date"]
    assert hidden == {"clock": "", "date": ""}
