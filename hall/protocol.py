"""The MQTT contract v1: every topic, action, error code and payload shape.

This is the one table of the hall's MQTT API (docs/protocol.md explains it
for vendors; a test fails when an action or error code here is missing there).
Nothing outside this module writes a topic string by hand.

    t = Topics("cu-kty")
    t.request("kiosk-1", "take-ticket")   # 'motcua/cu-kty/request/kiosk-1/take-ticket'
    req = decode_request(payload)         # Request or ProtocolError(code, Vietnamese message)
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hall.config import HallConfig

VERSION = 1
MAX_PAYLOAD = 64 * 1024
SERVER_ID = "hall"  # the hall service's own status: device/hall/status
ROLES = ("kiosk", "counter", "display")


class Topics:
    """Topic names of one hall."""

    def __init__(self, hall: str):
        self.hall = hall
        self.root = f"motcua/{hall}"
        self.config = f"{self.root}/config"
        self.catalog = f"{self.root}/catalog"
        self.board = f"{self.root}/board"
        self.called = f"{self.root}/called"
        self.requests = f"{self.root}/request/+/+"
        self.statuses = f"{self.root}/device/+/status"
        self.server_status = self.status(SERVER_ID)

    def status(self, device: str) -> str:
        return f"{self.root}/device/{device}/status"

    def request(self, device: str, action: str) -> str:
        return f"{self.root}/request/{device}/{action}"

    def reply(self, device: str) -> str:
        return f"{self.root}/reply/{device}"

    def parse_request(self, topic: str) -> tuple[str, str] | None:
        """(device, action) of a request topic, or None when the topic is not one."""
        parts = topic.split("/")
        if len(parts) == 5 and parts[:3] == ["motcua", self.hall, "request"]:
            return parts[3], parts[4]
        return None

    def parse_status(self, topic: str) -> str | None:
        parts = topic.split("/")
        if len(parts) == 5 and parts[:3] == ["motcua", self.hall, "device"] and parts[4] == "status":
            return parts[3]
        return None


# --- actions ---------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    role: str                 # the device role allowed to send it
    args: dict[str, tuple]    # name -> (accepted types, required)
    summary: str


_COUNTER = {"counter": ((int,), True)}
ACTIONS: dict[str, Action] = {
    "take-ticket": Action("kiosk", {"service": ((str,), True), "priority": ((str, type(None)), False)},
                          "issue a ticket for a service (priority: a category id or null)"),
    "call-next": Action("counter", _COUNTER, "finish the counter's current ticket and call the next one"),
    "recall": Action("counter", _COUNTER, "call the counter's current ticket again"),
    "serve": Action("counter", _COUNTER, "the called citizen has arrived: start serving"),
    "skip": Action("counter", _COUNTER, "the called citizen did not come: mark a no-show"),
    "finish": Action("counter", _COUNTER, "finish serving the current ticket"),
    "transfer": Action("counter", {**_COUNTER, "service": ((str,), False), "to_counter": ((int,), False)},
                       "send the current ticket to another service's line or to another counter"),
    "pause": Action("counter", _COUNTER, "stop calling at this counter (the clerk steps away)"),
    "resume": Action("counter", _COUNTER, "start calling again"),
    "rate": Action("counter", {**_COUNTER, "ticket": ((str,), True), "score": ((int,), True)},
                   "record the citizen's satisfaction with a ticket served at this counter"),
}


# --- errors ----------------------------------------------------------------

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
    "disk_full": ("Hệ thống tạm ngưng cấp số, vui lòng báo cán bộ.", "the hall server's disk is full"),
    "internal": ("Lỗi hệ thống, vui lòng thử lại.", "internal error"),
}

# Refusals that say nothing about the request itself, only about the server at that moment:
# they are not stored, so a retry with the same id may get a different answer. Every other
# reply is final and stored with the request (same id, same answer — also after a crash).
TRANSIENT = frozenset({"internal", "disk_full"})


class ProtocolError(Exception):
    """A request the hall refuses; becomes an error reply and changes nothing."""

    def __init__(self, code: str, detail: str = "", message: str | None = None):
        assert code in ERRORS, code
        self.code = code
        self.detail = detail
        self.message = message or ERRORS[code][0]
        self.rid: str | None = None   # the request's id, when it could be read before the refusal
        super().__init__(f"{code}: {detail or ERRORS[code][1]}")


# --- envelopes -------------------------------------------------------------

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


def _loads(payload: bytes) -> Any:
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


def decode(payload: bytes) -> dict[str, Any]:
    """A v1 JSON object, or ProtocolError bad_json / bad_version / too_large."""
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError("too_large", f"{len(payload)} bytes")
    try:
        obj = _loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ProtocolError("bad_json") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_json", "not a JSON object")
    # The integer 1 itself: 1.0, 1e0 and true are equal to 1 in Python, but not the version.
    if type(obj.get("v")) is not int or obj["v"] != VERSION:
        raise ProtocolError("bad_version", f"v={obj.get('v')!r}")
    return obj


@dataclass(frozen=True)
class Request:
    id: str
    action: str
    args: dict[str, Any]


def request_id(obj: dict[str, Any]) -> str | None:
    """The request id if it is usable (a short text), else None."""
    rid = obj.get("id")
    return rid if isinstance(rid, str) and 0 < len(rid) <= 64 else None


def salvage_id(payload: bytes) -> str | None:
    """The id of a request we refuse, if one can be read at all, so the device can match the error."""
    if len(payload) > MAX_PAYLOAD:
        return None
    try:
        obj = _loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return request_id(obj) if isinstance(obj, dict) else None


def decode_request(action: str, payload: bytes) -> Request:
    """Check envelope and arguments of one request; raises ProtocolError (with `rid` when readable)."""
    try:
        obj = decode(payload)
    except ProtocolError as err:
        err.rid = salvage_id(payload) if err.code == "bad_version" else None
        raise
    rid = request_id(obj)
    if rid is None:
        raise ProtocolError("bad_request", "'id' must be a text of 1-64 characters")
    try:
        return Request(rid, action, _arguments(action, obj))
    except ProtocolError as err:
        err.rid = rid
        raise


def _arguments(action: str, obj: dict[str, Any]) -> dict[str, Any]:
    spec = ACTIONS.get(action)
    if spec is None:
        raise ProtocolError("unknown_action", action[:64])
    args = {}
    for name, (types, required) in spec.args.items():
        if name not in obj:
            if required:
                raise ProtocolError("bad_request", f"missing '{name}'")
            continue
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, types):
            raise ProtocolError("bad_request", f"'{name}' has the wrong type")
        if isinstance(value, str) and len(value) > 64:
            raise ProtocolError("bad_request", f"'{name}' is too long")
        args[name] = value
    return args


def reply_ok(rid: str | None, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": rid, "ok": True, "data": data}


def reply_error(rid: str | None, err: ProtocolError) -> dict[str, Any]:
    return {"id": rid, "ok": False, "error": {"code": err.code, "message": err.message}}


# --- messages the hall publishes ------------------------------------------

@dataclass(frozen=True)
class Call:
    """One call of a ticket to a counter (topic `called`)."""
    seq: int
    ticket: str       # the label read aloud and shown: '1023', 'A007'
    ticket_id: str
    counter: int
    service: str
    recall: bool
    at: float
    priority: str | None = None

    def to_payload(self) -> bytes:
        return encode(asdict(self))

    @classmethod
    def from_payload(cls, payload: bytes) -> "Call":
        obj = decode(payload)
        return cls(**{k: obj[k] for k in cls.__dataclass_fields__ if k in obj})


# Status.printer: what a kiosk's printer is doing. A kiosk whose device.toml has no [printer]
# says "not_configured": it issues numbers on screen but prints nothing, and staff must see that as
# plainly as "paper_out" (an addition within v1: the server stores the text as sent).
PRINTER_STATES = ("ok", "paper_low", "paper_out", "cover_open", "offline", "not_configured")
NO_PRINTER = "not_configured"


@dataclass(frozen=True)
class Status:
    """A device's retained status (topic `device/{id}/status`)."""
    state: str                  # 'online' | 'offline'
    role: str = ""
    version: str = ""
    printer: str | None = None  # kiosks: one of PRINTER_STATES; None for devices without a printer

    def to_payload(self) -> bytes:
        return encode({k: v for k, v in asdict(self).items() if v not in (None, "")})

    @classmethod
    def from_payload(cls, payload: bytes) -> "Status":
        obj = decode(payload)
        state = obj.get("state")
        if state not in ("online", "offline"):
            raise ProtocolError("bad_request", "'state' must be online or offline")
        printer = obj.get("printer")
        return cls(state, str(obj.get("role", ""))[:32], str(obj.get("version", ""))[:32],
                   printer if isinstance(printer, str) else None)


@dataclass(frozen=True)
class Board:
    """The whole board (topic `board`, retained); see docs/protocol.md for each field."""
    seq: int
    day: str
    at: float
    open: bool
    counters: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def to_payload(self) -> bytes:
        # Not asdict(): it deep-copies every list, and the board is built on the hot path.
        return encode({"seq": self.seq, "day": self.day, "at": self.at, "open": self.open,
                       "counters": self.counters, "services": self.services, "calls": self.calls})

    @classmethod
    def from_payload(cls, payload: bytes) -> "Board":
        obj = decode(payload)
        return cls(**{k: obj[k] for k in cls.__dataclass_fields__ if k in obj})


# --- the retained config ----------------------------------------------------

def config_dict(cfg: HallConfig) -> dict[str, Any]:
    """The retained `config` message as a dict: what every device needs to draw the hall."""
    return {
        "hall": {"id": cfg.id, "name": cfg.name, "name_en": cfg.name_en, "timezone": cfg.timezone,
                 "lookup_url": cfg.lookup_url},
        "services": [{"id": s.id, "name": s.name, "name_en": s.name_en, "prefix": s.prefix,
                      "first": s.first, "last": s.last, "counters": list(s.counters)} for s in cfg.services],
        "counters": [{"id": c.id, "name": c.name, "name_en": c.name_en} for c in cfg.counters],
        "hours": {"reset_hour": cfg.hours.reset_hour, "text": cfg.hours.describe(),
                  "week": [[[a, b] for a, b in day] for day in cfg.hours.week],
                  "closed_dates": [d.isoformat() for d in cfg.hours.closed_dates]},
        "priority": {"policy": cfg.priority.policy, "every": cfg.priority.every,
                     "categories": [{"id": c.id, "name": c.name, "name_en": c.name_en}
                                    for c in cfg.priority.categories]},
        "rating": [{"score": r.score, "name": r.name, "name_en": r.name_en} for r in cfg.rating],
        "notice": cfg.notice,
        "kiosk": {"tickets_per_minute": cfg.kiosk_tickets_per_minute, "ticket_footer": cfg.ticket_footer},
    }


def config_payload(cfg: HallConfig) -> bytes:
    return encode(config_dict(cfg))
