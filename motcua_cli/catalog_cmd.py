"""`motcua catalog check|import`: check a catalog.toml, and load it into a hall so kiosks show it at once.

    $ motcua catalog check examples/dang-kang/catalog.toml --config examples/dang-kang/hall.toml
    $ motcua catalog check examples/dang-kang/catalog.toml --report     # what is still unverified, and why
    $ motcua catalog import catalog.toml --config /etc/motcua/hall.toml --data /var/lib/motcua

`import` checks the catalog against the hall and writes it as DIR/catalog.json (the retained
`catalog` payload; temp file, fsync, rename). It does not speak MQTT: only the hall service
writes the retained hall topics. A running hall service sees the file changed within a second
and publishes it retained, so running kiosks update without a restart; the import waits for
that (DIR/catalog.published names the version the broker confirmed). With no hall service
running on the folder, it is published when the service next starts. Exit status 0 when
published or stored for the next start, 2 for a wrong file (nothing is written), 1 when a
running hall service did not publish it in time (it is stored; see the service's log).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from broker.catalog_file import CatalogFile
from broker.datalock import DataLock
from hall.catalog import ITEMS, MAX_CATALOG_PAYLOAD, Catalog, Procedure, load_catalog
from hall.config import HallConfig, load_hall
from hall.protocol import Topics
from motcua_cli.paths import DATA_DIR

IMPORT_HELP = ("check a catalog.toml and store it in the hall server's data folder; the running hall "
               "service publishes it within a second (kiosks update at once), or at its next start")


def add_parser(sub) -> None:
    c = sub.add_parser("catalog", help="the posted procedure catalog (catalog.toml)").add_subparsers(
        dest="catalog_cmd", required=True)
    ch = c.add_parser("check", help="check a catalog.toml and say what is wrong")
    ch.add_argument("file")
    ch.add_argument("--config", help="also check the service ids against this hall.toml")
    ch.add_argument("--report", action="store_true", help="also list every item still unverified (procedure, "
                    "item, why) and the day each procedure was checked")
    ch.set_defaults(fn=cmd_check)
    im = c.add_parser("import", help=IMPORT_HELP, description=IMPORT_HELP + ". It waits for the service to "
                      "publish it; with no hall service running on the data folder it prints 'not published "
                      "now: the hall service is not running …; it will be published at its next start'. Only "
                      "the hall service writes the retained catalog (see docs/cli.md).")
    im.add_argument("file")
    im.add_argument("--config", required=True, help="the hall's hall.toml (service ids, hall id)")
    im.add_argument("--data", default=DATA_DIR, help=f"the hall server's data folder (as given to `motcua serve`; "
                    f"default {DATA_DIR})")
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
    if args.report:
        print("\n".join(report(cat)))
    return 0


@dataclass(frozen=True)
class Unverified:
    """One posted item the kiosk shows as "chưa được kiểm chứng", and why."""
    procedure: str
    item: str
    why: str


def unverified_items(p: Procedure) -> list[Unverified]:
    """The procedure's unverified items in ITEMS order, each with the catalog's reason or the one implied."""
    checked = p.checked
    out = []
    for item in p.unverified:
        if checked is None:
            why = "không có hồ sơ nguồn (danh mục đọc lại từ bản tin catalog)"
        elif checked.reason(item):
            why = checked.reason(item)
        elif checked.source(item):
            why = f"đã ghi nguồn nhưng chưa xác nhận: {checked.source(item)}"
        elif p.unverified == ITEMS and not checked.sources and not checked.why:
            why = f"cả thủ tục chưa được đối chiếu (verified = false; nguồn: {p.source})"
        else:
            why = "chưa có nguồn nào nêu mục này (đối chiếu rồi ghi vào sources)"
        out.append(Unverified(p.id, item, why))
    return out


def report(cat: Catalog) -> list[str]:
    """`check --report`: per procedure, the day it was checked and its unverified items with the reason."""
    rows = [u for p in cat.procedures for u in unverified_items(p)]
    sourced = sum(len(p.checked.sources) for p in cat.procedures if p.checked)
    lines = [f"unverified: {len(rows)} items in {sum(1 for p in cat.procedures if p.unverified)} of "
             f"{len(cat.procedures)} procedures; {sourced} items verified, each with its source"]
    width = max(map(len, ITEMS))
    for p in cat.procedures:
        on = p.checked.verified_on if p.checked else None
        lines.append(f"{p.id}  (checked {on.isoformat() if on else 'never: no verified_on'})")
        lines.extend(f"  {u.item:<{width}}  {u.why}" for u in unverified_items(p))
    return lines


PUBLISHED, NOT_RUNNING, FAILED = "published", "not_running", "failed"


@dataclass(frozen=True)
class Imported:
    catalog: Catalog
    stored: Path          # DIR/catalog.json
    state: str            # PUBLISHED; NOT_RUNNING (the service publishes it when it starts); FAILED
    note: str             # why not published, when not


def import_catalog(file: str | Path, cfg: HallConfig, data_dir: str | Path, timeout: float = 5.0) -> Imported:
    """Check the catalog against the hall, store DIR/catalog.json, wait for a running service to publish it."""
    cat = load_catalog(file, cfg)
    data = Path(data_dir)
    if not data.is_dir():
        raise FileNotFoundError(f"the data folder {data} does not exist; give the folder `motcua serve --data` uses")
    target = CatalogFile.in_folder(data)
    # The file first, then the question: a service starting meanwhile reads the new file.
    stored = target.store(cat)
    pid = DataLock(data).holder()
    if pid is None:
        return Imported(cat, stored, NOT_RUNNING, f"the hall service is not running with the data folder {data}; "
                                                  "it will be published at its next start")
    deadline = time.monotonic() + timeout
    while target.published() != cat.version:
        if time.monotonic() >= deadline:
            return Imported(cat, stored, FAILED, f"the hall service (pid {pid}) has not published it within "
                                                 f"{timeout:g} s; is its Mosquitto up? See the service's log")
        time.sleep(0.05)
    return Imported(cat, stored, PUBLISHED, "")


def cmd_import(args) -> int:
    cfg = load_hall(args.config)
    try:
        done = import_catalog(args.file, cfg, args.data)
    except FileNotFoundError as err:
        print(f"motcua catalog import: {err}", file=sys.stderr)
        return 2
    print(summary(args.file, done.catalog))
    print(f"stored in {done.stored}")
    if done.state == PUBLISHED:
        print(f"published retained on {Topics(cfg.id).catalog} by the hall service: kiosks show it now")
        return 0
    if done.state == NOT_RUNNING:
        print(f"not published now: {done.note}")
        return 0
    print(f"motcua catalog import: not published yet: {done.note}. The hall service publishes the stored "
          "catalog as soon as it can (and at every start).", file=sys.stderr)
    return 1
