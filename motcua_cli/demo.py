"""`motcua demo`: the whole hall on one machine, with a simulated day of citizens and clerks.

A real hall server and Mosquitto run on loopback ports. Two kiosks are simulated devices
speaking the real MQTT contract (their tickets print as PNG files); four simulated clerks log in
on the hall server's web pages and work the counters through them, as the clerk's handheld page
does (motcua_cli/demo_clerk.py), and some citizens rate on their ticket's page. The wall display,
a third kiosk and counter 1's counter pad open as real windows (offscreen when there is no
screen). The console shows what a person in the hall would see and hear: the screen's calls, and
what the wall display really said (its played.log).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, tzinfo
from pathlib import Path

from broker.ledger import Ledger
from broker.server import VERSION, HallServer
from display.model import call_title
from display.played_log import follow
from hall.client import HallClient, RequestTimeout
from hall.config import load_hall
from hall.device import DeviceConfig, device_toml, load_device
from hall.protocol import Board, Call, Config, Reply, Status, Topics, decode_message
from motcua_cli.demo_clerk import WebClerk, demo_staff
from motcua_cli.demo_hall import write_demo_hall
from motcua_cli.paths import EXAMPLE_CATALOG, free_port
from printer.config import check_printer
from printer.ticket_printer import TicketPrinter

# How often each service is asked for in a commune hall (rough, for the simulation only).
DEMAND = {"ho-tich": 5, "chung-thuc": 6, "dat-dai": 2, "xa-hoi": 2, "khac": 1, "tra-ket-qua": 3}
# kiosk-1/2 are simulated citizens, kiosk-3 is the kiosk window; display-1 is the console's
# listener, display-2 the wall-display window (one MQTT session each).
# pad-1 is counter 1's counter pad window (it only shows and rates; the clerks act on the web pages).
DEVICES = [("kiosk-1", "kiosk", None), ("kiosk-2", "kiosk", None), ("kiosk-3", "kiosk", None),
           ("display-1", "display", None), ("display-2", "display", None), ("pad-1", "counter", 1)]


class Console:
    """One line per thing that happens in the hall, with the hall's clock (its time zone, as the
    tickets and the wall display show it — not the machine's)."""

    def __init__(self, zone: tzinfo):
        self.lock = threading.Lock()
        self.zone = zone

    def say(self, who: str, text: str) -> None:
        with self.lock:
            print(f"[{datetime.now(self.zone):%H:%M:%S}] {who:<10} {text}", flush=True)


def _devices(server: HallServer, folder: Path) -> dict[str, DeviceConfig]:
    """Provision the demo's devices once; their device.toml files are kept in the demo folder."""
    folder.mkdir(parents=True, exist_ok=True)
    devices = {}
    for dev_id, role, counter in DEVICES:
        path = folder / f"{dev_id}.toml"
        ledger = Ledger(server.data_dir / "hall.db")
        known = ledger.device(dev_id) is not None
        ledger.close()
        if known and path.exists():
            dev = load_device(path)
            devices[dev_id] = DeviceConfig(dev.id, dev.role, dev.password, dev.counter, dev.hall, dev.host,
                                           server.cfg.mqtt_port)
            continue
        if known:   # the file was lost: nothing to do but start this demo's data afresh
            raise RuntimeError(f"device {dev_id} exists but {path} is missing; delete {server.data_dir} and retry")
        dev = server.add_device(dev_id, role, counter)
        path.write_text(device_toml(dev))
        path.chmod(0o600)
        devices[dev_id] = dev
    return devices


def ask(client: HallClient, action: str, args: dict) -> Reply | None:
    """The hall's reply, its data typed by the action (HallClient.ask); None when it did not answer."""
    try:
        return client.ask(action, args)
    except RequestTimeout:
        return None


def kiosk_loop(dev: DeviceConfig, cfg, stop: threading.Event, out: Console, speed: float, rng: random.Random,
               folder: Path, pages: dict[str, str]):
    """A kiosk: citizens tap a service, the hall issues a number, the ticket prints (to PNG files here)."""
    hall: list[Config] = []         # the retained config, as the kiosk window reads it
    got_config = threading.Event()

    def on_message(topic: str, payload: bytes) -> None:
        message = decode_message(topic, payload)
        if isinstance(message, Config):
            hall.append(message)
            got_config.set()

    client = HallClient(dev, subscribe=["config"], on_message=on_message, version=VERSION)
    # The demo's printer writes each ticket as a PNG (and its ESC/POS bytes) into the demo folder.
    printer = TicketPrinter(check_printer({"transport": "preview", "model": "TM-T20II",
                                           "folder": str(folder / "tickets" / dev.id)}),
                            folder / f"{dev.id}-spool.db",
                            on_status=lambda state: client.set_status(Status("online", "kiosk", VERSION, state)))
    client.start(wait=10)
    got_config.wait(10)
    services, weights = zip(*[(s, w) for s, w in DEMAND.items() if cfg.service(s)], strict=True)
    categories = [c.id for c in cfg.priority.categories]
    name = dev.id.replace("kiosk-", "Kiosk ")
    while not stop.wait(rng.expovariate(speed / 3.0)):
        service = rng.choices(services, weights)[0]
        priority = rng.choice(categories) if categories and rng.random() < 0.1 else None
        reply = ask(client, "take-ticket", {"service": service, "priority": priority})
        if reply is None:
            out.say(name, "Không kết nối được máy chủ — máy không phát số.")
            continue
        if not reply.ok:
            out.say(name, f"Từ chối: {reply.error.message}")
            continue
        d = reply.data
        pages[d.ticket_id] = d.page   # what the ticket's QR opens: some citizens rate there
        job = printer.print_ticket(d, hall[-1])
        state = job.wait(2.0)
        printed = (f"phiếu in ra: {folder.name}/tickets/{dev.id}/{d.ticket_id}-{job.id}.png"
                   if state == "printed" else job.message_vi)
        mark = " [ƯU TIÊN]" if d.priority else ""
        ahead = (f"{d.ahead} người chờ trước, khoảng {d.wait_min} phút" if d.ahead
                 else "không có người chờ trước")      # as the ticket says it, never "0 người … 0 phút"
        out.say(name, f"Công dân lấy số {d.ticket}{mark} — {cfg.service(service).name}; {ahead}. ({printed})")
    printer.close()
    client.stop()


def clerk_loop(base: str, clerk: tuple[int, str, str], counter: int, stop: threading.Event, out: Console,
               speed: float, rng: random.Random, pages: dict[str, str], scale: dict[int, str]):
    """A clerk on the web pages: log in, take the counter, then call, serve and finish, as taps would."""
    staff_id, name, pin = clerk
    web = WebClerk(base)
    who = f"Quầy {counter}"
    if not (web.log_in(staff_id, pin) and web.take(counter)):
        out.say(who, f"{name} không đăng nhập được: {web.refusal}")
        return
    out.say(who, f"{name} đăng nhập trên trang cán bộ và nhận quầy {counter}.")
    while not stop.wait(rng.uniform(0.5, 1.5) / speed):
        called = web.act(counter, "call-next")
        if not called:
            continue
        if rng.random() < 0.15 and not stop.wait(2.0 / speed):
            web.act(counter, "recall")
        if rng.random() < 0.07:
            stop.wait(2.0 / speed)
            web.act(counter, "skip")
            out.say(who, f"Số {called['ticket']} không có mặt — chuyển sang số tiếp theo.")
            continue
        web.act(counter, "serve")
        # 10-20 s per citizen: four counters then call about once every 4 s, what one voice can say
        # (about 3 s a call in a burst). Faster, the sound falls behind the screen; nothing is dropped.
        stop.wait(rng.uniform(10, 20) / speed)
        if web.act(counter, "finish") is None:
            continue
        out.say(who, f"Đã giải quyết xong cho số {called['ticket']}.")
        page = pages.pop(called["ticket_id"], "")
        # Counter 1 has its pad (a window here, nobody taps it); elsewhere a third of the citizens
        # rate on their ticket's page, mostly well.
        if counter != 1 and page and rng.random() < 0.33:
            score = rng.choices(sorted(scale), [1] + [2] * (len(scale) - 2) + [6])[0]   # mostly the best
            if web.rate_ticket(page, score):
                out.say("Công dân", f"Số {called['ticket']} đánh giá trên điện thoại: {scale[score]}.")
    web.call("POST", "/api/logout", {})


def run_demo(args) -> int:
    speed = max(0.1, args.speed)
    data = Path(args.data)
    config = write_demo_hall(data / "hall.toml", hall_id="dang-kang", mqtt_port=free_port(),
                             http_port=free_port(), tickets_per_minute=60)
    cfg = load_hall(config)
    out = Console(cfg.zone)
    out.say("Hệ thống", f"Khởi động {cfg.name} (bản trình diễn, mở cửa cả ngày); dữ liệu ở {data}")
    server = HallServer(cfg, data / "server").start()
    devices = _devices(server, data / "devices")
    # The posted procedures, for the kiosk's "Tra cứu thủ tục" (published retained, as in a real hall).
    from motcua_cli.catalog_cmd import import_catalog
    catalog = import_catalog(EXAMPLE_CATALOG, cfg, data / "server").catalog
    out.say("Hệ thống", f"Niêm yết {len(catalog.procedures)} thủ tục hành chính ({EXAMPLE_CATALOG.name}).")
    d = devices["display-1"]
    out.say("Hệ thống", f"Mosquitto ở cổng {cfg.mqtt_port} (chỉ trên máy này). Xem các lượt gọi số trong một "
                        f"cửa sổ khác: mosquitto_sub -h {cfg.local_mqtt_host} -p {cfg.mqtt_port} -u {d.id} "
                        f"-P {d.password} -t '{Topics(cfg.id).called}'")

    stop = threading.Event()
    names = {c.id: c.name for c in cfg.counters}

    def on_display(topic: str, payload: bytes) -> None:
        message = decode_message(topic, payload)
        if isinstance(message, Call):
            out.say("Màn hình", f"{call_title(message.recall)} {message.ticket} → "
                                f"{names.get(message.counter, f'Quầy {message.counter}').upper()}")
        elif isinstance(message, Board):
            latest["board"] = message

    latest: dict[str, Board] = {}
    display = HallClient(d, subscribe=["called", "board"], on_message=on_display).start(wait=10)
    # "Loa": what the wall display really said, as it said it (its played.log), never a retyped phrase.
    heard = follow(data / "announcements", lambda said: out.say(
        "Loa", ("«… " if said.kind == "next" else "«") + f"{said.text}»"
        + (" (nhắc lại)" if said.kind == "again" else "")))
    windows = open_windows(devices, data, out)
    base = f"http://127.0.0.1:{cfg.http_port}"
    clerks = demo_staff(data / "server" / "staff.db", [c.id for c in cfg.counters])
    out.say("Hệ thống", f"Trang cán bộ (điện thoại): {base}/can-bo — " + "; ".join(
        f"{name} (quầy {n}, mã PIN {pin})" for n, (_, name, pin) in sorted(clerks.items())))
    rng = random.Random()
    pages: dict[str, str] = {}
    threads = [threading.Thread(target=kiosk_loop, daemon=True,
                                args=(devices[k], cfg, stop, out, speed, random.Random(rng.random()), data, pages))
               for k in ("kiosk-1", "kiosk-2")]
    threads += [threading.Thread(target=clerk_loop, args=(base, clerks[n], n, stop, out, speed,
                                                           random.Random(rng.random()), pages,
                                                           {r.score: r.name for r in cfg.rating}), daemon=True)
                for n in (1, 2, 3, 4) if n in clerks]
    for t in threads:
        t.start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    out.say("Hệ thống", "Đang chạy. Ctrl+C để dừng." if not args.duration else f"Chạy {args.duration:.0f} giây.")
    started = time.monotonic()
    next_board = started + 10 / speed
    while not stop.wait(0.5):
        now = time.monotonic()
        if args.duration and now - started >= args.duration:
            break
        if now >= next_board and "board" in latest:
            out.say("Bảng", summary(latest["board"], cfg))
            next_board = now + 10 / speed
    stop.set()
    for t in threads:
        t.join(15)
    if "board" in latest:
        out.say("Bảng", summary(latest["board"], cfg))
    for proc in windows:
        proc.terminate()
    for proc in windows:
        try:
            proc.wait(10)
        except Exception:
            proc.kill()
    heard.close()
    display.stop()
    server.stop()
    out.say("Hệ thống", "Đã dừng. Mọi phiếu và sự kiện được lưu trong sổ cái (hall.db).")
    return 0


def open_windows(devices: dict[str, DeviceConfig], data: Path, out: Console) -> list:
    """The hall's screens as real windows, each its own process (Kivy has one window per process).

    Without a screen (no DISPLAY) they still run, drawing offscreen, and the announcements are
    written as WAV files to the demo folder instead of played.
    """
    from motcua_cli.display_cmd import spawn_display
    folder = data / "windows"
    folder.mkdir(parents=True, exist_ok=True)
    procs = []
    # Written on every run: the demo's Mosquitto port changes from run to run.
    wall = folder / "display-2.toml"
    wall.write_text(device_toml(devices["display-2"]) + f'\n[display]\naudio_dir = "{data / "announcements"}"\n')
    wall.chmod(0o600)
    procs.append(spawn_display(wall, size=(1280, 720), log=data / "display.log"))
    kiosk = folder / "kiosk-3.toml"
    kiosk.write_text(device_toml(devices["kiosk-3"]) + '\n[printer]\ntransport = "preview"\nmodel = "TM-T20II"\n'
                     f'folder = "{data / "tickets" / "kiosk-3"}"\n')
    kiosk.chmod(0o600)
    log = open(data / "kiosk.log", "ab")
    procs.append(subprocess.Popen([sys.executable, "-m", "motcua_cli.main", "kiosk", "--config", str(kiosk),
                                   "--data", str(data / "kiosk-3")], stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=log, env={**os.environ, "KIVY_NO_ARGS": "1"}))
    pad = folder / "pad-1.toml"
    pad.write_text(device_toml(devices["pad-1"]))
    pad.chmod(0o600)
    pad_log = open(data / "counter-pad.log", "ab")
    procs.append(subprocess.Popen([sys.executable, "-m", "motcua_cli.main", "counter-pad", "--config", str(pad)],
                                  stdin=subprocess.DEVNULL, stdout=pad_log, stderr=pad_log,
                                  env={**os.environ, "KIVY_NO_ARGS": "1"}))
    screen = "trên màn hình" if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") else \
        "không có màn hình: cửa sổ chạy ẩn, tiếng gọi ghi ra tệp WAV"
    out.say("Hệ thống", f"Mở cửa sổ màn hình gọi số, kiosk lấy số và màn hình đánh giá ở quầy 1 ({screen}); "
                        f"nhật ký: {data / 'display.log'}, {data / 'kiosk.log'}, {data / 'counter-pad.log'}")
    return procs


def summary(board: Board, cfg) -> str:
    """The wall display's state in one line."""
    counters = " | ".join(f"Q{c.id}: {c.ticket or '—'}" if not c.paused else f"Q{c.id}: tạm dừng"
                          for c in board.counters)
    waiting = ", ".join(f"{cfg.service(s.id).name.split(' (')[0]} {s.waiting}" for s in board.services
                        if s.waiting)
    return f"{counters} — Đang chờ: {waiting or 'không ai'}"
