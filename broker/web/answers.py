"""How the web adapter answers: JSON envelopes, HTTP statuses, and reading a request's body.

    ok({"counter": 2})                         # 200 {"ok": true, "data": {...}}
    refused("csrf", 403)                       # 403 {"ok": false, "error": {"code", "message", "detail"}}
    body = await json_body(request)            # a dict, or raises Refused (400, 413, 415)

Every refusal says in Vietnamese what is wrong (a clerk reads it on the page) and in English
(the log). Never a 500: the app turns anything unexpected into a 503 that says to try again.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from hall.protocol import request_id
from hall.wire import ERRORS

log = logging.getLogger("motcua.web")
MAX_BODY = 4096

# The web pages' own refusals (the engine's are hall.wire.ERRORS): code → (Vietnamese, English).
WEB_ERRORS: dict[str, tuple[str, str]] = {
    "no_session": ("Phiên làm việc đã hết. Vui lòng đăng nhập lại.", "no live session (logged out, or another day)"),
    "csrf": ("Yêu cầu không hợp lệ. Vui lòng tải lại trang.", "missing or wrong X-CSRF-Token, or a foreign Origin"),
    "not_your_counter": ("Bạn không được phân công làm việc tại quầy này.", "the clerk may not act for this counter"),
    "not_found": ("Không tìm thấy trang này.", "no such page or endpoint"),
    "wrong_method": ("Thao tác này không được hỗ trợ.", "method not allowed"),
    "bad_body": ("Yêu cầu thiếu hoặc sai thông tin.", "the body is not a JSON object"),
    "too_large": ("Yêu cầu quá lớn.", f"the body is over {MAX_BODY} bytes"),
    "busy": ("Hệ thống đang bận, vui lòng thử lại.", "the hall service did not answer in time"),
    "internal": ("Lỗi hệ thống, vui lòng thử lại.", "unexpected error"),
}

# The engine's refusal codes as HTTP statuses: the caller's fault (400), not there (404), not
# allowed (403), the hall's state says no (409), the hall server cannot now (503).
_STATUS = {"bad_json": 400, "bad_version": 400, "too_large": 413, "bad_request": 400, "unknown_action": 404,
           "unknown_device": 403, "forbidden": 403, "wrong_counter": 403, "unknown_service": 404,
           "unknown_counter": 404, "unknown_priority": 404, "unknown_ticket": 404, "counter_held": 403,
           "counter_not_held": 403, "disk_full": 503, "read_only": 503, "internal": 503}


class Refused(Exception):
    def __init__(self, code: str, status: int, message: str | None = None, detail: str | None = None, **extra: Any):
        vi, en = WEB_ERRORS.get(code) or ERRORS.get(code) or ("Yêu cầu không hợp lệ.", code)
        super().__init__(detail or en)
        self.code, self.status, self.message, self.detail, self.extra = code, status, message or vi, detail or en, extra

    def response(self) -> JSONResponse:
        return JSONResponse({"ok": False, "error": {"code": self.code, "message": self.message,
                                                    "detail": self.detail, **self.extra}},
                            status_code=self.status, headers={"Cache-Control": "no-store"})


# The pages load only their own files and talk only to their own server: a script slipped into a
# name or a reason could not load anything from elsewhere nor send anything there. Inline styles
# are allowed (the not-found page is one self-contained file); inline scripts are not.
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                           "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                                           "frame-ancestors 'none'; form-action 'self'"}


def ok(data: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"ok": True, "data": data}, headers={"Cache-Control": "no-store", **(headers or {})})


def refused(code: str, status: int, **extra: Any) -> JSONResponse:
    return Refused(code, status, **extra).response()


def from_reply(reply: dict[str, Any], status: dict[str, int] | None = None, **extra: Any) -> JSONResponse:
    """An engine reply ({"id", "ok", "data"|"error"}) as the page's answer; `status` overrides the
    HTTP status of some codes, `extra` adds keys to a refusal."""
    if reply.get("ok"):
        return ok(reply["data"])
    err = reply["error"]
    code = (status or {}).get(err["code"]) or _STATUS.get(err["code"], 409)
    return Refused(err["code"], code, err.get("message"), **extra).response()


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object (at most MAX_BODY bytes); Refused otherwise."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise Refused("too_large", 413)
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise Refused("too_large", 413)
    try:
        body = json.loads(raw or b"{}")
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused("bad_body", 400, detail="the body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused("bad_body", 400)
    return body


def tap_id(body: dict[str, Any]) -> str:
    """The request id a page sends with each tap (the same on a retry): 1-64 characters."""
    rid = request_id(body)
    if rid is None:
        raise Refused("bad_request", 400, detail="'id' must be a text of 1-64 characters (one per tap)")
    return rid


def whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refused("bad_request", 400, detail=f"'{name}' must be a whole number")
    return value
