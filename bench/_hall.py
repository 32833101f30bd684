"""Shared by the hall benchmarks: a real hall server in a subprocess, devices, floors, percentiles.

    with BenchHall(Path(tmp)) as hall:                 # writes an always-open bench hall.toml
        devs = hall.provision([("kiosk-1", "kiosk", None)])   # before start: passwd/ACL are written
        hall.start()                                   # `motcua serve` (its own Mosquitto) as a subprocess
        kiosk = hall.connect(devs["kiosk-1"])
        echo, commit, run = interleaved(hall, 4, 2000, 2000, 2000, lambda n: take_tickets([kiosk], n))
    # leaving the block stops the server with SIGTERM (and kills it, and its Mosquitto, if it hangs)

The server is a subprocess so that its RSS and CPU time are the hall service's
alone, and so that the benchmark's own threads never share its GIL.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

# read_reply: the benches time request() alone and read its reply (as HallClient.ask would) after the
# clock stopped; bench/call_roundtrip.py imports it from here.
from hall.client import HallClient, read_reply
from hall.device import DeviceConfig
from hall.link import no_delay
from hall.protocol import SERVER_ID, Topics, encode
from motcua_cli.paths import free_port

HALL_ID = "bench"
# The per-kiosk rate limit guards the paper roll against a child, it is not a load cap: the bench
# hall sets it to hall.toml's highest value, so one device id per kiosk takes every ticket a run asks for.
MAX_KIOSK_RATE = 1_000_000

# Each example service allows 999 numbers a day; the bench hall widens each to 9,999
# (1001-1999 → 10001-19999, …) so 10,000+ tickets fit in one service day.
SERVICES = ["ho-tich", "chung-thuc", "dat-dai", "xa-hoi", "khac", "tra-ket-qua"]
# The lines counter 1 calls from in the example hall (services whose counters include 1).
COUNTER1_SERVICES = ["ho-tich", "chung-thuc", "tra-ket-qua"]


def bench_hall_text(mqtt_port: int, http_port: int, hall_id: str = HALL_ID) -> str:
    """The always-open example hall, loopback only, max kiosk rate, 9,999 numbers per service."""
    from motcua_cli.demo_hall import demo_hall_text
    text = demo_hall_text(hall_id=hall_id, mqtt_port=mqtt_port, http_port=http_port,
                          tickets_per_minute=MAX_KIOSK_RATE, bind="127.0.0.1")
    text, n_first = re.subn(r"^first = (\d)001$", r"first = \g<1>0001", text, flags=re.M)
    text, n_last = re.subn(r"^last = (\d)999$", r"last = \g<1>9999", text, flags=re.M)
    assert n_first == n_last == len(SERVICES), (n_first, n_last)
    return text


# --- the server subprocess ----------------------------------------------------------

class BenchHall:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.data = self.root / "data"
        self.config = self.root / "hall.toml"
        self.port = free_port()
        self.config.write_text(bench_hall_text(self.port, free_port()), encoding="utf-8")
        from hall.config import load_hall
        self.cfg = load_hall(self.config)
        self.proc: subprocess.Popen | None = None
        self.clients: list[HallClient] = []

    # provisioning happens before `serve`, straight into the ledger and Mosquitto's files
    def provision(self, devices: list[tuple[str, str, int | None]]) -> dict[str, DeviceConfig]:
        from broker.server import add_devices
        return add_devices(self.cfg, self.data, devices)

    def secret(self) -> str:
        return (self.data / "hall.secret").read_text().strip()

    def start(self, timeout: float = 30.0) -> BenchHall:
        exe = Path(sys.executable).with_name("motcua")
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "motcua_cli.main"]
        cmd += ["serve", "--config", str(self.config), "--data", str(self.data), "--mqtt-port", str(self.port)]
        self._out = open(self.root / "serve.out", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=Path(__file__).resolve().parent.parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"motcua serve exited (code {self.proc.returncode}): {self.log_tail()}")
            if b"serving" in (self.root / "serve.out").read_bytes():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"motcua serve did not come up within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.root / "serve.out").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def connect(self, dev: DeviceConfig, **kw) -> HallClient:
        client = HallClient(dev, **kw)
        self.clients.append(client)
        return client.start(wait=10)

    def connect_all(self, devs: list[DeviceConfig], **kw) -> list[HallClient]:
        clients = []
        for dev in devs:
            client = HallClient(dev, **kw)
            self.clients.append(client)
            clients.append(client.start())
        for c in clients:
            if not c.connected.wait(10):
                raise RuntimeError(f"{c.device.id} could not connect")
        return clients

    def mosquitto_pid(self) -> int | None:
        try:
            pid = int((self.data / "mosquitto" / "mosquitto.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        return pid if str(self.data / "mosquitto" / "mosquitto.conf").encode() in cmdline else None

    def stop(self) -> None:
        for c in self.clients:
            try:
                c.stop()
            except Exception:
                pass
        self.clients.clear()
        mosq = self.mosquitto_pid()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)      # `motcua serve` stops its Mosquitto in order
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # A serve that died or hung leaves its Mosquitto (own session) behind: end that one too.
        if mosq is not None and self.mosquitto_pid() == mosq:
            os.kill(mosq, signal.SIGTERM)
            for _ in range(100):
                if not Path(f"/proc/{mosq}").exists():
                    break
                time.sleep(0.05)
            else:
                os.kill(mosq, signal.SIGKILL)
        if getattr(self, "_out", None):
            self._out.close()

    def __enter__(self) -> BenchHall:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- the processes' resources ----------------------------------------------------
    def processes(self):
        import psutil
        procs = {"hall service": psutil.Process(self.proc.pid)}
        mosq = self.mosquitto_pid()
        if mosq:
            procs["mosquitto"] = psutil.Process(mosq)
        procs["bench (clients)"] = psutil.Process()
        return procs

    def service_rss_mb(self) -> float:
        import psutil
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20


class CpuMeter:
    """CPU seconds each process spent between start() and stop()."""

    def __init__(self, hall: BenchHall):
        self.procs = hall.processes()
        self.spent: dict[str, float] = {}

    @staticmethod
    def _cpu(p) -> float:
        t = p.cpu_times()
        return t.user + t.system

    def start(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self._start = {k: self._cpu(p) for k, p in self.procs.items()}
        return self

    def stop(self) -> CpuMeter:
        self.wall = time.perf_counter() - self.t0
        self.spent = {k: self._cpu(p) - self._start[k] for k, p in self.procs.items()}
        return self

    def lines(self, per: int, what: str) -> list[str]:
        out = [f"CPU during that phase (wall {self.wall:.2f} s, 2 cores = {2 * self.wall:.2f} core-s available):"]
        for k, s in self.spent.items():
            out.append(f"  {k:<16} {s:7.2f} core-s  {100 * s / self.wall:5.0f}% of one core  "
                       f"{1000 * s / max(per, 1):6.3f} ms per {what}")
        return out


# --- tickets ----------------------------------------------------------------------------

def take_ticket_payload_example() -> bytes:
    """What a kiosk's take-ticket request looks like on the wire (HallClient's id format)."""
    return encode({"id": f"{uuid.uuid4().hex[:10]}-{1234}", "service": "ho-tich"})


@dataclass
class Run:
    """Latencies (ms) of one closed-loop phase and its wall time."""
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def add(self, other: Run) -> Run:
        self.latencies += other.latencies
        self.elapsed += other.elapsed
        self.errors += other.errors
        return self


def closed_loop(keys, loop, what: str) -> Run:
    """Run `loop(key, run)` on one thread per key, all released at once; the merged Run, timed from
    the release to the last thread's end. Raises when any request failed."""
    keys = list(keys)
    runs = [Run() for _ in keys]
    start = threading.Barrier(len(keys) + 1)

    def body(key, run: Run) -> None:
        start.wait()
        loop(key, run)

    threads = [threading.Thread(target=body, args=(k, r), name=f"{what}-{k}", daemon=True)
               for k, r in zip(keys, runs, strict=True)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    out = Run(elapsed=time.perf_counter() - t0)
    for r in runs:
        out.latencies += r.latencies
        out.errors += r.errors
    if out.errors:
        raise RuntimeError(f"{len(out.errors)} {what} requests failed, first: {out.errors[0]}")
    return out


def take_tickets(kiosks: list[HallClient], total: int, services: list[str] = SERVICES,
                 priority_every: int = 10, offset: int = 0) -> Run:
    """Closed loop: each kiosk (a connected kiosk device) sends its next take-ticket when the previous
    reply arrived.
    Tickets go round-robin over `services`; every `priority_every`-th one is an 'elderly' ticket."""
    n = len(kiosks)
    shares = [total // n + (1 if i < total % n else 0) for i in range(n)]

    def loop(k: int, run: Run) -> None:
        client = kiosks[k]
        for i in range(shares[k]):
            j = offset + k + i * n
            args = {"service": services[j % len(services)]}
            if priority_every and j % priority_every == priority_every - 1:
                args["priority"] = "elderly"
            t0 = time.perf_counter()
            try:
                reply = client.request("take-ticket", args, timeout=5.0, attempts=2)
            except TimeoutError as err:
                run.errors.append(str(err))
                return
            dt = time.perf_counter() - t0
            answer = read_reply("take-ticket", reply)
            if not answer.ok:
                run.errors.append(f"{client.device.id}: {answer.error}")
                return
            run.latencies.append(dt * 1000)

    return closed_loop(range(n), loop, "take-ticket")


# --- floors -------------------------------------------------------------------------------

class EchoFloor:
    """Bare MQTT round trip through the hall's Mosquitto: QoS 1 publish → an echo client in its own
    process (as the hall service is; bench/_echo.py) publishes it again, QoS 1 → the sender receives.
    One outstanding message, take-ticket-sized payload. Both are bare paho clients set up as hall.link does
    (MQTT 3.1.1, TCP_NODELAY, the reply handed to a waiting thread); they log in as the hall service
    user, on topics the hall service does not subscribe to."""

    def __init__(self, hall: BenchHall):
        root = Topics(hall.cfg.id).root
        self.ping, self.pong = f"{root}/bench/echo/ping", f"{root}/bench/echo/pong"
        self.got = threading.Event()
        self.box: list[bytes] = []
        self.prefix = uuid.uuid4().hex[:10]
        self.sent = 0
        self.sender: mqtt.Client | None = None
        secret = hall.secret()
        self.echo = subprocess.Popen(
            [sys.executable, "-m", "bench._echo", "127.0.0.1", str(hall.port), SERVER_ID, self.ping, self.pong],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
        try:
            self.echo.stdin.write(secret.encode() + b"\n")
            self.echo.stdin.flush()
            ready = self.echo.stdout.readline().strip()
            if ready != b"ready":
                raise RuntimeError(f"echo process did not start: {ready!r}")
            self.sender = self._client(hall, secret, "bench-sender", self.pong, self._on_pong)
        except BaseException:
            self.close()
            raise

    def _client(self, hall: BenchHall, secret: str, cid: str, topic: str, on_message) -> mqtt.Client:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, protocol=mqtt.MQTTv311,
                        clean_session=True)
        c.username_pw_set(SERVER_ID, secret)
        c.on_socket_open = no_delay
        subscribed = threading.Event()
        c.on_connect = lambda cl, *_: cl.subscribe(topic, qos=1)
        c.on_subscribe = lambda *_: subscribed.set()
        c.on_message = on_message
        c.connect("127.0.0.1", hall.port, keepalive=10)
        c.loop_start()
        if not subscribed.wait(10):
            c.loop_stop()
            raise RuntimeError(f"{cid}: could not subscribe to {topic}")
        return c

    def _on_pong(self, client, userdata, msg) -> None:
        self.box.append(msg.payload)
        self.got.set()

    def measure(self, n: int, warmup: int = 20, timeout: float = 5.0) -> list[float]:
        out = []
        for i in range(warmup + n):
            self.sent += 1
            payload = encode({"id": f"{self.prefix}-{self.sent}", "service": "ho-tich"})
            self.got.clear()
            self.box.clear()
            t0 = time.perf_counter()
            self.sender.publish(self.ping, payload, qos=1)
            if not self.got.wait(timeout):
                raise RuntimeError(f"echo: no reply within {timeout:.0f} s")
            dt = time.perf_counter() - t0
            if self.box[0] != payload:
                raise RuntimeError("echo: got another payload back")
            if i >= warmup:
                out.append(dt * 1000)
        return out

    def close(self) -> None:
        if self.sender is not None:
            self.sender.disconnect()
            self.sender.loop_stop()
            self.sender = None
        if self.echo.poll() is None:
            self.echo.stdin.close()           # the echo process ends when its stdin closes
            try:
                self.echo.wait(5)
            except subprocess.TimeoutExpired:
                self.echo.kill()
                self.echo.wait()
        self.echo.stdout.close()


def sqlite_floor(path: Path, n: int = 2000, warmup: int = 10) -> list[float]:
    """A bare durable SQLite commit: WAL, synchronous=FULL, one small INSERT per transaction."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, at REAL NOT NULL, data TEXT NOT NULL)")
        out = []
        for i in range(warmup + n):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (at, data) VALUES (?, ?)", (time.time(), f"ticket {i}"))
            conn.execute("COMMIT")
            dt = time.perf_counter() - t0
            if i >= warmup:
                out.append(dt * 1000)
        return out
    finally:
        conn.close()


def interleaved(hall: BenchHall, rounds: int, echo_n: int, commit_n: int, measure_n: int,
                measure) -> tuple[list[float], list[float], Run]:
    """Floors and the measurement in alternating blocks (echo, commit, `measure(n)`), so that all
    three see the same machine: other work on a shared 2-core box moves them together."""
    echo, commit, run = [], [], Run()
    floor = EchoFloor(hall)
    try:
        for r in range(rounds):
            def share(total: int, r: int = r) -> int:    # round r's part of `total`; the first rounds take the rest
                return total // rounds + (1 if r < total % rounds else 0)
            echo += floor.measure(share(echo_n))
            commit += sqlite_floor(hall.root / "floor.db", share(commit_n))
            run.add(measure(share(measure_n)))
    finally:
        floor.close()
    return echo, commit, run


def machine_note() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min)"


# --- numbers and the report -----------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    """Percentile with linear interpolation between closest ranks."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100
    lo = math.floor(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def row(label: str, values: list[float], extra: str = "") -> str:
    return (f"  {label:<44} {len(values):>6}  {pct(values, 50):8.3f}  {pct(values, 99):8.3f}  "
            f"{max(values):8.2f}  {extra}")


HEADER = f"  {'':<44} {'n':>6}  {'p50 ms':>8}  {'p99 ms':>8}  {'max ms':>8}"


def fmt(v: float) -> str:
    """2-3 significant decimals for the machine-readable line."""
    return f"{v:.3f}" if abs(v) < 1 else f"{v:.2f}" if abs(v) < 100 else f"{v:.1f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def bench_line(name: str, **values: float) -> str:
    return f"bench: {name} " + " ".join(f"{k}={fmt(v)}" for k, v in values.items())


def disk_of(path: Path) -> str:
    """Which filesystem a path is on (so a reader knows what the fsync floor means)."""
    best, fs = "", "?"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            dev, mnt, typ = line.split()[:3]
            if str(path.resolve()).startswith(mnt) and len(mnt) > len(best):
                best, fs = mnt, f"{typ} on {dev} (mounted at {mnt})"
    except OSError:
        pass
    return fs


def run_in_temp(prefix: str, args, run) -> int:
    """Run `run(args, root)` in a fresh temporary folder, removed afterwards unless --keep."""
    root = Path(tempfile.mkdtemp(prefix=f"motcua-bench-{prefix}-", dir=args.dir))
    try:
        return run(args, root)
    finally:
        if args.keep:
            print(f"data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
