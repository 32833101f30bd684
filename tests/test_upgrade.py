"""`sudo ./motcua upgrade`, for real, in a booted Debian (tests/container.py): from the previous commit's
tree to this one on a ledger with tickets taken through the running hall, then to a tree with one more
ledger migration (it runs, every ticket kept), then two broken trees (one exits at start after migrating,
one hangs before READY): each rolls back to the release before, healthy, tickets intact, exit 1.

Slow (a container, apt and pip inside): run by `./motcua test install`, not by `./motcua test`.
"""

from __future__ import annotations

import io
import re
import subprocess
import tarfile
import time

from motcua_cli.paths import ROOT
from tests.container import INSTALL_MARKS, Container

pytestmark = INSTALL_MARKS



HALL = "runuser -u motcua -- /opt/motcua/.venv/bin/motcua"
ARGS = "--config /etc/motcua/hall.toml --data /var/lib/motcua"
UPGRADE = "cd /root/motcua && ./motcua upgrade --settle 5 --timeout 40"
STEP = '    store.Step("upgrade test {n}", ("CREATE TABLE upgrade_probe_{n} (x INTEGER)",)),\n'


def sql(c: Container, query: str) -> str:
    return c.run(f"python3 -c \"import sqlite3; print(sqlite3.connect('file:/var/lib/motcua/hall.db?mode=ro', "
                 f"uri=True).execute('{query}').fetchall())\"").stdout.strip()


def tickets(c: Container) -> str:
    return sql(c, "SELECT id, service, number, state FROM tickets ORDER BY id")


def schema(c: Container) -> int:
    return int(re.sub(r"\D", "", sql(c, "PRAGMA user_version")))


def current(c: Container) -> str:
    return c.run("readlink /opt/motcua").stdout.strip()


def derived(c: Container, name: str, *, steps: int = 0, serve_patch: str | None = None) -> str:
    """A copy of this tree at /root/NAME with `steps` more ledger migrations and, optionally, a line put
    before cmd_serve's READY (a broken release); returns its path inside."""
    dest = c.copy_clone(f"/root/{name}")
    ledger = c.path(f"{dest}/broker/ledger.py")
    text = ledger.read_text()
    end = text.index("\n]\n", text.index("MIGRATIONS")) + 1      # the list's closing bracket
    text = text[:end] + "".join(STEP.format(n=n) for n in range(3, 3 + steps)) + text[end:]
    ledger.write_text(text)
    if serve_patch:
        main = c.path(f"{dest}/motcua_cli/main.py")
        m = main.read_text()
        assert '    _notify("READY=1")' in m
        main.write_text(m.replace('    _notify("READY=1")', f"    {serve_patch}\n    _notify(\"READY=1\")", 1))
    return dest


def take_tickets(c: Container, n: int) -> None:
    out = c.run(f"{HALL} device add kiosk-9 --role kiosk {ARGS}").stdout
    password = re.search(r'MQTT password: (\S+)', out)
    assert password, out
    for i in range(n):
        payload = f'{{"v":1,"id":"up-{i}-{time.time_ns()}","service":"ho-tich"}}'
        c.run(f"mosquitto_pub -h 127.0.0.1 -u kiosk-9 -P '{password[1]}' -i kiosk-9-t -q 1 "
              f"-t motcua/dang-kang/request/kiosk-9/take-ticket -m '{payload}'")


def previous_commit() -> str:
    """HEAD when this working tree has changes (they are "this version"), else HEAD's parent."""
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True,
                           check=True).stdout.strip()
    return "HEAD" if dirty else "HEAD~1"


def upgrade(c: Container, command: str) -> tuple[subprocess.CompletedProcess[str], float]:
    t = time.monotonic()
    p = c.run(command, check=False)
    took = time.monotonic() - t
    print(f"`{command}`: exit {p.returncode} in {took:.1f} s\n{p.stdout}{p.stderr}")
    return p, took


def assert_healthy(c: Container) -> None:
    assert c.run("systemctl is-active motcua-hall").stdout.strip() == "active"
    c.run(f"{HALL} status {ARGS}")          # exit 0: serving, no alarm


def test_upgrade_migrates_and_broken_upgrades_roll_back() -> None:
    with Container.boot() as c:
        c.copy_clone()
        p, _ = upgrade(c, UPGRADE)
        assert p.returncode == 1 and "nothing is installed here" in p.stderr, p.stdout + p.stderr
        c.run("cd /root/motcua && ./motcua install --role server")
        # Open all day, every day: the example hall's hours would refuse tickets when the test runs at night.
        c.run("sed -i -E 's/^(monday|tuesday|wednesday|thursday|friday|saturday|sunday) *=.*/\\1 = [\"00:00-23:59\"]/' "
              "/etc/motcua/hall.toml && systemctl restart motcua-hall")
        # The previous commit's tree has no installer of its own: this tree's upgrade switches to it.
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--prefix=motcua/", previous_commit()],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tf, tarfile.open(c.path("/root/prev.tar.gz"), "w:gz") as out:
            for member in tf.getmembers():
                out.addfile(member, tf.extractfile(member) if member.isfile() else None)
        p, _ = upgrade(c, f"{UPGRADE} --from /root/prev.tar.gz")
        assert p.returncode == 0, p.stdout + p.stderr
        prev = current(c)
        take_tickets(c, 5)
        deadline = time.monotonic() + 20
        while tickets(c).count("ho-tich") < 5 and time.monotonic() < deadline:
            time.sleep(0.5)
        before = tickets(c)
        assert before.count("ho-tich") == 5, before

        # The previous commit -> this tree.
        p, took = upgrade(c, UPGRADE)
        assert p.returncode == 0, p.stdout + p.stderr
        assert current(c) != prev and tickets(c) == before
        assert_healthy(c)

        # A newer tree with one more ledger step: it runs, every ticket is kept.
        v2 = schema(c)
        derived(c, "next", steps=1)
        p, took = upgrade(c, "cd /root/next && ./motcua upgrade --settle 5 --timeout 40")
        assert p.returncode == 0, p.stdout + p.stderr
        assert schema(c) == v2 + 1 and f"ledger schema {v2} -> {v2 + 1} (migrated)" in p.stdout
        assert tickets(c).count("ho-tich") == 5 and sql(c, "SELECT count(*) FROM tickets") == "[(5,)]"
        assert_healthy(c)
        good = current(c)

        # Broken: migrates (one more step) then exits before READY: back to `good`, its schema, tickets.
        derived(c, "exits", steps=2, serve_patch='raise SystemExit("broken on purpose")')
        p, took = upgrade(c, "cd /root/exits && ./motcua upgrade --settle 5 --timeout 40")
        assert p.returncode == 1, p.stdout
        assert "ROLLING BACK" in p.stdout and "rolled back" in p.stdout and "putting the pre-upgrade backup" in p.stdout
        assert current(c) == good and schema(c) == v2 + 1
        assert sql(c, "SELECT count(*) FROM tickets") == "[(5,)]"
        assert c.run("ls /var/lib/motcua | grep -c before-restore || ls /var/lib/motcua", check=False).stdout
        assert_healthy(c)

        # Broken: hangs before READY (no migration): the bounded wait gives up, back to `good`.
        derived(c, "hangs", serve_patch='__import__("time").sleep(3600)')
        p, took = upgrade(c, "cd /root/hangs && ./motcua upgrade --settle 5 --timeout 40")
        assert p.returncode == 1, p.stdout
        assert "did not become ready in 40 s" in p.stdout and "rolled back" in p.stdout
        assert current(c) == good and sql(c, "SELECT count(*) FROM tickets") == "[(5,)]"
        assert_healthy(c)

        p, _ = upgrade(c, "cd /root/next && ./motcua upgrade")
        assert p.returncode == 0 and "already at this version" in p.stdout

        # Five releases built by now; a good upgrade keeps the current one and the two newest others.
        p, _ = upgrade(c, UPGRADE)
        assert p.returncode == 0 and "deleted the old release" in p.stdout, p.stdout
        kept = c.run("ls /opt/motcua-releases").stdout.split()
        assert len(kept) == 3 and current(c).rsplit("/", 1)[1] in kept and good.rsplit("/", 1)[1] in kept, kept
        assert sql(c, "SELECT count(*) FROM tickets") == "[(5,)]"
        assert_healthy(c)
