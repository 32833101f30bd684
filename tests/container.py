"""A booted Debian bookworm in a throwaway root, for the installer's tests (`./motcua test install`).

    with Container.boot() as c:            # unpacks the cached base image, boots its systemd (nspawn)
        c.copy_clone()                     # this working tree (uncommitted files too) -> /root/motcua
        p = c.run("cd /root/motcua && ./motcua install --role server")   # CompletedProcess, text
        c.path("/etc/motcua/hall.toml")    # the host's path to a file inside
        c.tree(["/etc", "/opt"])           # {path: "mode uid:gid inode mtime sha256|-> target"}
    # stopped and deleted, whatever happened

The base image (systemd, dbus, python3; nothing of motcua's) is built once by mmdebstrap into
CACHE, named by a hash of its package list, so changing the list builds a new one. Apt's downloaded
.debs and pip's wheels are kept in CACHE too, bound into every container: a repeated run installs
the same packages without downloading them again. Needs root, mmdebstrap and systemd-nspawn
(`./motcua test install` installs them); `available()` says why not, for a skip.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from motcua_cli.deploy.layout import source_files
from motcua_cli.paths import ROOT

CACHE = Path(os.environ.get("MOTCUA_TEST_CACHE", "/var/cache/motcua-test"))
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3")
MIRROR = "http://deb.debian.org/debian"
HOST_CA = "/etc/ssl/motcua-test-host-ca.pem"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# Every test module of `./motcua test install`: `pytestmark = INSTALL_MARKS`. Outside that run (a plain
# pytest) they are skipped; in it, tests/conftest.py fails them where no container can be had.
INSTALL_MARKS = [
    pytest.mark.install,
    pytest.mark.skipif(os.environ.get("MOTCUA_TEST_INSTALL") != "1", reason="run by `./motcua test install`"),
]


def machine_name(folder: str) -> str:
    """nspawn's machine name from the temp folder's: it takes letters, digits and '-' only (mkdtemp
    may give '_')."""
    return folder[-8:].replace("_", "-").lower()


def available() -> str | None:
    """None when containers can be booted here, else why not."""
    if os.geteuid() != 0:
        return "needs root (systemd-nspawn)"
    for tool in ("mmdebstrap", "systemd-nspawn", "nsenter"):
        if not shutil.which(tool):
            return f"needs {tool} (./motcua test install installs it)"
    return None


def base_image() -> Path:
    """The cached base image, built when missing (about 30 s, 240 MB); a lock keeps two builders apart."""
    key = hashlib.sha256(" ".join((MIRROR, "bookworm", *PACKAGES)).encode()).hexdigest()[:12]
    tar = CACHE / f"bookworm-{key}.tar"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tar.exists():
            part = tar.with_name(f".{tar.name}")       # not half an image under the real name, if interrupted
            subprocess.run(["mmdebstrap", "--quiet", "--variant=apt", "--format=tar", "--include=" + ",".join(PACKAGES),
                            "bookworm", str(part), MIRROR], check=True)
            os.rename(part, tar)
    return tar


class Container:
    def __init__(self, root: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.root = root
        self.proc = proc
        self.log = log
        self.leader = 0

    @classmethod
    def boot(cls, timeout: float = 90) -> Container:
        """Unpack the base image into a fresh directory and boot it; returns once systemd is up."""
        tar = base_image()
        top = Path(tempfile.mkdtemp(prefix="motcua-ct-", dir=CACHE))
        try:
            proc, log = cls._prepare(tar, top)
        except BaseException:
            subprocess.run(["rm", "-rf", "--one-file-system", str(top)], check=False)
            raise
        c = cls(top / "root", proc, log)
        try:
            c._wait_booted(timeout)
        except BaseException:
            c.stop()
            raise
        return c

    @staticmethod
    def _prepare(tar: Path, top: Path) -> tuple[subprocess.Popen[bytes], Path]:
        root = top / "root"
        root.mkdir()
        subprocess.run(["tar", "-xf", str(tar), "-C", str(root)], check=True)
        binds = []
        caches = (("/var/cache/apt/archives", CACHE / "apt-archives"), ("/root/.cache/pip", CACHE / "pip"))
        for inside, outside in caches:
            (outside / "partial").mkdir(parents=True, exist_ok=True)
            binds.append(f"--bind={outside}:{inside}")
        # Debian's images clean the .deb cache after each install; keep it for the next run.
        keep = 'Binary::apt::APT::Keep-Downloaded-Packages "true";\n'
        (root / "etc/apt/apt.conf.d/99motcua-test-keep").write_text(keep)
        (root / "etc/apt/apt.conf.d/docker-clean").unlink(missing_ok=True)
        # The host's own trust (a proxy's CA, say) for pip's HTTPS to PyPI inside: the same network.
        ca = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
        if ca and Path(ca).is_file():
            (root / HOST_CA.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ca, root / HOST_CA.lstrip("/"))
        log = top / "console.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(["systemd-nspawn", "-D", str(root), "--register=no", "--keep-unit", "--boot",
                                     "--console=pipe", f"--machine=motcua-{machine_name(top.name)}", *binds],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        return proc, log

    def _wait_booted(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the container exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            self.leader = self.leader or _child_init(self.proc.pid)
            if self.leader:
                state = self.run("systemctl is-system-running", check=False).stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.5)
        raise TimeoutError(f"the container did not boot in {timeout} s: {self.log.read_text()[-2000:]}")

    def run(self, command: str, *, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """bash -c COMMAND inside (every namespace of the container), as root, with a clean environment."""
        env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
        if self.path(HOST_CA).exists():
            env |= {"PIP_CERT": HOST_CA, "SSL_CERT_FILE": HOST_CA, "REQUESTS_CA_BUNDLE": HOST_CA}
        p = subprocess.run(["nsenter", "-t", str(self.leader), "-a", "--", "/usr/bin/env", "-i",
                            *(f"{k}={v}" for k, v in env.items()), "/bin/bash", "-c", command],
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"inside the container, `{command}` exited {p.returncode}:\n{p.stdout[-3000:]}\n"
                                 f"{p.stderr[-3000:]}")
        return p

    def path(self, inside: str) -> Path:
        """The host's path of a path inside (not following the container's absolute symlinks)."""
        return self.root / inside.lstrip("/")

    def copy_clone(self, dest: str = "/root/motcua") -> str:
        """This working tree's files (git's tracked and untracked-not-ignored: an uncommitted change is in
        it; no .git, no .venv) copied to dest inside; returns dest."""
        target = self.path(dest)
        for name in source_files(ROOT):
            s, d = ROOT / name, target / name
            d.parent.mkdir(parents=True, exist_ok=True)
            if s.is_symlink():
                os.symlink(os.readlink(s), d)
            else:
                shutil.copy2(s, d)
        return dest

    def tree(self, tops: list[str], *, contents: bool = True) -> dict[str, tuple[int, ...] | str]:
        """Every path under tops: mode, owner, group, inode, mtime and the file's sha256 (a link's target),
        so a file rewritten with the same bytes counts as changed too; contents=False keeps only the
        mode, owner and group (a running service's own data)."""
        out: dict[str, tuple[int, ...] | str] = {}
        for top in tops:
            base = self.path(top)
            if not base.exists():
                continue
            for dirpath, dirnames, filenames in os.walk(base):
                for name in dirnames + filenames:
                    p = Path(dirpath) / name
                    st = p.lstat()
                    if stat.S_ISLNK(st.st_mode):
                        what = "-> " + os.readlink(p)
                    elif stat.S_ISREG(st.st_mode) and contents:
                        what = hashlib.sha256(p.read_bytes()).hexdigest()
                    else:
                        what = ""
                    key = "/" + str(p.relative_to(self.root))
                    if contents:
                        out[key] = f"{st.st_mode:o} {st.st_uid}:{st.st_gid} {st.st_ino} {st.st_mtime_ns} {what}"
                    else:
                        out[key] = (st.st_mode, st.st_uid, st.st_gid)
        return out

    def stop(self) -> None:
        """Power the container off (SIGTERM to nspawn: a clean shutdown), killed after 30 s; then delete it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.root.parent)], check=False)

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child_init(nspawn_pid: int) -> int:
    """The container's PID 1 as the host sees it: nspawn's child (or grandchild) running systemd."""
    todo = [nspawn_pid]
    while todo:
        pid = todo.pop()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            try:
                comm = Path(f"/proc/{child}/comm").read_text().strip()
            except OSError:
                continue
            if comm == "systemd":
                return child
            todo.append(child)
    return 0
