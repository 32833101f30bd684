"""The MQTT contract v1: every topic, action, error code and payload type, in one table.

This is the one table of the hall's MQTT API (docs/protocol.md explains it for vendors; a
test fails when an action or error code here is missing there). Nothing outside this module
writes a topic string by hand. The payload types live in hall.payloads, the JSON envelope
and ERRORS in hall.wire; both are re-exported here, so a device imports one module.

    t = Topics("dang-kang")
    t.request("kiosk-1", "take-ticket")   # 'motcua/dang-kang/request/kiosk-1/take-ticket'
    t.kind("motcua/dang-kang/board")         # 'board': PAYLOADS["board"] is Board
    decode_message(topic, payload)        # Board / Call / Config / Catalog / Status / Request
    req = decode_request(action, payload) # Request or ProtocolError(code, Vietnamese message)
    decode_reply("take-ticket", payload)  # Reply whose data is a TicketIssued
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hall.catalog import Catalog
from hall.payloads import (
    NO_PRINTER,
    PRINTER_STATES,
    Alarm,
    Board,
    Call,
    CallRow,
    CategoryInfo,
    Config,
    CounterHeld,
    CounterInfo,
    CounterPaused,
    CounterRow,
    HallInfo,
    HoursInfo,
    KioskInfo,
    PriorityInfo,
    Rated,
    RatingInfo,
    RatingScreenInfo,
    ReasonInfo,
    Reply,
    ReplyData,
    ReplyError,
    ServiceInfo,
    ServiceRow,
    Status,
    TicketIssued,
    TicketState,
)
from hall.wire import ERRORS, MAX_PAYLOAD, TRANSIENT, VERSION, Fields, ProtocolError, decode, encode
from hall.wire import loads as _loads

if TYPE_CHECKING:
    from hall.config import HallConfig

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

    def kind(self, topic: str) -> str | None:
        """What a topic of this hall carries: a key of PAYLOADS, 'request' or 'reply'; None if not ours."""
        parts = topic.split("/")
        if len(parts) < 3 or parts[:2] != ["motcua", self.hall]:
            return None
        if len(parts) == 3 and parts[2] in PAYLOADS:
            return parts[2]
        if self.parse_status(topic) is not None:
            return "status"
        if self.parse_request(topic) is not None:
            return "request"
        if len(parts) == 4 and parts[2] == "reply":
            return "reply"
        return None


# --- actions ---------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    role: str                 # the device role allowed to send it
    args: dict[str, tuple]    # name -> (accepted types, required)
    summary: str
    reply: type[ReplyData]    # the type of a successful reply's `data` (hall.payloads)


_COUNTER = {"counter": ((int,), True)}
ACTIONS: dict[str, Action] = {
    "take-ticket": Action("kiosk", {"service": ((str,), True), "priority": ((str, type(None)), False)},
                          "issue a ticket for a service (priority: a category id or null)", TicketIssued),
    "call-next": Action("counter", _COUNTER, "finish the counter's current ticket and call the next one",
                        TicketState),
    # `ticket` is the printed label ("1004"), `ticket_id` the id ("20261125-1004"): one of them, or both agreeing.
    "call-ticket": Action("counter", {**_COUNTER, "ticket": ((str,), False), "ticket_id": ((str,), False)},
                          "finish the counter's current ticket and call the one named (a waiting ticket out of "
                          "turn, or a no-show who came back)", TicketState),
    "recall": Action("counter", _COUNTER, "call the counter's current ticket again", TicketState),
    "serve": Action("counter", _COUNTER, "the called citizen has arrived: start serving", TicketState),
    "skip": Action("counter", _COUNTER, "the called citizen did not come: mark a no-show", TicketState),
    "finish": Action("counter", _COUNTER, "finish serving the current ticket", TicketState),
    "transfer": Action("counter", {**_COUNTER, "service": ((str,), False), "to_counter": ((int,), False)},
                       "send the current ticket to another service's line or to another counter", TicketState),
    "pause": Action("counter", _COUNTER, "stop calling at this counter (the clerk steps away)", CounterPaused),
    "resume": Action("counter", _COUNTER, "start calling again", CounterPaused),
    # `ticket_id` names the ticket everywhere else; v1 still accepts the first name, `ticket`
    # (which elsewhere is the printed label): rated_ticket() settles the two.
    "rate": Action("counter", {**_COUNTER, "ticket_id": ((str,), False), "ticket": ((str,), False),
                               "score": ((int,), True), "reason": ((str,), False)},
                   "record the citizen's satisfaction with a ticket served at this counter (reason: for a "
                   "low score, one of config.rating_screen.reasons)", Rated),
}


def rated_ticket(ticket_id: str | None, ticket: str | None) -> str:
    """The ticket id a `rate` names: `ticket_id`, or in v1 the old `ticket`; one of them, not two different."""
    if ticket_id is None and ticket is None:
        raise ProtocolError("bad_request", "missing 'ticket_id'")
    if ticket_id is not None and ticket is not None and ticket_id != ticket:
        raise ProtocolError("bad_request", "'ticket_id' and 'ticket' (its old name) name different tickets")
    return ticket_id if ticket_id is not None else ticket   # type: ignore[return-value]


# --- envelopes -------------------------------------------------------------

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


def decode_request(action: str, payload: bytes, actions: dict[str, Action] | None = None) -> Request:
    """Check envelope and arguments of one request; raises ProtocolError (with `rid` when readable).

    `actions`: the table to check against, ACTIONS unless told (the hall server's web pages have
    a few actions of their own, broker.web_actions, checked the same way)."""
    try:
        obj = decode(payload)
    except ProtocolError as err:
        err.rid = salvage_id(payload) if err.code == "bad_version" else None
        raise
    rid = request_id(obj)
    if rid is None:
        raise ProtocolError("bad_request", "'id' must be a text of 1-64 characters")
    try:
        return Request(rid, action, _arguments(action, obj, ACTIONS if actions is None else actions))
    except ProtocolError as err:
        err.rid = rid
        raise


def _arguments(action: str, obj: dict[str, Any], actions: dict[str, Action]) -> dict[str, Any]:
    spec = actions.get(action)
    if spec is None:
        raise ProtocolError("unknown_action", action[:64])
    args = {}
    for name, (types, required) in spec.args.items():
        if name not in obj:
            if required:
                raise ProtocolError("bad_request", f"missing '{name}'")
            continue
        value = obj[name]
        # JSON's true is a Python int too: a bool counts only where the table asks for one.
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise ProtocolError("bad_request", f"'{name}' has the wrong type")
        if isinstance(value, str) and len(value) > 64:
            raise ProtocolError("bad_request", f"'{name}' is too long")
        args[name] = value
    return args


def reply_ok(rid: str | None, data: ReplyData | dict[str, Any]) -> dict[str, Any]:
    """A successful reply as a dict (encode() it); `data` typed (hall.payloads) or already a dict."""
    return {"id": rid, "ok": True, "data": data if isinstance(data, dict) else data.to_dict()}


def reply_error(rid: str | None, err: ProtocolError) -> dict[str, Any]:
    return Reply.refusal(rid, err).to_dict()


def decode_reply(action: str, payload: bytes) -> Reply:
    """A reply to `action`, its data typed by ACTIONS[action].reply; ProtocolError on a bad shape."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise ProtocolError("unknown_action", action[:64])
    return Reply.from_payload(payload, spec.reply)


# --- the table: which payload type each topic carries -------------------------------

# Topic kind (Topics.kind) → the type of its payload; requests are decode_request's, replies
# decode_reply's (the data's type depends on the action asked, which the reply topic does not say).
Broadcast = Config | Catalog | Board | Call | Status
PAYLOADS: dict[str, type[Broadcast]] = {"config": Config, "catalog": Catalog, "board": Board, "called": Call,
                                        "status": Status}

Message = Broadcast | Request


def decode_message(topic: str, payload: bytes) -> Message:
    """The typed payload of a message on any hall's topic; ProtocolError if it is not one of the contract."""
    parts = topic.split("/")
    kind = Topics(parts[1]).kind(topic) if len(parts) >= 3 and parts[0] == "motcua" else None
    if kind == "request":
        return decode_request(parts[4], payload)
    if kind is None or kind == "reply":
        raise ProtocolError("bad_request", f"{topic[:120]!r} is not a topic whose payload can be read alone"
                            + (" (use decode_reply with the action asked)" if kind == "reply" else ""))
    return PAYLOADS[kind].from_payload(payload)


# --- the retained config ----------------------------------------------------

def config_dict(cfg: HallConfig) -> dict[str, Any]:
    """The retained `config` message as a dict: what every device needs to draw the hall."""
    return Config.from_hall(cfg).to_dict()


def config_payload(cfg: HallConfig) -> bytes:
    return Config.from_hall(cfg).to_payload()


__all__ = ["ACTIONS", "Action", "Alarm", "Board", "Broadcast", "Call", "CallRow", "Catalog", "CategoryInfo", "Config",
           "CounterHeld", "CounterInfo", "CounterPaused", "CounterRow", "ERRORS", "Fields", "HallInfo", "HoursInfo",
           "KioskInfo", "MAX_PAYLOAD", "Message", "NO_PRINTER", "PAYLOADS", "PRINTER_STATES", "PriorityInfo",
           "ProtocolError", "ROLES", "Rated", "RatingInfo", "RatingScreenInfo", "ReasonInfo", "Reply", "ReplyData",
           "ReplyError", "Request", "SERVER_ID", "ServiceInfo", "ServiceRow", "Status", "TRANSIENT", "TicketIssued",
           "TicketState", "Topics", "VERSION", "config_dict", "config_payload", "decode", "decode_message",
           "decode_reply", "decode_request", "encode", "rated_ticket", "request_id", "salvage_id"]
