"""Where an installed motcua lives: immutable releases, one symlink to the current one.

    src = Path("/home/pi/motcua")                  # a clone
    rel = build_release(src, "hall")               # /opt/motcua-releases/<id>, with its own .venv
    previous = switch_to(rel)                      # /opt/motcua -> rel, atomically
    current_release(), installed_roles()

A release is a copy of the source's tracked files (no .git, no .venv) named by a hash of their
content, so installing the same source twice builds nothing, and an upgrade builds the new release
beside the running one and swaps a symlink (the units run /opt/motcua/.venv/bin/motcua).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

RELEASES = Path("/opt/motcua-releases")
CURRENT = Path("/opt/motcua")               # a symlink to the current release
ROLES_FILE = Path("/etc/motcua/roles")      # the installed roles, one a line (server, kiosk, …)
MARKER = ".motcua-release"                  # in each release: its id
SKIPPED = {".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".import_linter_cache"}


class LayoutError(Exception):
    """Something on this machine is not the layout the installer made (a message for the admin)."""


def source_files(src: Path) -> list[str]:
    """The release's files, relative to src, sorted: git's tracked and untracked-but-not-ignored files
    when src is a clone (a tester's uncommitted change is part of it), else every file but caches."""
    if (src / ".git").exists() and shutil.which("git"):
        out = subprocess.run(["git", "-C", str(src), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True).stdout
        names = {n for n in out.decode().split("\0") if n}
        # A file deleted in the working tree but still in the index is not part of the release.
        return sorted(n for n in names if (src / n).is_file() or (src / n).is_symlink())
    found = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED)
        rel = Path(dirpath).relative_to(src)
        # The marker is the installer's, not the source's: a release's id is its source's.
        found += [str(rel / f) for f in filenames if not f.endswith(".pyc") and not (f == MARKER and rel == Path("."))]
    return sorted(found)


def release_id(src: Path) -> str:
    """A hash of the tree's names, executable bits and contents: the same source gives the same id."""
    h = hashlib.sha256()
    for name in source_files(src):
        p = src / name
        mode = "l" if p.is_symlink() else ("x" if os.access(p, os.X_OK) else "f")
        data = os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        h.update(f"{name}\0{mode}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()[:16]


def _copy_tree(src: Path, dest: Path) -> None:
    for name in source_files(src):
        s, d = src / name, dest / name
        d.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        if s.is_symlink():
            os.symlink(os.readlink(s), d)
        else:
            shutil.copyfile(s, d)
            # Readable by every service user, writable by root only, whatever the clone's modes were.
            os.chmod(d, 0o755 if os.access(s, os.X_OK) else 0o644)


def build_release(src: Path, pip_role: str) -> Path:
    """RELEASES/<id> with its own venv holding pip_role's packages (`<release>/motcua install ROLE`).

    Idempotent: an existing release is not copied again, and the bootstrap installs nothing for a role
    its stamp already has. The copy is made beside and renamed into place, so a half-copied release
    is never taken for a whole one. Apt is skipped (MOTCUA_APT=0): the installer did the role's own.
    """
    rid = release_id(src)
    dest = RELEASES / rid
    old_umask = os.umask(0o022)
    try:
        if not dest.is_dir():
            RELEASES.mkdir(parents=True, exist_ok=True, mode=0o755)
            tmp = RELEASES / f".{rid}.partial"
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(mode=0o755)
            _copy_tree(src, tmp)
            # Marks an installed release: its bootstrap leaves OS packages to the installer (a service
            # user running `/opt/motcua/motcua device add` must not be sent to apt).
            (tmp / MARKER).write_text(f"{rid}\n")
            os.rename(tmp, dest)
        subprocess.run([str(dest / "motcua"), "install", pip_role], check=True,
                       env={**os.environ, "MOTCUA_APT": "0"})
        # Byte-compiled once, as root: the services' users cannot write __pycache__ in a release, and
        # would otherwise compile every module again at each start (slow on a Pi). Up to date: no-op.
        subprocess.run([str(dest / ".venv/bin/python"), "-m", "compileall", "-q", "-x", r"/\.venv/", str(dest)],
                       check=True, stdout=subprocess.DEVNULL)
    finally:
        os.umask(old_umask)
    return dest


def current_release() -> Path | None:
    """The release CURRENT points at, or None when nothing is installed this way."""
    if not CURRENT.is_symlink():
        return None
    return Path(os.readlink(CURRENT))


def check_current() -> None:
    """Raises LayoutError when CURRENT is something else than the installer's link (a clone made by hand)."""
    if CURRENT.exists() and not CURRENT.is_symlink():
        raise LayoutError(f"{CURRENT} is a folder, not the installer's link (a clone made by hand?). Move it "
                          f"away (sudo mv {CURRENT} {CURRENT}.old), then run the installer from a clone elsewhere, "
                          "e.g. /usr/local/src/motcua")


def switch_to(release: Path) -> Path | None:
    """Point CURRENT at release in one rename (a unit starting meanwhile sees the old or the new one,
    never neither); returns the previous target, None when there was none."""
    check_current()
    previous = current_release()
    if previous == release:
        return previous
    tmp = CURRENT.with_name(f".{CURRENT.name}.new")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(release, tmp)
    os.replace(tmp, CURRENT)
    return previous


def installed_roles() -> list[str]:
    """The roles installed on this machine, as ROLES_FILE keeps them."""
    try:
        text = ROLES_FILE.read_text()
    except FileNotFoundError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def roles_text(roles: list[str]) -> str:
    """ROLES_FILE's content for these roles (sorted, one a line)."""
    return "".join(f"{r}\n" for r in sorted(set(roles)))


def is_release(path: Path) -> bool:
    """True for a whole release directory under RELEASES (not a partial copy)."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    return path.parent == RELEASES and stat.S_ISDIR(st.st_mode) and not path.name.startswith(".")
