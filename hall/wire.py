"""The wire of the MQTT contract v1: UTF-8 JSON objects stamped `"v": 1`, and the refusal.

    encode({"ticket": "1001"})     # b'{"v":1,"ticket":"1001"}'
    decode(payload)                # the JSON object, or ProtocolError bad_json / bad_version / too_large
    raise ProtocolError("bad_request", "missing 'service'")
    Fields(obj, "board").text("day")   # a field read by type; ProtocolError naming it when wrong

The lowest layer of hall/: hall.payloads (the message types) and hall.protocol (topics,
actions, the topic → type table) both stand on it, so neither needs to import the other.
hall.protocol re-exports every name here: devices import from hall.protocol.
"""

from __future__ import annotations

import json
import re
from typing import Any

VERSION = 1
MAX_PAYLOAD = 64 * 1024

# code -> (Vietnamese message fit to show a citizen or clerk, English for logs)
ERRORS: dict[str, tuple[str, str]] = {
    "bad_json": ("Yêu cầu không đọc được.", "payload is not a UTF-8 JSON object"),
    "bad_version": ("Thiết bị dùng phiên bản giao thức khác với máy chủ.", "missing or unsupported 'v'"),
    "too_large": ("Yêu cầu quá lớn.", "payload over 64 KiB"),
    "bad_request": ("Yêu cầu thiếu hoặc sai thông tin.", "missing or wrong argument"),
    "unknown_action": ("Thao tác này không được hỗ trợ.", "unknown action"),
    "unknown_device": ("Thiết bị chưa được đăng ký với hệ thống.", "device not in the registry"),
    "forbidden": ("Thiết bị này không được phép làm thao tác này.", "role may not do this action"),
    "wrong_counter": ("Thiết bị này chỉ được thao tác cho quầy của mình.", "device acts for another counter"),
    "unknown_service": ("Không có dịch vụ này.", "unknown service"),
    "unknown_counter": ("Không có quầy này.", "unknown counter"),
    "unknown_priority": ("Không có nhóm ưu tiên này.", "unknown priority category"),
    "unknown_ticket": ("Không tìm thấy phiếu này.", "unknown ticket"),
    "hall_closed": ("Bộ phận Một cửa đang ngoài giờ làm việc.", "outside opening hours"),
    "numbers_exhausted": ("Hôm nay đã hết số cho dịch vụ này.", "last number of the day reached"),
    "rate_limited": ("Máy vừa in phiếu. Vui lòng chờ một chút rồi thử lại.", "kiosk rate limit"),
    "queue_empty": ("Không còn công dân nào đang chờ.", "no ticket waiting for this counter"),
    "no_current_ticket": ("Quầy chưa gọi công dân nào.", "counter has no current ticket"),
    "counter_paused": ("Quầy đang tạm dừng. Bấm “Tiếp tục” trước.", "counter is paused"),
    "already_rated": ("Phiếu này đã được đánh giá.", "ticket already rated"),
    "not_rateable": ("Phiếu này chưa được phục vụ tại quầy này.", "ticket not served at this counter"),
    "not_today": ("Phiếu này không thuộc ngày làm việc hôm nay.", "ticket of another service day"),
    "ticket_closed": ("Phiếu này đã được phục vụ xong.", "ticket already finished"),
    "ticket_at_counter": ("Phiếu này đang được gọi tại một quầy khác.", "ticket is called or served at a counter"),
    "wrong_service": ("Quầy này không phục vụ phiếu này.", "ticket waits for a service or counter not this one's"),
    # Only the web pages' clerks meet these two (broker.web_actions): a device is bolted to its counter.
    "counter_held": ("Quầy này đang do cán bộ khác làm việc.", "counter held by another clerk"),
    "counter_not_held": ("Bạn chưa nhận quầy này. Hãy chọn quầy trước.", "clerk does not hold this counter"),
    "disk_full": ("Hệ thống tạm ngưng cấp số, vui lòng báo cán bộ.", "the hall server's disk is full"),
    "read_only": ("Hệ thống tạm ngưng cấp số, vui lòng báo cán bộ.", "the hall server's storage is read-only"),
    "internal": ("Lỗi hệ thống, vui lòng thử lại.", "internal error"),
}

# Refusals that say nothing about the request itself, only about the server at that moment:
# they are not stored, so a retry with the same id may get a different answer. Every other
# reply is final and stored with the request (same id, same answer — also after a crash).
TRANSIENT = frozenset({"internal", "disk_full", "read_only"})


class ProtocolError(Exception):
    """A message the hall refuses (or a device cannot read): `code` of ERRORS, `detail` in English."""

    def __init__(self, code: str, detail: str = "", message: str | None = None):
        assert code in ERRORS, code
        self.code = code
        self.detail = detail
        self.message = message or ERRORS[code][0]
        self.rid: str | None = None   # the request's id, when it could be read before the refusal
        super().__init__(f"{code}: {detail or ERRORS[code][1]}")


def encode(payload: dict[str, Any]) -> bytes:
    """JSON bytes with the version stamped; the one place payloads are written."""
    return json.dumps({"v": VERSION, **payload}, ensure_ascii=False, separators=(",", ":")).encode()


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def loads(payload: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity (Python's json accepts them, RFC 8259 does not),
    no number too large for a float, and no text that is not Unicode (a lone surrogate such
    as "\\ud800" is valid JSON syntax but cannot be stored or sent back)."""
    obj = json.loads(payload.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite)
    # A surrogate can only come from a \\uD800-\\uDFFF escape (UTF-8 bytes cannot carry one), so the
    # walk over every text is needed only when the payload has such an escape: not on the hot path.
    if _SURROGATE_ESCAPE.search(payload) and not _clean_text(obj):
        raise ValueError("text that is not Unicode")
    return obj


def _clean_text(obj: Any) -> bool:
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(obj, dict):
        return all(_clean_text(k) and _clean_text(v) for k, v in obj.items())
    if isinstance(obj, list):
        return all(_clean_text(v) for v in obj)
    return True


def decode(payload: bytes, limit: int = MAX_PAYLOAD) -> dict[str, Any]:
    """A v1 JSON object, or ProtocolError bad_json / bad_version / too_large."""
    if len(payload) > limit:
        raise ProtocolError("too_large", f"{len(payload)} bytes")
    try:
        obj = loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("bad_json") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_json", "not a JSON object")
    # The integer 1 itself: 1.0, 1e0 and true are equal to 1 in Python, but not the version.
    if type(obj.get("v")) is not int or obj["v"] != VERSION:
        raise ProtocolError("bad_version", f"v={obj.get('v')!r}")
    return obj


# --- reading a decoded object's fields ------------------------------------------------

_REQUIRED: Any = object()


class Fields:
    """One JSON object's fields read by type, every refusal a ProtocolError naming the field:

        f = Fields(obj, "board.counters[2]")
        f.text("name"), f.integer("id"), f.maybe_text("ticket"), f.each("calls", CallRow.from_dict)

    Unknown fields are ignored (later v1 servers may add some); a missing field with a default
    gives the default. `code` is the ProtocolError code a wrong shape raises.
    """

    __slots__ = ("obj", "where", "code")

    def __init__(self, obj: Any, where: str, code: str = "bad_request"):
        if not isinstance(obj, dict):
            raise ProtocolError(code, f"{where} must be a JSON object, not {_kind(obj)}")
        self.obj, self.where, self.code = obj, where, code

    def _value(self, key: str, default: Any) -> Any:
        if key in self.obj:
            return self.obj[key]
        if default is _REQUIRED:
            raise ProtocolError(self.code, f"{self.where} has no '{key}'")
        return default

    def _wrong(self, key: str, want: str) -> ProtocolError:
        return ProtocolError(self.code, f"{self.where}.{key} must be {want}, not {_kind(self.obj[key])}")

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        value = self._value(key, default)
        if not isinstance(value, str):
            raise self._wrong(key, "a text")
        return value

    def maybe_text(self, key: str) -> str | None:
        """A text or null (missing is null too)."""
        value = self.obj.get(key)
        if value is not None and not isinstance(value, str):
            raise self._wrong(key, "a text or null")
        return value

    def integer(self, key: str, default: Any = _REQUIRED) -> int:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "a whole number")
        return value

    def maybe_integer(self, key: str) -> int | None:
        value = self.obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise self._wrong(key, "a whole number or null")
        return value

    def number(self, key: str, default: Any = _REQUIRED) -> float:
        """A JSON number as it came: 12 stays an int, 12.5 a float (both are `float` to a type checker)."""
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._wrong(key, "a number")
        return value

    def maybe_number(self, key: str) -> float | None:
        """A number or null (missing is null too)."""
        value = self.obj.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise self._wrong(key, "a number or null")
        return value

    def flag(self, key: str, default: Any = _REQUIRED) -> bool:
        value = self._value(key, default)
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def sub(self, key: str) -> Fields:
        return Fields(self._value(key, _REQUIRED), f"{self.where}.{key}", self.code)

    def items(self, key: str, default: Any = _REQUIRED) -> list:
        value = self._value(key, default)
        if not isinstance(value, (list, tuple)):
            raise self._wrong(key, "a list")
        return list(value)

    def each(self, key: str, read, default: Any = _REQUIRED) -> tuple:
        """`read(Fields)` applied to every object of a list."""
        return tuple(read(Fields(v, f"{self.where}.{key}[{i}]", self.code))
                     for i, v in enumerate(self.items(key, default)))

    def texts(self, key: str, default: Any = _REQUIRED) -> tuple[str, ...]:
        values = self.items(key, default)
        if not all(isinstance(v, str) for v in values):
            raise self._wrong(key, "a list of texts")
        return tuple(values)

    def integers(self, key: str, default: Any = _REQUIRED) -> tuple[int, ...]:
        values = self.items(key, default)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise self._wrong(key, "a list of whole numbers")
        return tuple(values)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "a text", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def message_fields(payload: bytes, name: str) -> Fields:
    """The fields of one v1 message named `name` (for error details), or ProtocolError."""
    return Fields(decode(payload), name)


def as_tuple(values) -> tuple:
    """Lists given to a frozen payload stored as tuples: hashable, and equal to what decoding gives."""
    return values if isinstance(values, tuple) else tuple(values)
