"""The `motcua` command. Each subcommand is documented in docs/cli.md (a test checks it)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

from motcua_cli.paths import DATA_DIR, EXAMPLE_HALL, ROOT


def port(text: str) -> int:
    """An argparse type: a TCP port, 1-65535 (0 would silently mean 'the config's port')."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: give 1-65535")
    return value


def existing_hall_data(folder: str) -> Path:
    """The data folder of an existing hall server, or a clear error (never a new empty hall)."""
    data = Path(folder)
    if not (data / "hall.db").is_file():
        raise HallDataMissing(
            f"no hall server data in {data} (no hall.db there). Give --data the folder `motcua serve` "
            f"uses (the systemd unit's is {DATA_DIR}), or start `motcua serve --data {data}` once to create it.")
    return data


class HallDataMissing(RuntimeError):
    """A command that works on an existing hall was pointed at a folder with none."""


def _hall(args):
    from hall.config import load_hall, with_ports
    return with_ports(load_hall(args.config), getattr(args, "mqtt_port", None), getattr(args, "http_port", None))


def cmd_serve(args) -> int:
    from broker.server import HallServer
    cfg = _hall(args)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # systemd's watchdog: ping at half its period, and only while the hall's worker is alive.
    usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    interval = usec / 2e6 if usec else 5.0
    server = _start_when_there_is_space(lambda: HallServer(cfg, Path(args.data)).start(), stop, interval)
    if server is None:
        return 0
    print(f"motcua: hall '{cfg.id}' ({cfg.name}) serving; Mosquitto on {cfg.mqtt_bind}:{cfg.mqtt_port}, "
          f"the clerks' and the tickets' pages on port {cfg.http_port} (/can-bo, /tra-cuu), data in {args.data}",
          flush=True)
    _notify("READY=1")
    while not stop.wait(interval):
        if usec and server.healthy():
            _notify("WATCHDOG=1")
    _notify("STOPPING=1")
    server.stop()
    return 0


def _start_when_there_is_space(start, stop: threading.Event, interval: float):
    """Start the hall server; on a full disk wait for space (saying so once a minute), never crash-loop.

    A Pi whose SD card filled up must come back by itself once space is freed. Waiting is this
    process doing its job, so systemd is told it is up (waiting) and its watchdog is pinged.
    """
    from broker.server import DiskFull
    said = -1e9
    while True:
        try:
            return start()
        except DiskFull as err:
            if time.monotonic() - said >= 60:
                said = time.monotonic()
                print(f"motcua: {err}; waiting for space (free some on that disk and it starts by itself)",
                      file=sys.stderr, flush=True)
            _notify("READY=1\nSTATUS=waiting for disk space")
            if stop.wait(min(5.0, interval)):
                return None
            _notify("WATCHDOG=1")


def _notify(message: str) -> None:
    """sd_notify: tell systemd we are up / alive; nothing when not run by systemd."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect("\0" + path[1:] if path.startswith("@") else path)
        s.sendall(message.encode())


def cmd_device_add(args) -> int:
    from broker.ledger import Ledger
    from broker.server import ProvisionError, add_device
    from hall.device import device_toml
    cfg = _hall(args)
    data = existing_hall_data(args.data)
    ledger = Ledger(data / "hall.db")
    try:
        dev = add_device(cfg, data, ledger, args.id, args.role, args.counter, args.host)
    except ProvisionError as err:
        print(f"motcua device add: {err}", file=sys.stderr)
        return 2
    finally:
        ledger.close()
    text = device_toml(dev)
    if args.out:
        fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        print(f"device {dev.id} ({dev.role}) added; its config is in {args.out}")
    print(f"MQTT username: {dev.id}\nMQTT password: {dev.password}\n\n# device.toml\n{text}")
    return 0


def cmd_device_list(args) -> int:
    from broker.ledger import Ledger
    ledger = Ledger(existing_hall_data(args.data) / "hall.db")
    import json
    import time
    for d in ledger.devices():
        counter = f"counter {d['counter']}" if d["counter"] else ""
        status = json.loads(d["status"]) if d["status"] else {}
        seen = time.strftime(" since %Y-%m-%d %H:%M", time.localtime(d["status_at"])) if d["status_at"] else ""
        printer = f", printer {status['printer']}" if status.get("printer") else ""
        print(f"{d['id']:<20} {d['role']:<8} {counter:<10} {status.get('state', 'never seen')}{seen}{printer}")
    ledger.close()
    return 0


def cmd_device_remove(args) -> int:
    from broker.ledger import Ledger
    from broker.server import remove_device
    cfg = _hall(args)
    ledger = Ledger(existing_hall_data(args.data) / "hall.db")
    try:
        if not remove_device(cfg, Path(args.data), ledger, args.id):
            print(f"motcua device remove: no device {args.id!r}", file=sys.stderr)
            return 2
    finally:
        ledger.close()
    print(f"device {args.id} removed; it can no longer connect")
    return 0


def cmd_config_check(args) -> int:
    from hall.config import load_hall
    cfg = load_hall(args.file)
    print(f"{args.file}: OK — hall '{cfg.id}', {len(cfg.services)} services, {len(cfg.counters)} counters")
    return 0


def cmd_test(args) -> int:
    from motcua_cli.test_cmd import run
    return run(args.pytest_args)


def cmd_bench(args) -> int:
    import importlib
    try:
        module = importlib.import_module(f"bench.{args.name}")
    except ModuleNotFoundError:
        names = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if not p.stem.startswith("_"))
        print(f"motcua bench: no benchmark '{args.name}'; there are: {', '.join(names)}", file=sys.stderr)
        return 2
    return module.main(args.bench_args) or 0


def cmd_demo(args) -> int:
    from motcua_cli.demo import run_demo
    return run_demo(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="motcua", description="The one-stop office's hall: tickets, queue, calls.")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    def hall_args(sp, data=True):
        sp.add_argument("--config", default=str(EXAMPLE_HALL), help="hall.toml (default: the example hall)")
        if data:
            data_arg(sp)

    def data_arg(sp):
        sp.add_argument("--data", default=DATA_DIR, help=f"the hall's data folder: ledger, Mosquitto's files "
                        f"(default: {DATA_DIR}, as the systemd unit uses)")

    s = sub.add_parser("serve", help="run the hall server (Mosquitto + hall service)")
    hall_args(s)
    s.add_argument("--mqtt-port", type=port, help="override [server] mqtt_port")
    s.add_argument("--http-port", type=port, help="override [server] http_port")
    s.set_defaults(fn=cmd_serve)

    d = sub.add_parser("device", help="provision hall devices").add_subparsers(dest="device_cmd", required=True)
    a = d.add_parser("add", help="register a device and print its credentials and device.toml")
    a.add_argument("id")
    a.add_argument("--role", required=True, choices=["kiosk", "counter", "display"])
    a.add_argument("--counter", type=int, help="the counter a counter device acts for")
    a.add_argument("--host", help="hall server address written into device.toml")
    a.add_argument("--out", help="also write device.toml to this file (mode 600)")
    a.add_argument("--mqtt-port", type=port, help="override [server] mqtt_port")
    hall_args(a)
    a.set_defaults(fn=cmd_device_add)
    ls = d.add_parser("list", help="list registered devices and their last status")
    data_arg(ls)
    ls.set_defaults(fn=cmd_device_list)
    rm = d.add_parser("remove", help="unregister a device: it can no longer connect")
    rm.add_argument("id")
    hall_args(rm)
    rm.set_defaults(fn=cmd_device_remove)

    c = sub.add_parser("config", help="hall.toml tools").add_subparsers(dest="config_cmd", required=True)
    ch = c.add_parser("check", help="check a hall.toml and say what is wrong")
    ch.add_argument("file")
    ch.set_defaults(fn=cmd_config_check)

    pr = sub.add_parser("printer", help="ticket printer tools").add_subparsers(dest="printer_cmd", required=True)
    from motcua_cli import printer_preview, printer_test
    printer_preview.add_parser(pr)
    printer_test.add_parser(pr)
    from motcua_cli import display_cmd
    display_cmd.add_parser(sub)
    from motcua_cli import kiosk_cmd
    kiosk_cmd.add_parser(sub)
    from motcua_cli import counter_pad_cmd
    counter_pad_cmd.add_parser(sub)
    from motcua_cli import catalog_cmd
    catalog_cmd.add_parser(sub)
    from motcua_cli import staff_cmd
    staff_cmd.add_parser(sub, existing_hall_data)
    from motcua_cli import backup_cmd
    backup_cmd.add_parser(sub)
    from motcua_cli import status_cmd
    status_cmd.add_parser(sub, DATA_DIR, str(EXAMPLE_HALL))

    dm = sub.add_parser("demo", help="the whole hall on this machine, with a simulated day")
    dm.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: until Ctrl+C)")
    dm.add_argument("--data", default=str(ROOT / ".demo"), help="folder for the demo hall's data")
    dm.add_argument("--speed", type=float, default=1.0, help="simulation speed (2 = twice as busy)")
    dm.set_defaults(fn=cmd_demo)

    t = sub.add_parser("test", help="run the whole test suite")
    t.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed to pytest")
    t.set_defaults(fn=cmd_test)

    b = sub.add_parser("bench", help="run a benchmark from bench/")
    b.add_argument("name")
    b.add_argument("bench_args", nargs=argparse.REMAINDER)
    b.set_defaults(fn=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args, extra = p.parse_known_args(argv)
    # `motcua test -q -k acl` and `motcua bench NAME --quick`: the rest belongs to pytest / the bench.
    if args.command == "test":
        args.pytest_args = [*extra, *args.pytest_args]
    elif args.command == "bench":
        args.bench_args = [*extra, *args.bench_args]
    elif extra:
        p.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from hall.tomlcheck import ConfigError
    try:
        return args.fn(args)
    except ConfigError as err:
        print(f"motcua: config error: {err}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as err:
        # Said in words, never a traceback: a missing folder, a port taken, a running server.
        print(f"motcua: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
