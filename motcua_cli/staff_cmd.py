"""`motcua staff add|list|disable|reset-pin`: the hall's clerks and leaders, and their PINs (broker.staff).

    $ motcua staff add "Nguyễn Thị Lan" --role clerk --counters 1,2 --config hall.toml --data /var/lib/motcua
    $ echo 4821 | motcua staff add "Trần Văn Hùng" --role leader --pin-stdin --data /var/lib/motcua
    $ motcua staff list --data /var/lib/motcua
    $ motcua staff disable "Nguyễn Thị Lan" --data /var/lib/motcua
    $ motcua staff reset-pin 2 --data /var/lib/motcua

They work on the data folder of an existing hall (DIR/staff.db, beside the ledger), beside a
running `serve` or not. The PIN is asked twice on the terminal, never echoed and never taken as
an argument (it would stay in the shell's history and in `ps`); scripts give `--pin-stdin`
and one line on stdin. Exit status 0 when done, 2 when refused (the message says why).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable
from pathlib import Path

from broker.staff import Staff, StaffError, StaffMember
from motcua_cli.paths import DATA_DIR, EXAMPLE_HALL


def counter_list(text: str) -> tuple[int, ...]:
    """An argparse type: counter numbers separated by commas ('1,2' or '1, 2')."""
    try:
        return tuple(int(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of counter numbers like 1,2") from None


def add_parser(sub, hall_data: Callable[[str], Path]) -> None:
    """`hall_data(folder)`: the data folder of an existing hall, or main's HallDataMissing error."""
    s = sub.add_parser("staff", help="the hall's clerks and leaders, and their PINs").add_subparsers(
        dest="staff_cmd", required=True)
    a = s.add_parser("add", help="add a clerk or a leader; asks for their PIN twice")
    a.add_argument("name", help="their full name, as the login page lists it, e.g. \"Nguyễn Thị Lan\"")
    a.add_argument("--role", required=True, choices=["clerk", "leader"])
    a.add_argument("--counters", type=counter_list, default=(),
                   help="the counters they may act for, e.g. 1,2 (default for a clerk: every counter)")
    pin_arg(a)
    a.add_argument("--config", default=str(EXAMPLE_HALL),
                   help="hall.toml, for its counters (default: the example hall)")
    data_arg(a)
    ls = s.add_parser("list", help="list the staff: role, counters, PIN date, disabled or not")
    data_arg(ls)
    di = s.add_parser("disable", help="stop a member logging in (their history stays)")
    di.add_argument("name", help="their name or id")
    data_arg(di)
    rp = s.add_parser("reset-pin", help="give a member a new PIN; asks for it twice")
    rp.add_argument("name", help="their name or id")
    pin_arg(rp)
    data_arg(rp)
    for p, fn in ((a, cmd_add), (ls, cmd_list), (di, cmd_disable), (rp, cmd_reset_pin)):
        p.set_defaults(fn=fn, hall_data=hall_data)


def data_arg(p) -> None:
    p.add_argument("--data", default=DATA_DIR, help=f"the hall's data folder, as `motcua serve` uses it; the staff "
                   f"are in its staff.db (default: {DATA_DIR})")


def pin_arg(p) -> None:
    p.add_argument("--pin-stdin", action="store_true",
                   help="read the PIN from one line of stdin instead of asking twice (scripts, tests)")


def read_pin(args) -> str:
    """The PIN from stdin's first line (--pin-stdin) or typed twice on the terminal."""
    if args.pin_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise StaffError("no_terminal", "no terminal to ask the PIN on: give --pin-stdin and the PIN on stdin",
                         "Không có màn hình để nhập mã PIN.")
    first = getpass.getpass("PIN (4-8 digits, or a password of 8+ characters): ")
    if getpass.getpass("the same PIN again: ") != first:
        raise StaffError("pins_differ", "the two PINs differ; nothing changed", "Hai mã PIN không khớp.")
    return first


def _open(args) -> Staff:
    return Staff(args.hall_data(args.data) / "staff.db")


def describe(m: StaffMember) -> str:
    """'clerk, counters 1, 2' / 'clerk, every counter' / 'leader'."""
    if m.counters:
        return f"{m.role}, counter{'s' if len(m.counters) > 1 else ''} {', '.join(map(str, m.counters))}"
    return f"{m.role}, every counter" if m.role == "clerk" else m.role


def _refused(args, err: StaffError) -> int:
    print(f"motcua staff {args.staff_cmd}: {err}", file=sys.stderr)
    return 2


def cmd_add(args) -> int:
    from hall.config import load_hall
    cfg = load_hall(args.config)
    staff = _open(args)
    try:
        m = staff.add(args.name, args.role, read_pin(args), counters=args.counters,
                      hall_counters=[c.id for c in cfg.counters])
    except StaffError as err:
        return _refused(args, err)
    finally:
        staff.close()
    print(f"staff member {m.id} '{m.name}' ({describe(m)}) added; they log in with their name and PIN")
    return 0


def cmd_list(args) -> int:
    with _open(args) as staff:
        for m in staff.members():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(m.pin_changed_at))
            state = "disabled" if m.disabled else f"PIN set {when}"
            print(f"{m.id:>3}  {m.name:<30} {describe(m):<28} {state}")
    return 0


def cmd_disable(args) -> int:
    with _open(args) as staff:
        try:
            m = staff.disable(args.name)
        except StaffError as err:
            return _refused(args, err)
    print(f"staff member {m.id} '{m.name}' disabled; they can no longer log in")
    return 0


def cmd_reset_pin(args) -> int:
    with _open(args) as staff:
        try:
            staff.get(args.name)   # an unknown name is said before the PIN is asked for nothing
            m = staff.reset_pin(args.name, read_pin(args))
        except StaffError as err:
            return _refused(args, err)
    print(f"PIN of staff member {m.id} '{m.name}' changed; the old one no longer works")
    return 0
