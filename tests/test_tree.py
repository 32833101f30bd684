"""Tests over the source tree itself: no import circle, and no long file without a reason.

A circle between packages means the layers are wrong (architecture.md's table lets imports run only
one way); a circle between the modules of one package makes import order matter and hides which
module is the lower one. A file over 400 lines says at its top why it must stay whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
# The product: what runs in the hall (tests/, bench/ and tools/ are ours, not the hall's).
PRODUCT = ["hall", "broker", "printer", "ui", "kiosk", "display", "motcua_cli"]
PACKAGES = [name for name in [*PRODUCT, "bench"] if (ROOT / name / "__init__.py").is_file()]
MAX_LINES = 400
# The reason a long file gives, near its top: "Long because: <why>" in a comment or its docstring.
REASON = re.compile(r"^\s*(#\s*)?Long because: \S")
REASON_WITHIN = 15
# Module circles known and being removed (issue 9); a new one fails at once. Empty this list when
# they are gone: the test then guards every package.
KNOWN_MODULE_CIRCLES: list[set[str]] = []


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Imports under `if TYPE_CHECKING:` never run, so they make no circle.
    return grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)


def circles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected parts of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.add(member)
                    if member == node:
                        break
                if len(part) > 1:
                    found.append(part)
    return found


def test_circles_finds_a_circle_and_only_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_among_the_packages(graph):
    edges = {
        package: {other for other in PACKAGES
                  if other != package and graph.direct_import_exists(importer=package, imported=other,
                                                                     as_packages=True)}
        for package in PACKAGES
    }
    found = circles(edges)
    details = []
    for part in found:
        for a in sorted(part):
            for b in sorted(part & edges[a]):
                chain = graph.find_shortest_chain(importer=a, imported=b, as_packages=True)
                details.append(" → ".join(chain or (a, b)))
    assert not found, "packages importing each other:\n" + "\n".join(details)


def test_no_import_circle_among_the_modules_of_a_package(graph):
    edges = {module: {m for m in graph.find_modules_directly_imported_by(module) if m in graph.modules}
             for module in graph.modules}
    new = [part for part in circles(edges) if part not in KNOWN_MODULE_CIRCLES]
    assert not new, "modules importing each other in a circle: " + "; ".join(
        " ↔ ".join(sorted(part)) for part in new)


def product_files() -> list[Path]:
    return sorted(path for package in PRODUCT if (ROOT / package).is_dir()
                  for pattern in ("*.py", "*.kv") for path in (ROOT / package).rglob(pattern)
                  if "__pycache__" not in path.parts)


def test_no_long_product_file_without_a_reason_at_its_top():
    unexplained = []
    for path in product_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_LINES and not any(REASON.match(line) for line in lines[:REASON_WITHIN]):
            unexplained.append(f"{path.relative_to(ROOT)} ({len(lines)} lines)")
    assert not unexplained, (f"over {MAX_LINES} lines, with no 'Long because: …' line in its first "
                             f"{REASON_WITHIN}: split it, or say why it must stay whole: " + ", ".join(unexplained))


def test_the_reason_convention_is_what_the_test_reads():
    assert REASON.match("Long because: the whole ESC/POS status table is one exchange.")
    assert REASON.match("# Long because: one state machine")
    assert not REASON.match("Long because:")
    assert not REASON.match("x = 1  # Long because: no")


def test_every_file_the_markers_name_exists():
    from tests.conftest import MARKED_FILES
    missing = sorted(f"{marker}: {stem}" for marker, stems in MARKED_FILES.items() for stem in stems
                     if not (ROOT / "tests" / f"{stem}.py").is_file())
    assert not missing, "tests/conftest.py MARKED_FILES names files that are gone: " + ", ".join(missing)


def test_the_hall_servers_commands_load_no_kivy_and_no_printer_library():
    """The hall role installs neither (docs/install.md): its commands must not need them."""
    import subprocess
    import sys
    code = ("import sys; from motcua_cli.main import main, parser; parser(); "
            f"main(['config', 'check', {str(ROOT / 'examples' / 'dang-kang' / 'hall.toml')!r}]); "
            "import broker.server, motcua_cli.catalog_cmd; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'kivy', 'escpos', 'PIL', 'qrcode', 'usb'}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
