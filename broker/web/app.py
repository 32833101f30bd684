"""The web adapter: the clerk's handheld page, the ticket page and their JSON API, in `motcua serve`.

    web = WebServer(service, staff_path, cfg, page_key, version).start()   # uvicorn in its own thread
    web.stop()

Starlette on uvicorn (docs/web.md says why not FastAPI). The app runs in one thread with its
own asyncio loop; every action goes to the hall service's worker as a WebJob (broker.web.desk)
and every view is read there (broker.web.views). Pages and assets are files under static/,
served by the hall server itself: no CDN, no build step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from broker.staff import Staff, StaffMember
from broker.web.answers import PAGE_HEADERS, Refused, ok, refused
from broker.web.clerks import Clerks
from broker.web.desk import Desk, DeskTimeout
from broker.web.live import Live, Message, alarms_message, clerk_view, sse
from broker.web.openapi import ENDPOINTS, document
from broker.web.sessions import Sessions
from broker.web.tickets import Tickets
from broker.web.views import held_counter
from hall.config import HallConfig
from hall.protocol import config_dict

if TYPE_CHECKING:
    from broker.service import HallService

log = logging.getLogger("motcua.web")
STATIC = Path(__file__).parent / "static"


class WebApp:
    def __init__(self, service: HallService, sessions: Sessions, cfg: HallConfig, page_key: bytes, version: str):
        self.service, self.sessions, self.cfg, self.page_key, self.version = service, sessions, cfg, page_key, version
        self.static = STATIC
        self.desk = Desk(service)
        self.live: Live | None = None   # made on the loop (startup)
        self.clerks = Clerks(self)
        self.tickets = Tickets(self)
        self._names: dict[int, str] = {}
        self._names_at = 0.0
        self.app = Starlette(routes=self._routes(), lifespan=self._lifespan,
                             exception_handlers={Refused: self._refused, HTTPException: self._http_error,
                                                 Exception: self._unexpected})

    # --- helpers for the endpoint modules -------------------------------------

    def day(self) -> str:
        return self.service.engine.day   # a str read across threads: atomic, and only ever moves forward

    @staticmethod
    def nonce() -> str:
        return secrets.token_hex(8)

    def named(self, row: dict[str, Any]) -> dict[str, Any]:
        """A counter's row with the name of the clerk holding it (staff.db names, cached a minute)."""
        held = row.get("held_by")
        if held is not None and (held not in self._names or time.monotonic() - self._names_at > 60):
            self._names = {m.id: m.name for m in self.sessions.members()}
            self._names_at = time.monotonic()
        return {**row, "held_by_name": self._names.get(held) if held is not None else None}

    def counter_rows(self, rows: list[dict[str, Any]], member: StaffMember | None) -> list[dict[str, Any]]:
        """The counters as a clerk's page lists them: who holds each, and whether this clerk may act there."""
        return [self.named({**r, "allowed": bool(member and member.may_act_for(r["id"]))}) for r in rows]

    # --- routes -----------------------------------------------------------------

    def _routes(self) -> list:
        c, t = self.clerks, self.tickets
        api = {
            ("GET", "/api/ping"): self._ping, ("GET", "/api/hall"): self._hall,
            ("GET", "/api/staff"): c.staff_list, ("GET", "/api/login/nonce"): c.nonce,
            ("POST", "/api/login"): c.login, ("GET", "/api/me"): c.me, ("POST", "/api/logout"): c.logout,
            ("GET", "/api/counters"): c.counters, ("GET", "/api/counters/{counter}"): c.counter,
            ("GET", "/api/live"): self._clerk_live, ("GET", "/api/tickets/{code}"): t.get,
            ("GET", "/api/tickets/{code}/live"): t.live, ("POST", "/api/tickets/{code}/rate"): t.rate,
            ("GET", "/api/openapi.json"): self._openapi,
        }
        routes: list = []
        for (method, path), fn in api.items():
            routes.append(Route(path, fn, methods=[method]))
        # Every counter action is one route; ENDPOINTS lists each for the OpenAPI document.
        routes.append(Route("/api/counters/{counter}/{action}", c.act, methods=["POST"]))
        documented = {(e.method, e.path) for e in ENDPOINTS}
        missing = set(api) - documented
        assert not missing, f"routes missing from broker.web.openapi.ENDPOINTS: {sorted(missing)}"
        routes += [
            Route("/", lambda r: RedirectResponse("/can-bo", 302)),
            Route("/can-bo", self._clerk_page),
            Route("/tra-cuu", t.page),
            Mount("/static", StaticFiles(directory=str(self.static), check_dir=False), name="static"),
        ]
        return routes

    async def _ping(self, request: Request) -> Response:
        return ok({})

    async def _hall(self, request: Request) -> Response:
        return ok(config_dict(self.cfg))

    async def _openapi(self, request: Request) -> Response:
        return JSONResponse(document(self.version))

    async def _clerk_page(self, request: Request) -> Response:
        page = self.static / "clerk" / "index.html"
        if not page.exists():
            return refused("not_found", 404)
        return FileResponse(page, headers=PAGE_HEADERS)

    async def _clerk_live(self, request: Request) -> Response:
        s = self.clerks.session(request)
        assert self.live is not None
        live = self.live
        feed = live.clerk_feed(s.staff)

        async def first() -> list[Message]:
            view = await self.desk.read(lambda e, now: clerk_view(e, held_counter(e, s.staff), now))
            return [view, alarms_message(self.service.alarms.current)]

        await live.opened(feed, first)

        def dress(m: Message) -> Message:
            kind, data = m
            if kind == "counter":
                return kind, self.named(data)
            if kind == "counters":
                return kind, {"counters": self.counter_rows(data["counters"], self.sessions.member(s.staff))}
            return m

        async def still() -> bool:
            return self.sessions.find(request.cookies.get("motcua_session"), self.day()) is not None

        return StreamingResponse(sse(feed, dress, still, live.drop), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    # --- lifecycle and errors ------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.live = Live(asyncio.get_running_loop())
        self.service.watchers.append(self.live)
        try:
            yield
        finally:
            self.service.watchers.remove(self.live)

    async def _refused(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        if exc.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.detail)
        return exc.response()

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            return refused("wrong_method", 405)
        return refused("not_found", 404) if exc.status_code == 404 else refused("bad_body", exc.status_code)

    async def _unexpected(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, DeskTimeout):
            log.error("%s %s: %s", request.method, request.url.path, exc)
            return refused("busy", 503)
        log.exception("%s %s failed", request.method, request.url.path)
        return refused("internal", 503)


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, told to stop at once rather than at its next 0.1 s tick: every test's hall
    server stops, and 0.2 s each added up."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        ticks = 0
        while not await self.on_tick(ticks):   # on_tick: the Date header, once a second, and should_exit
            ticks = (ticks + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def exit_now(self) -> None:
        self.should_exit = True
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):   # the loop already closed
                self._loop.call_soon_threadsafe(self._wake.set)


class WebServer:
    """uvicorn serving the app on [server] http_port, in a thread of `motcua serve`."""

    def __init__(self, service: HallService, staff_path: Path, cfg: HallConfig, page_key: bytes, version: str,
                 host: str = "0.0.0.0"):
        self.staff = Staff(staff_path)
        self.sessions = Sessions(self.staff)
        self.web = WebApp(service, self.sessions, cfg, page_key, version)
        config = uvicorn.Config(self.web.app, host=host, port=cfg.http_port, log_level="warning",
                                access_log=False, lifespan="on", timeout_graceful_shutdown=2,
                                proxy_headers=False, server_header=False)
        self.server = _Uvicorn(config)
        self.host, self.port = host, cfg.http_port
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)
        self.failed: BaseException | None = None
        self._socket: socket.socket | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self._socket] if self._socket else None))
        except SystemExit as exc:   # uvicorn's way to say its startup failed (it logged why)
            self.failed = exc
        except BaseException as exc:   # said in the log and by start(); the hall goes on
            self.failed = exc
            log.exception("the web pages stopped")

    def start(self, wait: float = 10.0) -> WebServer:
        # The socket is ours, bound before uvicorn runs: a port already taken is said plainly here.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as err:
            sock.close()
            raise RuntimeError(f"the web pages cannot listen on port {self.port}: {err.strerror}; is another "
                               "program using it? Change [server] http_port in hall.toml (or give --http-port)"
                               ) from None
        sock.listen(128)
        self._socket = sock
        self.thread.start()
        deadline = time.monotonic() + wait
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError(f"the web pages could not start on port {self.web.cfg.http_port}"
                               + (f": {self.failed}" if self.failed else ""))
        return self

    def stop(self) -> None:
        self.server.exit_now()
        self.thread.join(5)
        self.staff.close()
