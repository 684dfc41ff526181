"""`tui-attention serve web`: the tutor in the browser through textual-serve.

One tutor process per browser tab (textual-serve's model), with the same
guards as `serve ssh`: the installed tutor only (`python -P -m tui_attention`),
a private empty working directory, a small explicit environment, resource
limits, its own session (so it can be killed as a group), a cap on tabs.

What a stranger's browser (or a script posing as one) can make it do is bounded:

* the websocket opens only from the served page's own origin (or --public-url's), so a
  cross-site page cannot open a tutor in a visitor's name;
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
  X-Forwarded-For is believed only from a loopback peer (a local reverse proxy), a
  malformed request is one short line, and repeated refusals are rate-limited;
* the page (`web_page/`) loads nothing from elsewhere, carries a Content-Security-Policy,
  focuses the terminal, and shows why a session ended (server full, idle, the tutor
  stopped) instead of "Session ended.".

There is no authentication and no TLS here: see docs/workshops.md for a
reverse proxy in front.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
from collections import Counter
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from aiohttp.http_exceptions import HttpProcessingError
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from tui_attention.serve.budget import MemoryBudget
from tui_attention.serve.child import (
    Limits,
    child_environment,
    clamp_size,
    confinement,
    exit_description,
    make_workdir,
    remove_stale_workdirs,
    wrapped_argv,
)
from tui_attention.serve.guard import InputFilter, RefusalLog, clean, file_descriptors, source_of

log = logging.getLogger("tui_attention.serve")

PAGE_DIR = Path(__file__).resolve().parent / "web_page"
RESET_TERMINAL = b"\x1b[0m\x1b[?1049l\x1b[?25h"
STOP_GRACE = 3.0  # seconds for a tab's tutor to quit after the tab went away
MAX_MESSAGE = 1024 * 1024  # bytes of one websocket message (a big paste)
MAX_PENDING_INPUT = 256 * 1024  # bytes of keys waiting for a tutor; a message past it is dropped whole
CONTROL_INTERVAL = 0.1  # seconds between two resizes (or focus changes) passed to a tutor
STDERR_TAIL = 4096  # bytes of a tutor's stderr kept for the log
DESCRIPTORS_PER_TAB = 4  # three pipes, and one spare for spawning (measured: see start())
SPARE_DESCRIPTORS = 32  # the loop, the log, a tutor being spawned, the listening sockets
ACCEPT_WARNING_EVERY = 10.0  # seconds between two "out of file descriptors" warnings
PROXY_PEERS = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})  # a local reverse proxy connects from these

# Close codes (4000-4999 are the application's) and the reasons the page shows.
CLOSE_IDLE, CLOSE_FULL, CLOSE_ADDRESS_FULL, CLOSE_TUTOR_STOPPED, CLOSE_NO_MEMORY = 4001, 4002, 4003, 4004, 4005
MAX_REASON = 123  # bytes of a close reason (RFC 6455)

_HOST_RE = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::([0-9]{1,5}))?")


class DescriptorBudgetError(ValueError):
    """Too few file descriptors for the tabs asked for (`serve/running.py` prints it as one line)."""


def _reason(text: str) -> bytes:
    """`text` as a websocket close reason: at most 123 bytes of UTF-8, cut at a character."""
    return text.encode()[:MAX_REASON].decode("utf-8", "ignore").encode()


def _duration(seconds: float) -> str:
    """'15 minutes', '1 minute', '90 seconds', '1 second'."""
    if seconds >= 120 or (seconds >= 60 and seconds % 60 == 0):
        minutes = round(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    whole = f"{seconds:g}"
    return f"{whole} second{'s' if whole != '1' else ''}"


def _valid_host(host: str | None) -> str | None:
    """A Host header as `name[:port]` or `[v6][:port]`, lower case; None if it is not one."""
    if not host:
        return None
    match = _HOST_RE.fullmatch(host)
    if match is None or (match.group(1) is not None and int(match.group(1)) > 65535):
        return None
    return host.lower()


def _origin_of(url: str) -> str:
    """scheme://host[:port] of `url`, lower case, without the scheme's default port."""
    parts = urlsplit(url)
    scheme, netloc = parts.scheme.lower(), parts.netloc.lower().rsplit("@", 1)[-1]
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return f"{scheme}://{netloc}"


def _is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(str(address).split("%")[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def this_machine_address(family: int = socket.AF_INET) -> str | None:
    """The address other machines most likely reach this one at (that of the default route):
    a UDP socket 'connected' to a documentation address sends nothing but picks it."""
    target = ("2001:db8::1", 9) if family == socket.AF_INET6 else ("192.0.2.1", 9)
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(target)
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address in ("0.0.0.0", "::") else address


def open_descriptors() -> int:
    """How many file descriptors this process has open now."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return SPARE_DESCRIPTORS


class _Client:
    """Who is at the other end of a request: `source` (the unit of the per-address caps) and
    `shown` (for the log, escaped). X-Forwarded-For counts only from a loopback peer."""

    def __init__(self, request: web.BaseRequest) -> None:
        remote = request.remote or "?"
        self.source = source_of(remote)
        self.shown = clean(remote, 60)
        forwarded = request.headers.getall("X-Forwarded-For", [])
        if not forwarded:
            return
        value = ",".join(forwarded)
        if not _is_loopback(remote):
            self.shown += f" (X-Forwarded-For {clean(value, 60)} ignored: not from a local proxy)"
            return
        last = value.rsplit(",", 1)[-1].strip()  # what the proxy itself saw
        try:
            address = ipaddress.ip_address(last)
        except ValueError:
            self.shown += f" (X-Forwarded-For {clean(value, 60)} ignored: not an address)"
            return
        self.source = source_of(str(address))
        self.shown = f"{address} via {self.shown}"


class _OneLineBadRequests(logging.Filter):
    """aiohttp logs a malformed request (a control character in a header, an over-long line)
    at ERROR with a traceback: make it one short, rate-limited line of our own."""

    def __init__(self, refusals: RefusalLog) -> None:
        super().__init__()
        self.refusals = refusals

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, HttpProcessingError):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        remote = str(args[0]) if args else "?"
        what = [line.strip().rstrip(":") for line in str(getattr(error, "message", "") or type(error).__name__).splitlines()]
        self.refusals(
            source_of(remote), "bad request", "bad HTTP request from %s: %s", clean(remote, 60), clean(what[0] if what else "", 80)
        )
        return False


class _AcceptStorms:
    """A loop exception handler: CPython's accept loop reports every failed accept() when file
    descriptors run out (and, after the listener closed, every queued restart); say it once
    every 10 s with a count, and hand everything else to the handler there was before."""

    def __init__(self, loop: asyncio.AbstractEventLoop, previous: Any) -> None:
        self.loop, self.previous = loop, previous
        self.last_warning: float | None = None
        self.suppressed = 0

    @staticmethod
    def is_storm(context: dict[str, Any]) -> bool:
        if context.get("message") == "socket.accept() out of system resource":
            return True
        error = context.get("exception")
        handle = repr(context.get("handle", ""))
        return isinstance(error, ValueError) and "Invalid file descriptor: -1" in str(error) and "_start_serving" in handle

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not self.is_storm(context):
            if self.previous is not None:
                self.previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        now = loop.time()
        if self.last_warning is not None and now - self.last_warning < ACCEPT_WARNING_EVERY:
            self.suppressed += 1
            return
        more = f" ({self.suppressed} more such errors not logged)" if self.suppressed else ""
        error = context.get("exception")
        log.warning(
            "out of file descriptors: new connections wait (%s)%s; raise `ulimit -n` or lower --max-sessions",
            clean(error or context.get("message"), 80),
            more,
        )
        self.last_warning, self.suppressed = now, 0


class _TutorAppService(AppService):
    """textual-serve's per-tab process manager, starting our guarded child."""

    def __init__(self, argv: Sequence[str], limits: Limits, *, close_reason: Any = None, **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = list(argv)
        self.limits = limits
        self.workdir: str | None = None
        self.stopping = False
        self.stderr_tail = b""
        self.input: _Tab | None = None  # set once the tutor runs
        self.close_reason = close_reason  # async (code, text): closes the tab with a reason

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        assert self.workdir is not None, "the working directory comes first"
        env = child_environment(self.workdir, "xterm-256color")
        env.update(
            TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver",
            TEXTUAL_FPS="60",
            TEXTUAL_COLOR_SYSTEM="truecolor",
            TERM_PROGRAM="textual",
            TERM_PROGRAM_VERSION=version("textual-serve"),
            COLUMNS=str(width),
            ROWS=str(height),
        )
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24):
        self.workdir = make_workdir()
        self._process = process = await asyncio.create_subprocess_exec(
            *wrapped_argv(self.argv, self.limits, tty=False, confine=self.workdir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width, height),
            cwd=self.workdir,
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def _relay(self) -> None:
        """textual-serve's `AppService.run`, but the tutor's stderr is kept short (its last
        4 KiB) for the log instead of being copied, raw and whole, to the server's stdout."""
        process = self._process
        assert process is not None and process.stdout is not None and process.stderr is not None
        stdout, stderr = process.stdout, process.stderr
        tail = bytearray()

        async def read_stderr() -> None:
            while data := await stderr.read(4096):
                tail.extend(data)
                del tail[:-STDERR_TAIL]

        stderr_task = asyncio.create_task(read_stderr())
        try:
            for _ in range(10):  # wait for the prelude: this is a Textual app
                line = await stdout.readline()
                if not line or line == b"__GANGLION__\n":
                    break
            while True:
                kind = await stdout.readexactly(1)
                size = int.from_bytes(await stdout.readexactly(4), "big")
                payload = await stdout.readexactly(size)
                if kind == b"D":
                    await self.on_data(payload)
                elif kind == b"M":
                    await self.on_meta(payload)
                elif kind == b"P":
                    await self.on_packed(payload)
        except (asyncio.IncompleteReadError, ConnectionResetError, asyncio.CancelledError, ValueError):
            pass
        finally:
            stderr_task.cancel()
            try:
                await stderr_task
            except (asyncio.CancelledError, Exception):
                pass
            self.stderr_tail = bytes(tail)

    def last_error_line(self) -> str:
        lines = [line for line in self.stderr_tail.decode("utf-8", "replace").splitlines() if line.strip()]
        return clean(lines[-1], 160) if lines else ""

    async def run(self) -> None:
        await self._relay()  # returns when the child's stdout closes
        if self.stopping:
            return
        # The tutor ended on its own. A clean quit already closed the tab's
        # socket (exit meta); after a crash, say so in one line and close.
        returncode = await self._wait(STOP_GRACE)
        if returncode not in (0, None):
            error = self.last_error_line()
            log.info("tutor %s stopped: %s%s", self.pid, exit_description(returncode), f" ({error})" if error else "")
            text = f"The tutor stopped unexpectedly ({exit_description(returncode)}); reload the page to start again."
            try:
                await self.remote_write_bytes(RESET_TERMINAL + f"\r\n{text}\r\n".encode())
            except Exception:
                pass
            if self.close_reason is not None:
                try:
                    await self.close_reason(CLOSE_TUTOR_STOPPED, text)
                except Exception:
                    pass
        try:
            await self.remote_close()
        except Exception:
            pass

    async def _wait(self, timeout: float) -> int | None:
        process = self._process
        if process is None:
            return None
        try:
            return await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            return None

    def _kill_group(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    async def stop(self) -> None:
        """Ask the tutor to quit; kill its session if it does not; reap it; remove its directory."""
        self.stopping = True
        task, self._task = self._task, None
        if task is not None:
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
            try:
                await asyncio.wait_for(self.send_meta({"type": "quit"}), STOP_GRACE)
            except TimeoutError:
                pass
            done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
            if not done:
                self._kill_group()
                await asyncio.wait({task}, timeout=STOP_GRACE)
        if self._process is not None and await self._wait(STOP_GRACE) is None:
            self._kill_group()
            await self._wait(STOP_GRACE)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


class _Tab:
    """What one tab sends its tutor: keys through an InputFilter, in order (what it holds back
    goes after `wait()` seconds; a message that would make more than 256 KiB wait is dropped
    whole, so the socket is always read and no escape sequence is cut); resizes and focus
    changes at most every 100 ms, the last one winning; and the time of the last key, for
    the idle timeout."""

    def __init__(self, service: AppService, loop: asyncio.AbstractEventLoop) -> None:
        self.service = service
        self.loop = loop
        self.filter = InputFilter()
        self.pending = bytearray()
        self.last_key = loop.time()
        self.dropped = 0  # bytes of keys dropped
        self._keys_waiting = asyncio.Event()
        self._size: tuple[int, int] | None = None
        self._focus: bool | None = None
        self._control_waiting = asyncio.Event()
        self.tasks = [asyncio.create_task(self._send_keys()), asyncio.create_task(self._send_control())]

    def key(self, data: bytes) -> None:
        """Queue `data` for the tutor (or drop it whole if too much is waiting already)."""
        self.last_key = self.loop.time()
        if len(self.pending) + len(data) > MAX_PENDING_INPUT:
            self.dropped += len(data)
            return
        self.pending += data
        self._keys_waiting.set()

    def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        self._control_waiting.set()

    def focus(self, focused: bool) -> None:
        self._focus = focused
        self._control_waiting.set()

    async def _send_keys(self) -> None:
        while True:
            await self._keys_waiting.wait()
            self._keys_waiting.clear()
            while self.pending:
                data = bytes(self.pending)
                self.pending.clear()
                now, held = self.filter.feed(data)
                if now:
                    await self.service.send_bytes(now)
                if held:
                    self.pending[:0] = held
                    await asyncio.sleep(max(self.filter.wait(), 0.005))

    async def _send_control(self) -> None:
        while True:
            await self._control_waiting.wait()
            self._control_waiting.clear()
            size, self._size = self._size, None
            focus, self._focus = self._focus, None
            if size is not None:
                await self.service.set_terminal_size(*size)
            if focus is True:
                await self.service.focus()
            elif focus is False:
                await self.service.blur()
            await asyncio.sleep(CONTROL_INTERVAL)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


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
        memory_budget_mb: int | None = None,
        max_connections: int | None = None,
        max_connections_per_address: int | None = None,
        keepalive_timeout: float = 15.0,
        backlog: int = 64,
    ) -> None:
        if public_url is not None:
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
        self.budget = MemoryBudget(memory_budget_mb)
        self.limits = limits
        self._fixed_public_url = public_url is not None
        self._public_origin = _origin_of(public_url) if public_url is not None else None
        self._runner: web.AppRunner | None = None
        self.sockets: set[web.WebSocketResponse] = set()
        self.services: set[_TutorAppService] = set()
        self.tabs_per_source: Counter[str] = Counter()
        self.connections: dict[Any, str] = {}  # aiohttp's handler -> source
        self.connections_per_source: Counter[str] = Counter()
        self.refusals = RefusalLog()
        self._bad_requests = _OneLineBadRequests(self.refusals)
        self.closing = False

    @property
    def child_pids(self) -> list[int]:
        return [s.pid for s in self.services if s.pid is not None]

    async def on_startup(self, app: web.Application) -> None:
        pass  # the command line prints the banner once the port is known

    async def on_shutdown(self, app: web.Application) -> None:
        for ws in list(self.sockets):
            await ws.close(code=1001, message=_reason("The workshop server is shutting down."))

    # -- start and stop ---------------------------------------------------------------

    def descriptors_needed(self) -> int:
        """File descriptors the server may need at once (measured: each tab holds three pipes
        to its tutor, each TCP connection one socket; asyncio may accept a whole backlog in
        one turn before any of it is refused)."""
        return (
            open_descriptors()
            + SPARE_DESCRIPTORS
            + DESCRIPTORS_PER_TAB * self.max_sessions
            + self.max_connections
            + self.backlog
        )

    def check_descriptors(self) -> None:
        soft, needed = file_descriptors(self.descriptors_needed())
        if soft < needed:
            raise DescriptorBudgetError(
                f"the open-file limit (ulimit -n) is {soft}, too low for --max-sessions {self.max_sessions}: "
                f"it needs about {needed} file descriptors; raise it (ulimit -n {needed}) or serve fewer sessions"
            )

    async def _make_app(self) -> web.Application:
        """textual-serve's routes without the directory listing under /static/ and without
        downloads (the tutor offers none), plus the page's own files under /page/."""
        app = web.Application(client_max_size=64 * 1024)
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

    async def start(self) -> None:
        self.check_descriptors()
        remove_stale_workdirs()
        loop = asyncio.get_running_loop()
        if not isinstance(loop.get_exception_handler(), _AcceptStorms):
            loop.set_exception_handler(_AcceptStorms(loop, loop.get_exception_handler()))
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
            self.public_url = f"http://{_bracketed(self._banner_host())}:{self.port}"

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
            elif address not in PROXY_PEERS and self.connections_per_source[source] > self.max_connections_per_address:
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
        """The host[:port] the browser asked for (its Host header), if it is a valid one."""
        header = request.headers.get("Host")
        if header is not None:
            return _valid_host(header)
        return f"{_bracketed(self._banner_host())}:{self.port}".lower()

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
        sockets = f" {_origin_of(urls[1])}" if urls else ""
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
            client = _Client(request)
            self.refusals(client.source, "bad host", "refused the page to %s: bad Host header %s",
                          client.shown, clean(request.headers.get("Host"), 80))
            raise web.HTTPBadRequest(text="bad Host header")
        base, websocket_base = urls
        static = f"{base}/static/" if self._fixed_public_url else "/static/"
        page = f"{base}/page/" if self._fixed_public_url else "/page/"
        font_size = min(max(to_int(request.query.get("fontsize", "16"), 16), 6), 64)
        context = {
            "static_url": static,
            "page_url": page,
            "websocket_url": f"{websocket_base}/ws",
            "font_size": font_size,
            "title": self.title,
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        return response

    def banner_lines(self) -> list[str]:
        lines = [
            f"tui-attention: serving the tutor in the browser on http://{_bracketed(self.host)}:{self.port}"
            f" (at most {self.max_sessions} tabs, {self.max_per_address} per address"
            + (f", idle timeout {self.idle_timeout:g} s)" if self.idle_timeout > 0 else ")"),
            f"  attendees open: {self.public_url}/",
        ]
        if self.host in ("127.0.0.1", "localhost", "::1"):
            lines.append("  listening on loopback only: put a reverse proxy in front, or use --host")
        lines.append(f"  files:          {confinement()}")
        lines.append(f"  memory:         {self.budget.describe()}, {self.limits.memory_mb} MB each at most")
        if self.unconfined:
            lines.append(
                "  WARNING: THE TUTORS ARE NOT CONFINED (--unconfined): every attendee's tutor can read and write "
                "every file this account can, and open network connections. Run the server as a dedicated "
                "account that owns nothing else."
            )
        lines.append("  WARNING: no authentication and no TLS: anyone who can reach this port gets a tutor.")
        lines.append("  Press Ctrl+C to stop.")
        return lines

    # -- a tab ------------------------------------------------------------------------

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService, tab: _Tab | None = None) -> None:
        """As textual-serve's, but a malformed message is skipped, sizes are clamped, keys go
        through the tab's input filter, resizes and focus changes are coalesced."""
        if tab is None:
            tab = _Tab(app_service, asyncio.get_running_loop())
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
                kind = envelope[0]
            except (ValueError, TypeError, IndexError, KeyError):
                continue
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

    async def _watch_idle(self, websocket: web.WebSocketResponse, tab: _Tab, client: _Client) -> None:
        loop = asyncio.get_running_loop()
        while (remaining := tab.last_key + self.idle_timeout - loop.time()) > 0:
            await asyncio.sleep(remaining)
        log.info("closing the idle tab of %s", client.shown)
        text = f"Closed after {_duration(self.idle_timeout)} without a key press; reload to start again."
        await websocket.close(code=CLOSE_IDLE, message=_reason(text))

    async def _refuse_tab(self, websocket: web.WebSocketResponse, request: web.Request, code: int, text: str) -> web.WebSocketResponse:
        """Open the socket only to say why not: a refusal before the upgrade reaches the page
        as a bare 1006 with no reason."""
        await websocket.prepare(request)
        try:
            await websocket.send_bytes(f"\r\n{text}\r\n".encode())
        except Exception:
            pass
        await websocket.close(code=code, message=_reason(text))
        return websocket

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        client = _Client(request)
        origin = request.headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.allowed_origins(request):
            self.refusals(client.source, "cross-site", "refused a cross-site websocket from %s (Origin %s, Host %s)",
                          client.shown, clean(origin, 80), clean(request.headers.get("Host"), 80))
            raise web.HTTPForbidden(text="cross-site websocket refused")
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
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
        if (why := self.budget.admit(self.child_pids)) is not None:
            self.refusals(client.source, "memory", "refused %s: %s", client.shown, why)
            return await self._refuse_tab(websocket, request, CLOSE_NO_MEMORY, why)

        await websocket.prepare(request)
        log.info("connect %s (%d tabs)", client.shown, len(self.services) + 1)

        async def close_with_reason(code: int, text: str) -> None:
            await websocket.close(code=code, message=_reason(text))

        app_service = _TutorAppService(
            self.child_argv,
            self.limits,
            close_reason=close_with_reason,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=False,
        )
        self.services.add(app_service)
        self.sockets.add(websocket)
        self.tabs_per_source[client.source] += 1
        tab: _Tab | None = None
        watchdog: asyncio.Task | None = None
        try:
            await app_service.start(cols, rows)
            tab = app_service.input = _Tab(app_service, asyncio.get_running_loop())
            if self.idle_timeout > 0:
                watchdog = asyncio.create_task(self._watch_idle(websocket, tab, client))
            await self._process_messages(websocket, app_service, tab)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # one tab's trouble stays in that tab
            log.warning("session of %s failed: %s", client.shown, clean(repr(error), 160))
            if not websocket.closed:
                text = "The tutor could not be started; reload the page to try again."
                await websocket.close(code=CLOSE_TUTOR_STOPPED, message=_reason(text))
        finally:
            if watchdog is not None:
                watchdog.cancel()
            if tab is not None:
                await asyncio.shield(tab.stop())
            self.sockets.discard(websocket)
            await asyncio.shield(app_service.stop())
            self.services.discard(app_service)
            self.tabs_per_source[client.source] -= 1
            if self.tabs_per_source[client.source] <= 0:
                del self.tabs_per_source[client.source]
            if not websocket.closed:
                await websocket.close()
            returncode = app_service._process.returncode if app_service._process else None
            extra = f", tutor {exit_description(returncode)}" if returncode is not None else ""
            if tab is not None and tab.dropped:
                extra += f", {tab.dropped} bytes of keys dropped (more than {MAX_PENDING_INPUT // 1024} KiB waiting)"
            log.info("disconnect %s%s", client.shown, extra)
        return websocket
