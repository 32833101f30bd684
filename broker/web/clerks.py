"""The clerk's handheld page's endpoints: login, the session, the counters and their actions.

Authority, in order, for every state-changing request: a live session of today's service day
(the cookie), its CSRF token in the X-CSRF-Token header (and no foreign Origin), the clerk may
act for that counter (staff.db, read again at each request: a change of counters takes effect at
once), and then the engine's own rule that the clerk holds the counter (broker.web_actions), so
a hand-made request for a counter another clerk holds is refused like a tap would be.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from broker.model import Device
from broker.staff import StaffMember
from broker.web.answers import Refused, from_reply, json_body, ok, tap_id, whole
from broker.web.sessions import LoginRefused, Session
from broker.web.views import counter_choices, counter_view, held_by, held_counter

if TYPE_CHECKING:
    from broker.web.app import WebApp

log = logging.getLogger("motcua.web")
COOKIE = "motcua_session"
# The counter actions a page may send (POST /api/counters/{n}/{action}); their arguments are the
# MQTT contract's, checked by the same hall.protocol.decode_request.
COUNTER_ACTIONS = ("call-next", "call-ticket", "recall", "serve", "skip", "finish", "transfer", "pause", "resume")


def staff_json(member: Any) -> dict[str, Any]:
    return {"id": member.id, "name": member.name, "role": member.role, "counters": list(member.counters)}


class Clerks:
    def __init__(self, app: WebApp):
        self.app = app

    # --- who is asking ----------------------------------------------------------

    def session(self, request: Request) -> Session:
        s = self.app.sessions.find(request.cookies.get(COOKIE), self.app.day())
        if s is None:
            raise Refused("no_session", 401)
        # `motcua staff disable` and `reset-pin` take effect at the next request, not tomorrow: a PIN
        # is reset because someone else may know it.
        member = self.app.sessions.member(s.staff)
        if member is None or member.disabled or member.pin_changed_at > s.created_at:
            self.app.sessions.end(s)
            raise Refused("no_session", 401, detail=f"staff {s.staff} disabled or PIN reset since the login")
        request.state.member = member   # read once a request: the endpoints' own checks use this one
        return s

    def changing(self, request: Request) -> Session:
        """The session of a state-changing request, its CSRF token checked."""
        s = self.session(request)
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
            raise Refused("csrf", 403, detail=f"foreign Origin {origin[:80]!r}")
        if not hmac.compare_digest(request.headers.get("x-csrf-token", "").encode(), s.csrf.encode()):
            raise Refused("csrf", 403)
        return s

    def counter_id(self, request: Request) -> int:
        text = request.path_params["counter"]
        if not text.isdigit() or len(text) > 3 or self.app.cfg.counter(int(text)) is None:
            raise Refused("unknown_counter", 404, detail=f"no counter {text[:10]!r}")
        return int(text)

    @staticmethod
    def member(request: Request) -> StaffMember:
        """The member whose session() this request passed (live, not disabled)."""
        return request.state.member

    def member_at(self, request: Request, counter: int) -> StaffMember:
        member = self.member(request)
        if not member.may_act_for(counter):
            raise Refused("not_your_counter", 403, detail=f"staff {member.id} may not act for counter {counter}")
        return member

    # --- login ------------------------------------------------------------------

    async def staff_list(self, request: Request) -> Response:
        members = await run_in_threadpool(self.app.sessions.members)
        return ok({"staff": [{"id": m.id, "name": m.name, "role": m.role} for m in members]})

    async def nonce(self, request: Request) -> Response:
        return ok({"nonce": self.app.sessions.nonce()})

    async def login(self, request: Request) -> Response:
        body = await json_body(request)
        staff, pin, nonce = body.get("staff"), body.get("pin"), body.get("nonce")
        staff = whole(staff, "staff")
        if not isinstance(pin, str) or not 1 <= len(pin) <= 128 or not isinstance(nonce, str) or len(nonce) > 64:
            raise Refused("bad_request", 400, "Vui lòng nhập mã PIN.", "'pin' and 'nonce' must be texts")
        address = request.client.host if request.client else "?"
        # The first login of a day closes the sessions of the days before (kept as rows, for the record).
        await run_in_threadpool(self.app.sessions.end_days_before, self.app.day())
        try:
            token, s = await run_in_threadpool(self.app.sessions.login, staff, pin, nonce, address, self.app.day())
        except LoginRefused as err:
            log.info("login refused for staff %s from %s: %s", staff, address, err)
            extra = {k: v for k, v in (("minutes", err.minutes), ("tries_left", err.tries_left)) if v is not None}
            raise Refused(err.code, err.status, err.vi, str(err), **extra) from None
        member = self.app.sessions.member(s.staff)
        log.info("staff %s logged in from %s", s.staff, address)
        response = ok({"staff": staff_json(member), "csrf": s.csrf})
        response.set_cookie(COOKIE, token, max_age=24 * 3600, httponly=True, samesite="strict", path="/")
        return response

    async def me(self, request: Request) -> Response:
        s = self.session(request)
        member = self.member(request)
        held = await self.app.desk.read(lambda e, now: held_counter(e, s.staff))
        return ok({"staff": staff_json(member), "csrf": s.csrf, "counter": held, "day": s.day})

    async def logout(self, request: Request) -> Response:
        s = self.changing(request)
        await self.let_go(s, keep=None)
        self.app.sessions.end(s)
        log.info("staff %s logged out", s.staff)
        response = ok({})
        response.delete_cookie(COOKIE, path="/")
        return response

    async def let_go(self, s: Session, keep: int | None) -> None:
        """Release every counter this clerk holds but `keep` (one clerk, one counter)."""
        held = await self.app.desk.read(lambda e, now: held_by(e, s.staff))
        for n in held:
            if n != keep:
                await self.app.desk.act(self.device(s, n), "release", f"release-{n}-{self.app.nonce()}",
                                        {"counter": n})

    # --- counters ---------------------------------------------------------------

    def device(self, s: Session, counter: int) -> Device:
        # ':' is in no device id (hall.config.ID_PATTERN): a clerk's stored replies never meet a device's.
        return Device(f"clerk:{s.staff}", "counter", counter, staff=s.staff)

    async def counters(self, request: Request) -> Response:
        self.session(request)
        choices = await self.app.desk.read(lambda e, now: counter_choices(e))
        return ok({"counters": self.app.counter_rows([c.to_dict() for c in choices], self.member(request))})

    async def counter(self, request: Request) -> Response:
        self.session(request)
        n = self.counter_id(request)
        view = await self.app.desk.read(lambda e, now: counter_view(e, n, now))
        return ok(self.app.named(view.to_dict()))

    async def act(self, request: Request) -> Response:
        s = self.changing(request)
        n = self.counter_id(request)
        action = request.path_params["action"]
        if action not in (*COUNTER_ACTIONS, "hold", "release"):
            raise Refused("unknown_action", 404, detail=f"no counter action {action[:40]!r}")
        body = await json_body(request)
        rid = tap_id(body)
        self.member_at(request, n)
        args = {k: v for k, v in body.items() if k not in ("id", "v", "counter")}
        reply = await self.app.desk.act(self.device(s, n), action, rid, {**args, "counter": n})
        if action != "hold":
            return from_reply(reply)
        if reply.get("ok"):
            await self.let_go(s, keep=n)
            taken = reply["data"].get("taken_from")
            if taken is not None:
                log.warning("staff %s took counter %s over from staff %s", s.staff, n, taken)
            return from_reply(reply)
        # Held by another clerk: a question for the page ("Nhận thay?"), so 409 and who holds it.
        held = await self.app.desk.read(lambda e, now: e.counters[n].staff)
        return from_reply(reply, {"counter_held": 409}, **self.app.named({"held_by": held}))


def json_error(err: Refused) -> JSONResponse:
    return err.response()
