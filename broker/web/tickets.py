"""The ticket's page (what the QR on a ticket opens): read-only, no login, by the ticket's page code.

A code is the ticket id and an HMAC key (broker.page_code): a guessed or altered code, or one
of a ticket from another day, gets the same "không tìm thấy phiếu" 404. The page learns its
own ticket's number, place and estimate, and nothing of anyone else's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from broker.model import Device
from broker.page_code import ticket_of
from broker.web.answers import PAGE_HEADERS, Refused, from_reply, json_body, ok, tap_id
from broker.web.live import Message, sse
from broker.web.views import ticket_view
from broker.web_actions import CITIZEN

if TYPE_CHECKING:
    from broker.web.app import WebApp


class Tickets:
    def __init__(self, app: WebApp):
        self.app = app

    def ticket_id(self, code: str) -> str:
        tid = ticket_of(code, self.app.page_key)
        if tid is None:
            raise Refused("unknown_ticket", 404, "Không tìm thấy phiếu. Vui lòng quét lại mã QR trên phiếu.",
                          "no ticket with this page code")
        return tid

    async def view(self, tid: str) -> dict | None:
        v = await self.app.desk.read(lambda e, now: ticket_view(e, tid, now))
        return v.to_dict() if v else None

    async def get(self, request: Request) -> Response:
        tid = self.ticket_id(request.path_params["code"])
        data = await self.view(tid)
        if data is None:
            raise Refused("unknown_ticket", 404, "Không tìm thấy phiếu. Phiếu có thể đã hết hạn.",
                          "not a ticket of the current service day")
        return ok(data)

    async def live(self, request: Request) -> Response:
        tid = self.ticket_id(request.path_params["code"])
        live = self.app.live
        assert live is not None   # made at the app's startup
        feed = live.ticket_feed(tid)

        async def first() -> list[Message] | None:
            data = await self.view(tid)
            return None if data is None else [("ticket", data)]

        if not await live.opened(feed, first):
            raise Refused("unknown_ticket", 404)

        async def still() -> bool:
            return await self.view(tid) is not None

        return StreamingResponse(sse(feed, lambda m: m, still, live.drop),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def rate(self, request: Request) -> Response:
        tid = self.ticket_id(request.path_params["code"])
        body = await json_body(request)
        rid = tap_id(body)
        args: dict[str, object] = {k: body[k] for k in ("score", "reason") if k in body}
        # Stored under the ticket: a retried tap gets its first answer, another ticket's page never meets it.
        reply = await self.app.desk.act(Device(f"page:{tid}", CITIZEN), "rate-ticket", rid,
                                        {**args, "ticket_id": tid})
        return from_reply(reply)

    async def page(self, request: Request) -> Response:
        """GET /tra-cuu?t=CODE: the page, or a 404 page that says the ticket is not found."""
        code = request.query_params.get("t", "")
        tid = ticket_of(code, self.app.page_key)
        found = tid is not None and await self.view(tid) is not None
        page = self.app.static / "ticket" / ("index.html" if found else "not-found.html")
        if not page.exists():
            raise Refused("not_found", 404)
        return FileResponse(page, status_code=200 if found else 404, headers=PAGE_HEADERS)
