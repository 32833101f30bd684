"""`motcua test`: the whole suite in two phases, or what the arguments select in one.

    motcua test                 # everything in WORKERS processes, then the benchmarks' smoke tests and the
                                # real-time tests alone
    motcua test -q -x           # the same, quieter, stopping at the first failure of each phase
    motcua test -k acl          # a selection (-k, -m, a path, …): one pytest run, as given
    MOTCUA_TEST_WORKERS=0 motcua test    # everything in this one process
    motcua test install         # only the installer's tests (marker `install`): Debian containers, slow

Most of the suite waits (for a broker, a printer's paper, a spoken call), so on two cores three
processes and the smoke tests after them took 2:53 instead of 6:13 in one (2026-12-02). The
benchmarks' smoke tests (marker `bench`) compare a figure with a floor measured in the same run,
so they run last and alone: next to other tests, their floor and their figure would be measured
under different loads (docs/testing.md). The tests whose assertions are about wall-clock pacing
(marker `realtime`: the announcer playing a burst of calls in real time, to a quarter of a second)
run alone with them, for the same reason: beside three other processes and a browser on two
cores, a thread's 7-second wait woke 0.3 s late (2026-12-02).
"""

from __future__ import annotations

import os
import subprocess
import sys

from motcua_cli.paths import ROOT

WORKERS = 3
INSTALL_TESTS = ("tests/test_install.py", "tests/test_upgrade.py")   # marker `install`: containers, slow
ALONE = "bench or realtime"   # the markers of the second phase, run in one process with nothing beside it
SELECTING = ("-k", "-m", "--lf", "--last-failed", "--ff", "--failed-first", "--deselect", "-n", "--numprocesses")
VALUED = ("-p", "-o", "-W", "-c", "--tb", "--maxfail", "--timeout", "--rootdir", "--basetemp", "--durations")
"""Options whose value may come as the next argument: that value is not a path."""


def selects(args: list[str]) -> bool:
    """True when the arguments choose tests (a path, a node id, -k, -m…) rather than only how to run them."""
    value = False
    for a in args:
        if value:
            value = False
        elif a.split("=")[0] in SELECTING or not a.startswith("-"):
            return True
        elif a in VALUED:
            value = True
    return False


def workers() -> int:
    try:
        return max(int(os.environ.get("MOTCUA_TEST_WORKERS", WORKERS)), 0)
    except ValueError:
        return WORKERS


def pytest(args: list[str]) -> int:
    return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT)


def run_install(args: list[str]) -> int:
    """`motcua test install`: the installer's tests, each in a booted Debian container (tests/container.py)."""
    os.environ["MOTCUA_TEST_INSTALL"] = "1"
    # A path or node id given (tests/test_install.py::test_server…) is the selection; else every such file.
    given = any(not a.startswith("-") and a.split("::")[0].endswith(".py") for a in args)
    files = [] if given else [f for f in INSTALL_TESTS if (ROOT / f).exists()]
    return pytest(["-m", "install", "-p", "no:cacheprovider", "-s", *args, *files])


def run(args: list[str]) -> int:
    if args[:1] == ["install"]:
        return run_install(args[1:])
    n = workers()
    parallel = ["-n", str(n)] if n else []
    if selects(args) or not n:
        return pytest([*parallel, *args])
    print(f"motcua test: the suite in {n} processes, then the benchmarks' smoke tests and the real-time tests "
          "alone", flush=True)
    # The installer's container tests are `motcua test install`'s, not collected into this run's count.
    first = pytest([*parallel, "-m", f"not ({ALONE}) and not install", *args])
    if first != 0 and "-x" in args:
        return first
    second = pytest(["-m", f"({ALONE}) and not install", *args])
    return first or second
