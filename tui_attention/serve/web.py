"""`tui-attention serve web`: the tutor in the browser through textual-serve.

One tutor process per browser tab (textual-serve's model), with the same
guards as `serve ssh`: the installed tutor only (`python -P -m tui_attention`),
a private empty working directory, a small explicit environment, resource
limits, its own session (so it can be killed as a group), a cap on tabs.

What a stranger's browser (or a script posing as one) can make it do is bounded:

* the websocket opens only from the served page's own origin (or --public-url's), so a
  cross-site page cannot open a tutor in a visitor's name;
* tutors start at most as often as `guard.StartRate` allows, per address and in all (each
  start costs about half a second of CPU; a script opening and closing tabs in a loop ate
  two cores); connect and disconnect lines are logged at most a few per address in a burst;
* at most `max_per_address` tabs and `max_connections_per_address` TCP connections per
  source address (a local proxy's own 127.0.0.1 or ::1 is not capped, the addresses in its
  X-Forwarded-For are), and `max_connections` in all; half-open and idle HTTP connections
  are closed after `keepalive_timeout` seconds; request lines and headers are bounded;
* a tab without a key press for `idle_timeout` seconds is closed;
* keys pass through a `guard.InputFilter` (escape sequences and rate bounded), resizes
  and focus changes are applied at most every 100 ms;
* the file descriptors all that needs are checked at start-up, and a storm of
  "socket.accept() out of system resource" errors becomes one warning every 10 s;
* every client-supplied string is escaped (`guard.clean`) before it reaches the log,
  X-Forwarded-For is believed only from 127.0.0.1 or ::1 (a local reverse proxy; not from
  the rest of 127.0.0.0/8, which any local process may bind), a
  malformed request is one short line, and repeated refusals are rate-limited;
* the page (`web_page/`) loads nothing from elsewhere, carries a Content-Security-Policy,
  focuses the terminal, and shows why a session ended (server full, idle, the tutor
  stopped) instead of "Session ended.".

There is no authentication and no TLS here: see docs/workshops.md for a
reverse proxy in front. Behind a Jupyter server (`proxy_secret`, `serve web
--behind-jupyter`, see `jupyter`), every request without the proxy's secret header is
refused, the Host is the Jupyter server's (checked by it), the websocket's Origin must
still match that Host, and the page's URLs are relative so that it works under the
proxy's prefix (`<base_url>tui-attention/`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shlex
import socket
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from tui_attention.infra.urls import public_url_problem
from tui_attention.serve.budget import MemoryBudget
from tui_attention.serve.child import (
    Limits,
    clamp_size,
    confinement,
    exit_description,
    remove_stale_workdirs,
)
from tui_attention.serve.guard import Buckets, Quota, RefusalLog, StartRate, clean, source_of
from tui_attention.serve.room import Room
from tui_attention.serve.descriptors import AcceptStorms, check_descriptors
from tui_attention.serve.web_http import (Client, OneLineBadRequests, bracketed, carries_secret, duration, is_proxy_peer,
                                          origin_of, reason_bytes, this_machine_address, valid_host)
from tui_attention.serve.web_tab import (CLOSE_ADDRESS_FULL, CLOSE_FULL, CLOSE_IDLE, CLOSE_NO_MEMORY, CLOSE_TOO_FAST,
                                         CLOSE_TUTOR_STOPPED, MAX_PENDING_INPUT,
                                         STOP_GRACE, TabInput, TutorAppService, read_envelope)

log = logging.getLogger("tui_attention.serve")

PAGE_DIR = Path(__file__).resolve().parent / "web_page"
MAX_MESSAGE = 1024 * 1024  # bytes of one websocket message (a big paste)
# Messages a tab may send a second, and at once. Each costs the server's loop a JSON decode
# whatever its size, and aiohttp hands over every message already received without letting
# the loop run the other tabs: one tab sending 70,000 ["blur"] a second held every other tab's
# keys for a second. A learner's keys, mouse and resizes are tens a second.
MESSAGE_RATE, MESSAGE_BURST = 200.0, 400.0
DESCRIPTORS_PER_TAB = 5  # three pipes, the room channel, and one spare for spawning (measured: see start())


class TutorWebServer(Server):
    """textual-serve's server with guarded children, caps per address and in all, an idle
    timeout, a strict page, and a known port.

    Use `await start()` (binds; `port` is then the real port, also for port 0)
    and `await close()`.
    """

    def __init__(
        self,
        child_argv: Sequence[str],
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        max_sessions: int = 50,
        public_url: str | None = None,
        limits: Limits = Limits(),
        title: str = "tui-attention",
        idle_timeout: float = 900.0,
        max_per_address: int = 10,
        unconfined: bool = False,
        room: Room | None = None,
        memory_budget_mb: int | None = None,
        max_connections: int | None = None,
        max_connections_per_address: int | None = None,
        keepalive_timeout: float = 15.0,
        backlog: int = 64,
        proxy_secret: str | None = None,
        start_burst: int = 3,
        start_interval: float = 2.0,
    ) -> None:
        if public_url is not None and proxy_secret is not None:
            raise ValueError("public_url and proxy_secret exclude each other")
        if public_url is not None:
            problem = public_url_problem(public_url)  # the rule `serve web --public-url` checks too
            if problem is not None:
                raise ValueError(f"public_url {problem}")
            public_url = public_url.rstrip("/")  # textual-serve appends "/ws", "/static/..."
        super().__init__(
            shlex.join(child_argv), host=host, port=port, title=title, public_url=public_url, templates_path=PAGE_DIR
        )
        self.child_argv = list(child_argv)
        self.max_sessions = max_sessions
        self.max_per_address = max_per_address
        self.max_connections = max_connections if max_connections is not None else 4 * max_sessions + 64
        self.max_connections_per_address = (
            max_connections_per_address if max_connections_per_address is not None else 2 * max_per_address + 8
        )
        self.idle_timeout = idle_timeout
        self.keepalive_timeout = keepalive_timeout
        self.backlog = backlog
        self.unconfined = unconfined
        self.room = room  # with a room, each tutor reports to it (see `room`, `control`)
        self.budget = MemoryBudget(memory_budget_mb)
        self.limits = limits
        self._fixed_public_url = public_url is not None
        self._public_origin = origin_of(public_url) if public_url is not None else None
        self.proxy_secret = proxy_secret  # behind a Jupyter server: see the module's docstring
        self._runner: web.AppRunner | None = None
        self.sockets: set[web.WebSocketResponse] = set()
        self.services: set[TutorAppService] = set()
        self.tabs_per_source: Counter[str] = Counter()
        self.connections: dict[Any, str] = {}  # aiohttp's handler -> source
        self.connections_per_source: Counter[str] = Counter()
        self.refusals = RefusalLog()
        self.connect_log = Quota(5, 10.0)  # "connect"/"disconnect" lines per source, as serve ssh
        self.starts = StartRate(start_burst, start_interval)  # how often tutors may start
        self._bad_requests = OneLineBadRequests(self.refusals)
        self.closing = False

    @property
    def child_pids(self) -> list[int]:
        return [s.pid for s in self.services if s.pid is not None]

    async def on_startup(self, app: web.Application) -> None:
        pass  # the command line prints the banner once the port is known

    async def on_shutdown(self, app: web.Application) -> None:
        for ws in list(self.sockets):
            await ws.close(code=1001, message=reason_bytes("The workshop server is shutting down."))

    # -- start and stop ---------------------------------------------------------------

    def check_descriptors(self) -> None:
        """Refuse to start (one line, exit status 2) below the open-file limit `max_sessions` needs
        (measured: each tab holds three pipes to its tutor, each TCP connection one socket)."""
        check_descriptors(self.max_sessions, DESCRIPTORS_PER_TAB, self.max_connections, self.backlog)

    async def _make_app(self) -> web.Application:
        """textual-serve's routes without the directory listing under /static/ and without
        downloads (the tutor offers none), plus the page's own files under /page/."""
        app = web.Application(client_max_size=64 * 1024, middlewares=[self._only_proxied] if self.proxy_secret else [])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(PAGE_DIR)))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.static("/static", self.statics_path, show_index=False, follow_symlinks=False, name="static"),
                web.static("/page", PAGE_DIR / "static", show_index=False, follow_symlinks=False, name="page"),
            ]
        )
        app.on_response_prepare.append(self._security_headers)
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    @web.middleware
    async def _only_proxied(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Behind Jupyter: nothing for a request without the proxy's secret (another local
        account, or a page rebinding its name to 127.0.0.1, reaching the port directly)."""
        if not carries_secret(request, self.proxy_secret or ""):
            client = Client(request)
            self.refusals(client.source, "not proxied", "refused %s: not through the Jupyter server (no proxy secret)",
                          client.shown)
            raise web.HTTPForbidden(text="only through the Jupyter server")
        return await handler(request)

    async def start(self) -> None:
        self.check_descriptors()
        remove_stale_workdirs()
        loop = asyncio.get_running_loop()
        if not isinstance(loop.get_exception_handler(), AcceptStorms):
            loop.set_exception_handler(AcceptStorms(loop, loop.get_exception_handler()))
        logging.getLogger("aiohttp.server").addFilter(self._bad_requests)
        app = await self._make_app()
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=STOP_GRACE * 2,
            keepalive_timeout=self.keepalive_timeout,  # also closes a connection that never sends a request
            max_line_size=4096,
            max_field_size=8190,
            max_headers=64,
        )
        await self._runner.setup()
        self._count_connections(self._runner.server)
        site = web.TCPSite(self._runner, self.host, self.port, backlog=self.backlog)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            logging.getLogger("aiohttp.server").removeFilter(self._bad_requests)
            raise
        self.port = self._runner.addresses[0][1]
        if not self._fixed_public_url:
            self.public_url = f"http://{bracketed(self._banner_host())}:{self.port}"

    async def close(self) -> None:
        self.closing = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for service in list(self.services):
            await service.stop()
        logging.getLogger("aiohttp.server").removeFilter(self._bad_requests)
        # The loop's exception handler stays: CPython's accept loop may still report
        # restarts it queued while out of descriptors.

    def _count_connections(self, server: Any) -> None:
        """Count TCP connections per source and in all; abort one past a cap (after the
        handler has started: an abort inside connection_made upsets aiohttp)."""
        made, lost = server.connection_made, server.connection_lost
        loop = asyncio.get_running_loop()

        def connection_made(handler: Any, transport: asyncio.Transport) -> None:
            made(handler, transport)
            peer = transport.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
            source = source_of(address)
            self.connections[handler] = source
            self.connections_per_source[source] += 1
            if len(self.connections) > self.max_connections:
                self.refusals(source, "connections", "refused a connection from %s: %d connections in all",
                              clean(address, 60), self.max_connections)
                loop.call_soon(transport.abort)
            elif not is_proxy_peer(address) and self.connections_per_source[source] > self.max_connections_per_address:
                self.refusals(source, "connections", "refused a connection from %s: %d connections from that address",
                              clean(address, 60), self.max_connections_per_address)
                loop.call_soon(transport.abort)

        def connection_lost(handler: Any, exc: BaseException | None = None) -> None:
            source = self.connections.pop(handler, None)
            if source is not None:
                self.connections_per_source[source] -= 1
                if self.connections_per_source[source] <= 0:
                    del self.connections_per_source[source]
            lost(handler, exc)

        server.connection_made = connection_made
        server.connection_lost = connection_lost

    # -- addresses ----------------------------------------------------------------------

    def _banner_host(self) -> str:
        if self.host in ("0.0.0.0", "::", ""):
            family = socket.AF_INET6 if self.host == "::" else socket.AF_INET
            return this_machine_address(family) or this_machine_address(socket.AF_INET) or "<this machine's address>"
        return self.host

    def _request_host(self, request: web.BaseRequest) -> str | None:
        """The host[:port] the browser asked for (its Host header), if it is a valid one that
        names this server: an IP address, localhost, this machine's own names or --host.
        Any other name could be a DNS-rebinding page's (evil.example resolved to this
        server): without --public-url it gets neither the page nor a tutor."""
        header = request.headers.get("Host")
        if header is None:
            return f"{bracketed(self._banner_host())}:{self.port}".lower()
        host = valid_host(header)
        if host is None:
            return None
        if self.proxy_secret is not None:
            return host  # the Jupyter server's name, which that server has answered to
        name = host.rsplit(":", 1)[0] if not host.endswith("]") and host.count(":") == 1 else host
        return host if self._names_this_server(name.strip("[]")) else None

    def _names_this_server(self, name: str) -> bool:
        try:
            ipaddress.ip_address(name)
            return True
        except ValueError:
            pass
        return name in {"localhost", self.host.lower(), socket.gethostname().lower(), socket.getfqdn().lower()}

    def _base_urls(self, request: web.BaseRequest) -> tuple[str, str] | None:
        """(http base, websocket base) for the page: --public-url's, else the request's host."""
        if self._fixed_public_url:
            base = self.public_url
        else:
            host = self._request_host(request)
            if host is None:
                return None
            base = f"http://{host}"
        scheme, rest = base.split(":", 1)
        return base, ("wss:" if scheme.lower() == "https" else "ws:") + rest

    def allowed_origins(self, request: web.BaseRequest) -> set[str]:
        if self._public_origin is not None:
            return {self._public_origin}
        host = self._request_host(request)
        return {f"http://{host}", f"https://{host}"} if host else set()

    # -- the page ---------------------------------------------------------------------

    async def _security_headers(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        urls = self._base_urls(request)
        sockets = f" {origin_of(urls[1])}" if urls else ""
        if self.proxy_secret is not None and urls:  # the browser's scheme is the Jupyter server's: either
            host = urls[0].split("://", 1)[1]
            sockets = f" ws://{host} wss://{host}"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            f"font-src 'self'; connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"

    async def handle_index(self, request: web.Request) -> web.Response:
        urls = self._base_urls(request)
        if urls is None:
            client = Client(request)
            self.refusals(client.source, "bad host", "refused the page to %s: bad Host header %s",
                          client.shown, clean(request.headers.get("Host"), 80))
            raise web.HTTPBadRequest(text="bad Host header")
        base, websocket_base = urls
        static = f"{base}/static/" if self._fixed_public_url else "/static/"
        page = f"{base}/page/" if self._fixed_public_url else "/page/"
        websocket = f"{websocket_base}/ws"
        if self.proxy_secret is not None:  # under the proxy's prefix; page.js makes "ws" a ws(s):// URL
            static, page, websocket = "static/", "page/", "ws"
        font_size = min(max(to_int(request.query.get("fontsize", "16"), 16), 6), 64)
        context = {
            "static_url": static,
            "page_url": page,
            "websocket_url": websocket,
            "font_size": font_size,
            "title": self.title,
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        return response

    def banner_lines(self) -> list[str]:
        lines = [
            f"tui-attention: serving the tutor in the browser on http://{bracketed(self.host)}:{self.port}"
            f" (at most {self.max_sessions} tabs, {self.max_per_address} per address"
            + (f", idle timeout {self.idle_timeout:g} s)" if self.idle_timeout > 0 else ")"),
            f"  attendees open: {self.public_url}/",
        ]
        if self.proxy_secret is not None:
            lines[1] = "  reached only through the Jupyter server that started it (its launcher, <base_url>tui-attention/)"
        elif self.host in ("127.0.0.1", "localhost", "::1"):
            lines.append("  listening on loopback only: put a reverse proxy in front, or use --host")
        lines.append(f"  files:          {confinement()}")
        lines.append(f"  memory:         {self.budget.describe()}, {self.limits.memory_mb} MB each at most")
        lines.append(f"  disk:           {self.limits.session_disk_mb:g} MB of saves and exports per session")
        lines.append(f"  starts:         {self.starts.describe()}")
        if self.unconfined:
            lines.append(
                "  WARNING: THE TUTORS ARE NOT CONFINED (--unconfined): every attendee's tutor can read and write "
                "every file this account can, and open network connections. Run the server as a dedicated "
                "account that owns nothing else."
            )
        if self.proxy_secret is None:
            lines.append("  WARNING: no authentication and no TLS: anyone who can reach this port gets a tutor.")
        lines.append("  Press Ctrl+C to stop.")
        return lines

    # -- a tab ------------------------------------------------------------------------

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService, tab: TabInput | None = None) -> None:
        """As textual-serve's, but a malformed message is skipped (whatever JSON decoding raises,
        nesting too deep included), sizes are clamped, keys go through the tab's input filter,
        resizes and focus changes are coalesced."""
        if tab is None:
            tab = TabInput(app_service, asyncio.get_running_loop())
        pace = Buckets(MESSAGE_BURST, 1.0 / MESSAGE_RATE, sources=1)
        async for message in websocket:
            # Past the rate this tab waits (and, its buffer full, aiohttp stops reading it); the
            # loop runs the other tabs meanwhile.
            if (wait := pace.wait("")) > 0:
                await asyncio.sleep(wait)
            pace.take("")
            if message.type != WSMsgType.TEXT:
                continue
            # Not json.loads: a deflated 1 KB message parsed for 0.3-0.7 s of every tab's loop.
            envelope = read_envelope(message.data)
            if envelope is None:
                continue
            kind = envelope[0]
            if kind == "stdin" and len(envelope) > 1 and isinstance(envelope[1], str):
                tab.key(envelope[1].encode("utf-8", "replace"))
            elif kind == "resize" and len(envelope) > 1 and isinstance(envelope[1], dict):
                try:
                    cols, rows = clamp_size(int(envelope[1]["width"]), int(envelope[1]["height"]))
                except (KeyError, TypeError, ValueError, OverflowError):
                    continue
                tab.resize(cols, rows)
            elif kind == "ping" and len(envelope) > 1 and isinstance(envelope[1], str) and len(envelope[1]) <= 32:
                await websocket.send_json(["pong", envelope[1]])
            elif kind == "blur":
                tab.focus(False)
            elif kind == "focus":
                tab.focus(True)

    async def _watch_idle(self, websocket: web.WebSocketResponse, tab: TabInput, client: Client) -> None:
        loop = asyncio.get_running_loop()
        member = getattr(tab.service, "member", None)
        if member is not None:
            member.on_lead = tab.led
        while True:
            if member is not None and member.led:
                tab.led()  # following the instructor (locked, nothing to press) is not idle
            if (remaining := tab.last_key + self.idle_timeout - loop.time()) <= 0:
                break
            await asyncio.sleep(remaining)
        log.info("closing the idle tab of %s", client.shown)
        text = f"Closed after {duration(self.idle_timeout)} without a key press; reload to start again."
        await websocket.close(code=CLOSE_IDLE, message=reason_bytes(text))

    async def _refuse_tab(self, websocket: web.WebSocketResponse, request: web.Request, code: int, text: str) -> web.WebSocketResponse:
        """Open the socket only to say why not: a refusal before the upgrade reaches the page
        as a bare 1006 with no reason."""
        await websocket.prepare(request)
        try:
            await websocket.send_bytes(f"\r\n{text}\r\n".encode())
        except Exception:
            pass
        await websocket.close(code=code, message=reason_bytes(text))
        return websocket

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        client = Client(request)
        origin = request.headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.allowed_origins(request):
            self.refusals(client.source, "cross-site", "refused a cross-site websocket from %s (Origin %s, Host %s)",
                          client.shown, clean(origin, 80), clean(request.headers.get("Host"), 80))
            raise web.HTTPForbidden(text="cross-site websocket refused")
        # No permessage-deflate: a message's size on the wire would say nothing of its size in
        # memory (1 KB inflated to 1 MiB), and every limit here counts what arrives.
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE, compress=False)
        cols, rows = clamp_size(to_int(request.query.get("width", "80"), 80), to_int(request.query.get("height", "24"), 24))
        if self.closing or len(self.services) >= self.max_sessions:
            self.refusals(client.source, "full", "refused %s: server full (%d tabs)", client.shown, self.max_sessions)
            return await self._refuse_tab(
                websocket, request, CLOSE_FULL,
                f"Sorry, this workshop server is full ({self.max_sessions} sessions in use). "
                "Please try again in a few minutes.",
            )  # fmt: skip
        if self.tabs_per_source[client.source] >= self.max_per_address:
            self.refusals(client.source, "address full", "refused %s: %d tabs from that address",
                          client.shown, self.max_per_address)
            return await self._refuse_tab(
                websocket, request, CLOSE_ADDRESS_FULL,
                f"Too many tabs from your address ({self.max_per_address}): close one and reload this page.",
            )  # fmt: skip
        if (why := self.starts.refusal(client.source)) is not None:
            self.refusals(client.source, "starts", "refused %s: %s", client.shown, why)
            return await self._refuse_tab(websocket, request, CLOSE_TOO_FAST, why)
        if (why := self.budget.admit(self.child_pids)) is not None:
            self.refusals(client.source, "memory", "refused %s: %s", client.shown, why)
            return await self._refuse_tab(websocket, request, CLOSE_NO_MEMORY, why)

        self.starts.started(client.source)
        await websocket.prepare(request)
        if self.connect_log.allow(client.source):
            log.info("connect %s (%d tabs)", client.shown, len(self.services) + 1)

        async def close_with_reason(code: int, text: str) -> None:
            await websocket.close(code=code, message=reason_bytes(text))

        app_service = TutorAppService(
            self.child_argv,
            self.limits,
            shown=client.shown,
            close_reason=close_with_reason,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=False,
            member=self.room.join() if self.room is not None else None,
        )
        self.services.add(app_service)
        self.sockets.add(websocket)
        self.tabs_per_source[client.source] += 1
        tab: TabInput | None = None
        watchdog: asyncio.Task | None = None
        try:
            await app_service.start(cols, rows)
            tab = app_service.input = TabInput(app_service, asyncio.get_running_loop())
            if self.idle_timeout > 0:
                watchdog = asyncio.create_task(self._watch_idle(websocket, tab, client))
            await self._process_messages(websocket, app_service, tab)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # one tab's trouble stays in that tab
            log.warning("session of %s failed: %s", client.shown, clean(repr(error), 160))
            if not websocket.closed:
                text = "The tutor could not be started; reload the page to try again."
                await websocket.close(code=CLOSE_TUTOR_STOPPED, message=reason_bytes(text))
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if tab is not None:
                await asyncio.shield(tab.stop())
            self.sockets.discard(websocket)
            await asyncio.shield(app_service.stop())
            if self.room is not None:
                self.room.leave(app_service.member)
            self.services.discard(app_service)
            self.tabs_per_source[client.source] -= 1
            if self.tabs_per_source[client.source] <= 0:
                del self.tabs_per_source[client.source]
            if not websocket.closed:
                await websocket.close()
            returncode = app_service._process.returncode if app_service._process else None
            extra = f", tutor {exit_description(returncode)}" if returncode is not None else ""
            if not app_service.painted:  # then the tutor is ended with a signal on purpose (see web_tab)
                extra += " (the tab closed before the tutor's first screen)"
            if tab is not None and tab.dropped:
                extra += f", {tab.dropped} bytes of keys dropped (more than {MAX_PENDING_INPUT // 1024} KiB waiting)"
            if self.connect_log.allow(client.source):
                log.info("disconnect %s%s", client.shown, extra)
        return websocket
