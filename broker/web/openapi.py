"""The OpenAPI 3.1 document of every JSON endpoint, from the same table the app routes by.

    ENDPOINTS                 # (method, path, summary, who, body schema) — broker.web.app routes these
    document(version)         # the dict served at /api/openapi.json (docs/web.md explains it)

Written by hand, beside the routes, rather than produced by a framework from pydantic models:
the hall server has no pydantic (docs/web.md says why), and a table of a dozen rows is easy
to keep right — tests/test_web_api.py checks that every route is in it and every row is routed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broker.web.clerks import COUNTER_ACTIONS

_RID = {"type": "string", "minLength": 1, "maxLength": 64, "description": "one per tap; a retry sends the same"}
_INT = {"type": "integer"}
_STR = {"type": "string", "maxLength": 64}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required)}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    summary: str
    who: str                              # public | session | session+csrf
    body: dict[str, Any] | None = None    # JSON Schema of the request body
    stream: bool = False                  # text/event-stream, not JSON


_ACTION_BODY = _obj({"id": _RID, "ticket": _STR, "service": _STR, "to_counter": _INT}, ("id",))
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/ping", "does nothing (the benchmark's floor)", "public"),
    Endpoint("GET", "/api/hall", "the hall's config: services, counters, rating scale and reasons", "public"),
    Endpoint("GET", "/api/staff", "who may log in (names for the login list)", "public"),
    Endpoint("GET", "/api/login/nonce", "a single-use login form token (10 minutes)", "public"),
    Endpoint("POST", "/api/login", "log in with a PIN; sets the session cookie", "public",
             _obj({"staff": _INT, "pin": {"type": "string", "maxLength": 128}, "nonce": _STR},
                  ("staff", "pin", "nonce"))),
    Endpoint("GET", "/api/me", "the session: staff, CSRF token, counter held, service day", "session"),
    Endpoint("POST", "/api/logout", "release the counter held and end the session", "session+csrf", _obj({})),
    Endpoint("GET", "/api/counters", "every counter, who holds it, whether this clerk may act there", "session"),
    Endpoint("GET", "/api/counters/{counter}", "one counter: the ticket served, its lines, today's figures",
             "session"),
    Endpoint("POST", "/api/counters/{counter}/hold", "take the counter (take_over: from the clerk holding it)",
             "session+csrf", _obj({"id": _RID, "take_over": {"type": "boolean"}}, ("id",))),
    Endpoint("POST", "/api/counters/{counter}/release", "leave the counter", "session+csrf",
             _obj({"id": _RID}, ("id",))),
    *(Endpoint("POST", f"/api/counters/{{counter}}/{a}", f"the MQTT action {a} for this counter", "session+csrf",
               _ACTION_BODY) for a in COUNTER_ACTIONS),
    Endpoint("GET", "/api/live", "the clerk's live stream: counter, counters, call, ended", "session", stream=True),
    Endpoint("GET", "/api/tickets/{code}", "a ticket's page: its number, place and estimate", "public"),
    Endpoint("GET", "/api/tickets/{code}/live", "the ticket's live stream: ticket, gone", "public", stream=True),
    Endpoint("POST", "/api/tickets/{code}/rate", "the citizen's rating of their finished ticket", "public",
             _obj({"id": _RID, "score": _INT, "reason": _STR}, ("id", "score"))),
    Endpoint("GET", "/api/openapi.json", "this document", "public"),
)

_ENVELOPE_OK = _obj({"ok": {"const": True}, "data": {"type": "object"}}, ("ok", "data"))
_ENVELOPE_ERR = _obj({"ok": {"const": False}, "error": _obj(
    {"code": {"type": "string"}, "message": {"type": "string", "description": "Vietnamese, fit to show"},
     "detail": {"type": "string", "description": "English"}, "minutes": _INT, "tries_left": _INT},
    ("code", "message", "detail"))}, ("ok", "error"))


def _operation(e: Endpoint) -> dict[str, Any]:
    params = [{"name": p, "in": "path", "required": True,
               "schema": {"type": "integer"} if p == "counter" else {"type": "string", "maxLength": 64}}
              for p in ("counter", "code") if "{" + p + "}" in e.path]
    ok_content = {"text/event-stream": {"schema": {"type": "string"}}} if e.stream else \
        {"application/json": {"schema": _ENVELOPE_OK}}
    responses: dict[str, Any] = {"200": {"description": "done", "content": ok_content}}
    for code, what in (("400", "bad body"), ("401", "no session / wrong PIN"), ("403", "not allowed / CSRF"),
                       ("404", "no such counter, ticket or action"), ("409", "the hall's state says no"),
                       ("413", "body too large"), ("429", "locked out"), ("503", "the hall server cannot now")):
        responses[code] = {"description": what, "content": {"application/json": {"schema": _ENVELOPE_ERR}}}
    op: dict[str, Any] = {"summary": e.summary, "parameters": params, "responses": responses,
                          "x-motcua-auth": e.who}
    if e.who != "public":
        op["security"] = [{"session": []}]
    if e.who == "session+csrf":
        op["parameters"] = [*params, {"name": "X-CSRF-Token", "in": "header", "required": True,
                                      "schema": {"type": "string"}}]
    if e.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": e.body}}}
    return op


def document(version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for e in ENDPOINTS:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
    return {"openapi": "3.1.0",
            "info": {"title": "motcua hall server", "version": version,
                     "description": "The clerk's handheld page and the ticket page's JSON API (docs/web.md)."},
            "paths": paths,
            "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie",
                                                           "name": "motcua_session"}}}}
