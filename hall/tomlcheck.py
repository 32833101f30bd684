"""Read a TOML table with checks that name the file, the key and the problem.

    t = Table.load(path)              # raises ConfigError with the file name
    hall_id = t.table("hall").text("id", pattern=ID_PATTERN)
    t.done()                          # any key nobody read is an error (typos)
    line_of(path, "services[5].counters")   # tomllib gives no positions: find the key's line
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any, overload

_MISSING = object()


class ConfigError(ValueError):
    """A config file is wrong; the message names the file, the key and what is wrong."""

    def __init__(self, file: str | Path, key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        where = f": key '{key}'" if key else ""
        super().__init__(f"{file}{where}: {problem}")


class Table:
    """One TOML table, remembering which keys were read."""

    def __init__(self, file: str | Path, path: str, data: dict[str, Any]):
        self.file, self.path, self.data = file, path, data
        self._seen: set[str] = set()

    @classmethod
    def load(cls, file: str | Path) -> Table:
        path = Path(file)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(file, "", f"cannot read the file ({exc.strerror})") from None
        try:
            data = tomllib.loads(raw.decode("utf-8-sig"))  # Notepad writes a BOM
        except UnicodeDecodeError:
            raise ConfigError(file, "", "the file is not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(file, "", f"not valid TOML: {exc}") from None
        return cls(file, "", data)

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), problem)

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, default: Any) -> Any:
        self._seen.add(name)
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            # A typo of the key is the likely cause: `[hous]` for `[hours]`. Say so.
            unread = [k for k in self.data if k not in self._seen]
            typo = difflib.get_close_matches(name, unread, n=1, cutoff=0.6)
            hint = f" (there is an unknown key '{typo[0]}': a typo of '{name}'?)" if typo else ""
            raise self.error(name, f"is required but missing{hint}")
        return default

    def _typed(self, name: str, value: Any, kinds: tuple[type, ...], what: str) -> Any:
        # bool is an int in Python; a TOML `true` where a number belongs is a mistake
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(name, f"must be {what}, not {value!r}")
        if not isinstance(value, kinds):
            raise self.error(name, f"must be {what}, not {value!r}")
        return value

    @overload
    def text(self, name: str, default: None, *, pattern: str | None = None,
             allow_empty: bool = False, max_len: int = 200) -> str | None: ...

    @overload
    def text(self, name: str, default: str = ..., *, pattern: str | None = None,
             allow_empty: bool = False, max_len: int = 200) -> str: ...

    def text(self, name: str, default: Any = _MISSING, *, pattern: str | None = None,
             allow_empty: bool = False, max_len: int = 200) -> str | None:
        """The key's text; the default when it is missing (None too), ConfigError when it is required."""
        value = self._get(name, default)
        if value is None:
            return value
        value = self._typed(name, value, (str,), "text in quotes")
        if not allow_empty and not value.strip():
            raise self.error(name, "must not be empty")
        if len(value) > max_len:
            raise self.error(name, f"is longer than {max_len} characters")
        if pattern and not re.fullmatch(pattern, value):
            raise self.error(name, f"{value!r} is not allowed here (expected {pattern})")
        return value

    def integer(self, name: str, default: Any = _MISSING, *, low: int | None = None,
                high: int | None = None) -> int:
        value = self._typed(name, self._get(name, default), (int,), "a whole number")
        if low is not None and value < low:
            raise self.error(name, f"must be at least {low}, not {value}")
        if high is not None and value > high:
            raise self.error(name, f"must be at most {high}, not {value}")
        return value

    def number(self, name: str, default: Any = _MISSING, *, low: float | None = None,
               high: float | None = None) -> float:
        """A whole or decimal number (seconds, say): `2` and `0.5` are both fine."""
        value = float(self._typed(name, self._get(name, default), (int, float), "a number"))
        if low is not None and value < low:
            raise self.error(name, f"must be at least {low:g}, not {value:g}")
        if high is not None and value > high:
            raise self.error(name, f"must be at most {high:g}, not {value:g}")
        return value

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        return self._typed(name, self._get(name, default), (bool,), "true or false")

    def choice(self, name: str, options: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self.text(name, default)
        if value not in options:
            raise self.error(name, f"must be one of {', '.join(options)}, not {value!r}")
        return value

    def texts(self, name: str, default: Any = _MISSING, *, pattern: str | None = None) -> tuple[str, ...]:
        value = self._typed(name, self._get(name, default), (list, tuple), "a list of texts")
        for item in value:
            if not isinstance(item, str):
                raise self.error(name, f"must hold only texts in quotes, not {item!r}")
            if pattern and not re.fullmatch(pattern, item):
                raise self.error(name, f"{item!r} is not allowed here (expected {pattern})")
        return tuple(value)

    def integers(self, name: str, default: Any = _MISSING) -> tuple[int, ...]:
        value = self._typed(name, self._get(name, default), (list, tuple), "a list of whole numbers")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int):
                raise self.error(name, f"must hold only whole numbers, not {item!r}")
        return tuple(value)

    def table(self, name: str, *, optional: bool = False) -> Table:
        value = self._get(name, {} if optional else _MISSING)
        value = self._typed(name, value, (dict,), f"a table [{self.key(name)}]")
        return Table(self.file, self.key(name), value)

    def tables(self, name: str, *, optional: bool = False) -> list[Table]:
        value = self._get(name, [] if optional else _MISSING)
        value = self._typed(name, value, (list,), f"a list of tables [[{self.key(name)}]]")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(name, f"entry {i + 1} must be a table")
            out.append(Table(self.file, f"{self.key(name)}[{i + 1}]", item))
        return out

    def done(self) -> None:
        """Fail on keys that nobody asked for: a typo must not be silently ignored."""
        unknown = sorted(set(self.data) - self._seen)
        if unknown:
            raise self.error(unknown[0], "is not a known setting (check the spelling)")


def check(table: Table, name: str, ok: bool, problem: str) -> None:
    if not ok:
        raise table.error(name, problem)


# --- where a key is in the file (tomllib gives no positions) ----------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")


def line_of(path: str | Path, key: str) -> int | None:
    """Best effort: the 1-based line of 'procedures[3].documents[2].count' in the file, or None."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    parts = re.findall(r"([A-Za-z0-9_]+)(?:\[(\d+)\])?", key)
    if not parts:
        return None
    table, index = parts[0]
    start, end, header = 0, len(lines), None
    rest = parts[1:]
    if index or rest:   # [table] or the n-th [[table]]
        hits = [i for i, line in enumerate(lines)
                if (m := _HEADER.match(line)) and m.group(2) == table and (m.group(1) == "[[") == bool(index)]
        pick = int(index) - 1 if index else 0
        if pick >= len(hits):
            return None
        start = header = hits[pick]
        end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
        if not rest:
            return start + 1
    else:
        rest = parts
        end = next((i for i, line in enumerate(lines) if _HEADER.match(line)), len(lines))
    name, index = rest[0]
    at = next((i for i in range(start, end) if re.match(rf"\s*{name}\s*=", lines[i])), None)
    if at is None:   # a missing key: point at its table
        return header + 1 if header is not None else None
    if index:   # the n-th inline table of a list such as documents = [ {…}, {…} ]
        braces = [i for i in range(at, end) if "{" in lines[i]]
        if int(index) <= len(braces):
            return braces[int(index) - 1] + 1
    return at + 1
