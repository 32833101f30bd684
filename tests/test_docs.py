"""The docs say what the code does: docs/protocol.md, docs/config.md and docs/cli.md.

Fails when an action, an error code or its Vietnamese message, a hall.toml or
device.toml key, a `motcua` subcommand or option is missing from the docs, when
a JSON example in protocol.md is not valid JSON, or when an example has other
fields than the code produces. Pure: no Mosquitto, no network.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import hall.config as hall_config
import hall.device as hall_device
from hall.config import WEEKDAYS, load_hall
from hall.protocol import ACTIONS, ERRORS, Alarm, Request, Status
from motcua_cli.paths import EXAMPLE_HALL, ROOT

DOCS = ROOT / "docs"

# The loader calls that read a key: t.text("id", …), s.integers("counters"), root.tables("services") …
_READ_CALL = re.compile(r"\.(?:text|integer|choice|texts|integers|boolean|table|tables|has)"
                        r"\(\s*[\"']([A-Za-z0-9_]+)[\"']")
# A key named in a doc() text: "[kiosk] tickets_per_minute: …", "[device] id: …"
_DOC_KEY = re.compile(r"\[\[?([a-z_.]+)\]\]?\s+([a-z_]+):")
_SECTION = re.compile(r"`\[\[?([a-z_.]+)\]\]?`")
_INLINE = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^([ \t]*)```([A-Za-z0-9_-]*)[ \t]*\n(.*?)^\1```[ \t]*$", re.M | re.S)
_MARKED = re.compile(r"<!--\s*(example|check):\s*([^>]*?)\s*-->\s*\n")


def doc(name: str) -> str:
    path = DOCS / name
    assert path.exists(), f"docs/{name} is missing"
    return path.read_text(encoding="utf-8")


def inline_codes(text: str) -> set[str]:
    return set(_INLINE.findall(text))


def fenced_blocks(text: str) -> list[tuple[int, str, str]]:
    """(offset, language, body) of every fenced block, indented ones (in lists) included."""
    out = []
    for m in _FENCE.finditer(text):
        indent = m.group(1)
        body = "\n".join(line[len(indent):] if line.startswith(indent) else line
                         for line in m.group(3).split("\n"))
        out.append((m.start(), m.group(2), body))
    return out


def marked_blocks(text: str, kind: str) -> dict[str, list[str]]:
    """Bodies of the fenced blocks right after `<!-- example: NAME -->` (or `check:`), by NAME."""
    blocks = {start: body for start, _, body in fenced_blocks(text)}
    out: dict[str, list[str]] = {}
    for m in _MARKED.finditer(text):
        if m.group(1) != kind:
            continue
        assert m.end() in blocks, f"<!-- {kind}: {m.group(2)} --> is not followed by a fenced block"
        out.setdefault(m.group(2), []).append(blocks[m.end()])
    return out


def sections(text: str) -> list[tuple[str, int, str]]:
    """(heading, level, body up to the next heading of the same or a higher level)."""
    heads = [(m.start(), len(m.group(1)), m.group(2)) for m in re.finditer(r"^(#+)[ \t]+(.*)$", text, re.M)]
    out = []
    for i, (start, level, title) in enumerate(heads):
        end = next((s for s, lv, _ in heads[i + 1:] if lv <= level), len(text))
        out.append((title, level, text[start:end]))
    return out


def shape(value, path: str = "") -> set[str]:
    """Every key path in a JSON value ('services[].counters'); list items are merged."""
    paths = set()
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{path}.{k}" if path else k
            paths.add(p)
            paths |= shape(v, p)
    elif isinstance(value, list):
        for item in value:
            paths |= shape(item, f"{path}[]")
    return paths


# --- protocol.md -------------------------------------------------------------

def test_every_action_has_a_section():
    text = doc("protocol.md")
    codes = inline_codes(text)
    missing = [a for a in ACTIONS if a not in codes
               or not re.search(rf"^#+ .*`{re.escape(a)}`", text, re.M)]
    assert not missing, f"actions of hall/protocol.py ACTIONS missing from docs/protocol.md " \
                        f"(need `{missing[0]}` and a '### `{missing[0]}`' section): {missing}"


def test_every_error_code_and_its_vietnamese_message():
    text = doc("protocol.md")
    codes = inline_codes(text)
    rows = [line for line in text.splitlines() if line.lstrip().startswith("|")]
    problems = []
    for code, (vietnamese, _english) in ERRORS.items():
        if code not in codes:
            problems.append(f"`{code}` is not in docs/protocol.md")
        elif not any(f"`{code}`" in row and vietnamese in row for row in rows):
            problems.append(f"no table row has `{code}` with its message exactly: {vietnamese!r}")
    assert not problems, "\n".join(problems)


def test_json_examples_are_valid_json():
    text = doc("protocol.md")
    blocks = [(start, body) for start, lang, body in fenced_blocks(text) if lang == "json"]
    assert len(blocks) >= 10, "docs/protocol.md should show its payloads as ```json blocks"
    bad = []
    for start, body in blocks:
        line = text.count("\n", 0, start) + 1
        try:
            obj = json.loads(body)
        except ValueError as err:
            bad.append(f"line {line}: {err}")
            continue
        if not isinstance(obj, dict) or obj.get("v") != 1:
            bad.append(f"line {line}: a payload must be a JSON object with \"v\": 1")
    assert not bad, "JSON examples in docs/protocol.md:\n" + "\n".join(bad)


def _engine_run():
    """Every payload and reply the code makes, from the example hall kept open all week."""
    from broker.engine import Engine
    from broker.model import Device
    from broker.page_code import hall_key
    from hall.protocol import config_payload

    cfg = load_hall(EXAMPLE_HALL)
    cfg = dataclasses.replace(cfg, hours=dataclasses.replace(cfg.hours, week=(((0, 24 * 60),),) * 7,
                                                               closed_dates=()))
    now = datetime(2026, 11, 25, 9, 0, tzinfo=ZoneInfo(cfg.timezone)).timestamp()
    engine = Engine(cfg, now, hall_key("the docs"))   # as a hall server runs it: with ticket page codes
    svc = cfg.services[0]
    counter = svc.counters[0]
    kiosk, pad = Device("kiosk-1", "kiosk"), Device("pad", "counter", counter)
    data: dict[str, dict] = {}
    calls = []

    def act(device, action, **args):
        nonlocal now
        now += 30
        out = engine.handle(device, Request(f"r{now}", action, args), now)
        calls.extend(out.calls)
        data[action] = out.data.to_dict()
        return data[action]

    for _ in range(3):
        act(kiosk, "take-ticket", service=svc.id)
    ticket = act(pad, "call-next", counter=counter)["ticket_id"]
    act(pad, "recall", counter=counter)
    act(pad, "serve", counter=counter)
    act(pad, "finish", counter=counter)
    act(pad, "rate", counter=counter, ticket_id=ticket, score=1)
    act(pad, "call-next", counter=counter)
    skipped = act(pad, "skip", counter=counter)["ticket"]
    act(pad, "call-next", counter=counter)
    act(pad, "transfer", counter=counter, service=svc.id)
    act(pad, "pause", counter=counter)
    act(pad, "resume", counter=counter)
    act(pad, "call-next", counter=counter)
    act(pad, "call-ticket", counter=counter, ticket=skipped)   # the skipped citizen came back
    assert set(data) == set(ACTIONS), (
        f"actions {sorted(set(ACTIONS) - set(data))} are not run by this test's scenario: add a step "
        "here, and a '<!-- example: reply ACTION -->' block and a section to docs/protocol.md")
    payloads = {
        "config": json.loads(config_payload(cfg)),
        "board": json.loads(engine.board(now, 1).to_payload()),
        "called": json.loads(calls[0].to_payload()),
        # A device's status has no alarms; the hall server's own has them when there are any.
        "status": {"v": 1, **{f.name: "x" for f in dataclasses.fields(Status) if f.name != "alarms"}},
        "status server": json.loads(Status("online", "server", "0.1.0", None, (
            Alarm("disk_low", "x", "x"),)).to_payload()),
    }
    return payloads, data


def test_examples_have_the_fields_the_code_produces():
    text = doc("protocol.md")
    examples = marked_blocks(text, "example")
    payloads, data = _engine_run()
    problems = []

    def compare(name: str, got: dict, want: dict):
        extra, missing = shape(got) - shape(want), shape(want) - shape(got)
        if extra or missing:
            problems.append(f"example {name!r}: fields not produced by the code {sorted(extra)}, "
                            f"fields the code produces but the example lacks {sorted(missing)}")

    for name, want in payloads.items():
        if name not in examples:
            problems.append(f"no '<!-- example: {name} -->' block")
            continue
        compare(name, json.loads(examples[name][0]), want)

    request = examples.get("request")
    if not request:
        problems.append("no '<!-- example: request -->' block")
    else:
        req = json.loads(request[0])
        allowed = {"v", "id"}.union(*(a.args for a in ACTIONS.values()))
        if not set(req) <= allowed or not {"v", "id"} <= set(req):
            problems.append(f"request example has fields {sorted(req)}; allowed: {sorted(allowed)}")

    for action in ACTIONS:
        blocks = examples.get(f"reply {action}")
        if not blocks:
            problems.append(f"no '<!-- example: reply {action} -->' block with a successful reply")
            continue
        reply = json.loads(blocks[0])
        if set(reply) != {"v", "id", "ok", "data"} or reply["ok"] is not True:
            problems.append(f"reply {action}: a successful reply has exactly v, id, ok: true, data")
            continue
        compare(f"reply {action}", reply["data"], data[action])
    assert not problems, "\n".join(problems)


# --- config.md -----------------------------------------------------------------

def documented_keys(text: str) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """{section: keys in its tables} for hall.toml and for device.toml, from config.md's headings and tables."""
    hall_keys: dict[str, set[str]] = {}
    device_keys: dict[str, set[str]] = {}
    for title, level, body in sections(text):
        if level < 3:
            continue
        m = _SECTION.search(title)
        if not m:
            continue
        target = device_keys if "device.toml" in title else hall_keys
        keys = target.setdefault(m.group(1), set())
        for line in body.splitlines()[1:]:
            if line.startswith("#"):
                break
            if line.lstrip().startswith("|") and not re.match(r"\s*\|\s*(key|-)", line):
                first_cell = line.strip().strip("|").split("|")[0]
                keys.update(_INLINE.findall(first_cell))
    return hall_keys, device_keys


def _toml_keys(data: dict, section: str = "") -> set[tuple[str, str | None]]:
    """(section, key) of every plain key, and (section, None) of every table, in a parsed TOML file."""
    out = set()
    for key, value in data.items():
        sub = f"{section}.{key}" if section else key
        if isinstance(value, dict):
            out.add((sub, None))
            out |= _toml_keys(value, sub)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            out.add((sub, None))
            for item in value:
                out |= _toml_keys(item, sub)
        else:
            out.add((section, key))
    return out


def _doc_field_keys(module) -> list[tuple[str, str, str | None]]:
    """(dataclass.field, key, section or None) for every doc() field of the module's dataclasses."""
    out = []
    for obj in vars(module).values():
        if not (isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__):
            continue
        for f in dataclasses.fields(obj):
            text = f.metadata.get("doc")
            if text is None:
                continue
            named = _DOC_KEY.findall(text)
            if named:
                out += [(f"{obj.__name__}.{f.name}", key, section) for section, key in named]
            else:
                out.append((f"{obj.__name__}.{f.name}", f.name, None))
    return out


def test_every_hall_toml_key_is_documented():
    text = doc("config.md")
    hall_part = text.split("## device.toml")[0]
    hall_keys, _ = documented_keys(text)
    codes = inline_codes(hall_part)
    all_keys = set().union(*hall_keys.values()) | {s.rsplit(".", 1)[-1] for s in hall_keys}
    problems = []

    with open(EXAMPLE_HALL, "rb") as f:
        for section, key in sorted(_toml_keys(tomllib.load(f)), key=str):
            if key is None and section not in hall_keys:
                problems.append(f"the example's table [{section}] has no '### `[{section}]`' section")
            elif key is not None and key not in hall_keys.get(section, set()):
                problems.append(f"the example's key '{key}' of [{section}] is not in that section's table")

    source = Path(hall_config.__file__).read_text(encoding="utf-8")
    for key in sorted(set(_READ_CALL.findall(source)) | set(WEEKDAYS)):
        if key not in all_keys:
            problems.append(f"hall/config.py reads '{key}' but no table row or section of config.md names it")

    for where, key, section in _doc_field_keys(hall_config):
        if section is not None:
            if key not in hall_keys.get(section, set()):
                problems.append(f"{where}: its doc names [{section}] {key}, which config.md does not list there")
        elif key not in all_keys and key not in codes and not any(c.endswith(f".{key}") for c in codes):
            problems.append(f"{where}: '{key}' appears nowhere in config.md's hall.toml part")
    assert not problems, "docs/config.md:\n" + "\n".join(problems)


def test_every_device_toml_key_is_documented():
    text = doc("config.md")
    _, device_keys = documented_keys(text)
    assert device_keys, "config.md needs '### device.toml `[device]`' and '### device.toml `[hall]`' sections"
    all_keys = set().union(*device_keys.values()) | set(device_keys)
    problems = []
    source = Path(hall_device.__file__).read_text(encoding="utf-8")
    for key in sorted(set(_READ_CALL.findall(source))):
        if key not in all_keys:
            problems.append(f"hall/device.py reads '{key}' but config.md's device.toml part does not name it")
    for where, key, section in _doc_field_keys(hall_device):
        if key not in device_keys.get(section or "device", set()):
            problems.append(f"{where}: [{section}] {key} is not in config.md's device.toml tables")
    assert not problems, "docs/config.md:\n" + "\n".join(problems)


def test_hall_toml_examples_in_config_md_load(tmp_path):
    blocks = marked_blocks(doc("config.md"), "check").get("hall.toml", [])
    assert blocks, "config.md should keep a '<!-- check: hall.toml -->' example"
    for i, body in enumerate(blocks):
        path = tmp_path / f"hall-{i}.toml"
        path.write_text(body, encoding="utf-8")
        load_hall(path)


# --- cli.md ------------------------------------------------------------------------

def _commands(p: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(path, parser) of the parser and every subcommand parser below it."""
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, path + (name,))


def _names(codes: set[str]) -> set[str]:
    """`--config FILE` → '--config'; `-v`, `--verbose` stay as they are."""
    return {c.split()[0] for c in codes if c.strip()}


def test_every_cli_command_and_option_is_documented():
    from motcua_cli.main import parser

    text = doc("cli.md")
    everywhere = _names(inline_codes(text))
    problems = []
    for path, p in _commands(parser()):
        has_sub = any(isinstance(a, argparse._SubParsersAction) for a in p._actions)
        if path and not has_sub:
            command = "motcua " + " ".join(path)
            found = [body for title, _, body in sections(text) if f"`{command}`" in title]
            if not found:
                problems.append(f"no section '## `{command}`'")
                continue
            scope = _names(inline_codes(found[0]))
        else:
            scope = everywhere
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            names = action.option_strings or [action.dest]
            for name in names:
                if name not in scope:
                    problems.append(f"`{name}` of '{' '.join(('motcua',) + path)}' is not in its part of cli.md")
    assert not problems, "docs/cli.md:\n" + "\n".join(problems)
