"""`motcua catalog check|import`: check a catalog.toml, and load it into a hall so kiosks show it at once.

    $ motcua catalog check examples/cu-kty/catalog.toml --config examples/cu-kty/hall.toml
    $ motcua catalog import catalog.toml --config /etc/motcua/hall.toml --data /var/lib/motcua

`import` stores the catalog as DIR/catalog.json (the retained `catalog` payload,
which the hall service republishes on every connect to Mosquitto) and publishes it
retained at once as the hall service's user, so running kiosks update without a
restart. Exit status 0 when done (also when the hall server is not running: it
publishes the stored catalog when it starts), 2 for a wrong file, 1 when a running
Mosquitto did not take the message.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from hall.catalog import MAX_CATALOG_PAYLOAD, Catalog, load_catalog
from hall.config import HallConfig, load_hall, with_ports
from hall.protocol import SERVER_ID, Topics


def add_parser(sub) -> None:
    c = sub.add_parser("catalog", help="the posted procedure catalog (catalog.toml)").add_subparsers(
        dest="catalog_cmd", required=True)
    ch = c.add_parser("check", help="check a catalog.toml and say what is wrong")
    ch.add_argument("file")
    ch.add_argument("--config", help="also check the service ids against this hall.toml")
    ch.set_defaults(fn=cmd_check)
    im = c.add_parser("import", help="load a catalog.toml into the hall server; kiosks update at once")
    im.add_argument("file")
    im.add_argument("--config", required=True, help="the hall's hall.toml (service ids, hall id, Mosquitto port)")
    from motcua_cli.main import DATA_DIR, port
    im.add_argument("--data", default=DATA_DIR, help=f"the hall server's data folder (as given to `motcua serve`; "
                    f"default {DATA_DIR})")
    im.add_argument("--mqtt-port", type=port, help="override [server] mqtt_port")
    im.set_defaults(fn=cmd_import)


def summary(path: str | Path, cat: Catalog) -> str:
    """What `check` and `import` print about a good catalog."""
    fields = " · ".join(f"{f.name} {len(cat.procedures_of(f.id))}" for f in cat.fields)
    unverified = sum(1 for p in cat.procedures if not p.verified)
    size = len(cat.to_payload())
    return (f"{path}: OK — {len(cat.procedures)} procedures in {len(cat.fields)} fields, version {cat.version[:12]}\n"
            f"  {fields}\n"
            f"  {unverified} of {len(cat.procedures)} procedures have items marked unverified "
            f"(shown on the kiosk as not yet checked)\n"
            f"  message size {size / 1024:.0f} KB of at most {MAX_CATALOG_PAYLOAD // 1024} KB")


def cmd_check(args) -> int:
    hall = load_hall(args.config) if args.config else None
    cat = load_catalog(args.file, hall)     # a CatalogError reaches main(): printed, exit status 2
    print(summary(args.file, cat))
    if hall is None:
        print("  (service ids not checked against a hall: give --config hall.toml)")
    return 0


PUBLISHED, NOT_RUNNING, FAILED = "published", "not_running", "failed"


@dataclass(frozen=True)
class Imported:
    catalog: Catalog
    stored: Path          # DIR/catalog.json
    state: str            # PUBLISHED; NOT_RUNNING (the server publishes it when it starts); FAILED
    note: str             # why not published, when not


def import_catalog(file: str | Path, cfg: HallConfig, data_dir: str | Path, timeout: float = 5.0) -> Imported:
    """Check the catalog against the hall, store DIR/catalog.json, publish it retained if Mosquitto runs."""
    from broker.server import CATALOG_FILE
    cat = load_catalog(file, cfg)
    data = Path(data_dir)
    if not data.is_dir():
        raise FileNotFoundError(f"the data folder {data} does not exist; give the folder `motcua serve --data` uses")
    payload = cat.to_payload()
    stored = data / CATALOG_FILE
    # File first, then the broker: a service reconnecting in between republishes the new file.
    tmp = stored.with_suffix(".json.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, stored)
    state, note = publish(cfg, data, payload, timeout)
    return Imported(cat, stored, state, note)


def publish(cfg: HallConfig, data: Path, payload: bytes, timeout: float = 5.0) -> tuple[str, str]:
    """Publish the retained catalog as the hall service's user: (PUBLISHED, '') or (NOT_RUNNING|FAILED, why)."""
    import paho.mqtt.client as mqtt

    secret = data / "hall.secret"
    if not secret.exists():
        return NOT_RUNNING, ("the hall server has never run with this data folder; "
                             "it publishes the catalog when it starts")
    host = "127.0.0.1" if cfg.mqtt_bind in ("0.0.0.0", "") else cfg.mqtt_bind
    # Its own client id: reusing 'hall' would push the hall service's own session off the broker.
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{SERVER_ID}-catalog-import-{os.getpid()}",
                         protocol=mqtt.MQTTv311, clean_session=True)
    client.username_pw_set(SERVER_ID, secret.read_text().strip())
    answered, reasons = threading.Event(), []
    client.on_connect = lambda c, u, flags, reason, props=None: (reasons.append(reason), answered.set())
    try:
        client.connect(host, cfg.mqtt_port, keepalive=10)
    except OSError:
        return NOT_RUNNING, (f"the hall server is not running (nothing answers on {host}:{cfg.mqtt_port}); "
                       "it publishes the catalog when it starts")
    client.loop_start()
    try:
        if not answered.wait(timeout):
            return FAILED, f"Mosquitto on {host}:{cfg.mqtt_port} did not answer within {timeout:g} s"
        if reasons[0].is_failure:
            return FAILED, (f"Mosquitto on {host}:{cfg.mqtt_port} refused the hall service's login ({reasons[0]}); "
                           "is this the data folder of the hall server on that port?")
        info = client.publish(Topics(cfg.id).catalog, payload, qos=1, retain=True)
        info.wait_for_publish(timeout)
        if not info.is_published():
            return FAILED, f"Mosquitto did not confirm the message within {timeout:g} s"
        return PUBLISHED, ""
    finally:
        client.disconnect()
        client.loop_stop()


def cmd_import(args) -> int:
    cfg = with_ports(load_hall(args.config), args.mqtt_port)
    try:
        done = import_catalog(args.file, cfg, args.data)
    except FileNotFoundError as err:
        print(f"motcua catalog import: {err}", file=sys.stderr)
        return 2
    print(summary(args.file, done.catalog))
    print(f"stored in {done.stored}")
    if done.state == PUBLISHED:
        print(f"published retained on {Topics(cfg.id).catalog}: kiosks show it now")
        return 0
    if done.state == NOT_RUNNING:
        print(f"not published now: {done.note}")
        return 0
    print(f"motcua catalog import: not published: {done.note}. The hall service publishes the stored "
          "catalog when it next connects to Mosquitto (e.g. after a restart).", file=sys.stderr)
    return 1
