"""`tui-attention serve web`: the tutor in the browser through textual-serve.

One tutor process per browser tab (textual-serve's model), with the same
guards as `serve ssh`: the installed tutor only (`python -P -m tui_attention`),
a private empty working directory, a small explicit environment, resource
limits, its own session (so it can be killed as a group), a cap on tabs.

There is no authentication and no TLS here: see docs/workshops.md for a
reverse proxy in front.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import shutil
import signal
from importlib.metadata import version
from typing import Any, Sequence

from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

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

log = logging.getLogger("tui_attention.serve")

RESET_TERMINAL = b"\x1b[0m\x1b[?1049l\x1b[?25h"
STOP_GRACE = 3.0  # seconds for a tab's tutor to quit after the tab went away


class _TutorAppService(AppService):
    """textual-serve's per-tab process manager, starting our guarded child."""

    def __init__(self, argv: Sequence[str], limits: Limits, **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = list(argv)
        self.limits = limits
        self.workdir: str | None = None
        self.stopping = False

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

    async def run(self) -> None:
        await super().run()  # returns when the child's stdout closes
        if self.stopping:
            return
        # The tutor ended on its own. A clean quit already closed the tab's
        # socket (exit meta); after a crash, say so in one line and close.
        returncode = await self._wait(STOP_GRACE)
        if returncode not in (0, None):
            log.info("tutor %s stopped: %s", self.pid, exit_description(returncode))
            try:
                line = f"\r\nThe tutor stopped unexpectedly ({exit_description(returncode)}); reload the page to start again.\r\n"
                await self.remote_write_bytes(RESET_TERMINAL + line.encode())
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
        except asyncio.TimeoutError:
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
            await self.send_meta({"type": "quit"})
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


class TutorWebServer(Server):
    """textual-serve's server with guarded children, a tab cap, and a known port.

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
    ) -> None:
        if public_url is not None:
            public_url = public_url.rstrip("/")  # textual-serve appends "/ws", "/static/..."
        super().__init__(shlex.join(child_argv), host=host, port=port, title=title, public_url=public_url)
        self.child_argv = list(child_argv)
        self.max_sessions = max_sessions
        self.limits = limits
        self._fixed_public_url = public_url is not None
        self._runner: web.AppRunner | None = None
        self.sockets: set[web.WebSocketResponse] = set()
        self.services: set[_TutorAppService] = set()
        self.closing = False

    @property
    def child_pids(self) -> list[int]:
        return [s.pid for s in self.services if s.pid is not None]

    async def on_startup(self, app: web.Application) -> None:
        pass  # the command line prints the banner once the port is known

    async def on_shutdown(self, app: web.Application) -> None:
        for ws in list(self.sockets):
            await ws.close(code=1001, message=b"server shutting down")

    async def start(self) -> None:
        remove_stale_workdirs()
        app = await self._make_app()
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=STOP_GRACE * 2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = self._runner.addresses[0][1]
        if not self._fixed_public_url:
            host = f"[{self.host}]" if ":" in self.host else self.host
            self.public_url = f"http://{host}:{self.port}"

    async def close(self) -> None:
        self.closing = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for service in list(self.services):
            await service.stop()

    def banner_lines(self) -> list[str]:
        host = f"[{self.host}]" if ":" in self.host else self.host
        lines = [
            f"tui-attention: serving the tutor in the browser on http://{host}:{self.port}"
            f" (at most {self.max_sessions} tabs)",
            f"  attendees open: {self.public_url}/",
        ]
        if self.host in ("127.0.0.1", "localhost", "::1"):
            lines.append("  listening on loopback only: put a reverse proxy in front, or use --host")
        lines.append(f"  files:          {confinement()}")
        lines.append("  WARNING: no authentication and no TLS: anyone who can reach this port gets a tutor.")
        lines.append("  Press Ctrl+C to stop.")
        return lines

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
        """As textual-serve's, but a malformed message is skipped and sizes are clamped."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
                kind = envelope[0]
            except (ValueError, TypeError, IndexError, KeyError):
                continue
            if kind == "stdin" and len(envelope) > 1 and isinstance(envelope[1], str):
                await app_service.send_bytes(envelope[1].encode("utf-8", "replace"))
            elif kind == "resize" and len(envelope) > 1 and isinstance(envelope[1], dict):
                try:
                    cols, rows = clamp_size(int(envelope[1]["width"]), int(envelope[1]["height"]))
                except (KeyError, TypeError, ValueError):
                    continue
                await app_service.set_terminal_size(cols, rows)
            elif kind == "ping" and len(envelope) > 1:
                await websocket.send_json(["pong", envelope[1]])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1024 * 1024)
        cols, rows = clamp_size(to_int(request.query.get("width", "80"), 80), to_int(request.query.get("height", "24"), 24))
        peer = request.remote or "?"
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded:
            peer += f" (X-Forwarded-For {forwarded[:100]})"
        await websocket.prepare(request)
        if self.closing or len(self.services) >= self.max_sessions:
            log.info("refused %s: server full (%d tabs)", peer, self.max_sessions)
            message = (
                f"\r\nSorry, this workshop server is full ({self.max_sessions} sessions in use). "
                "Please try again in a few minutes.\r\n"
            )
            await websocket.send_bytes(message.encode())
            await websocket.close()
            return websocket

        log.info("connect %s (%d tabs)", peer, len(self.services) + 1)
        app_service = _TutorAppService(
            self.child_argv,
            self.limits,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=False,
        )
        self.services.add(app_service)
        self.sockets.add(websocket)
        try:
            await app_service.start(cols, rows)
            await self._process_messages(websocket, app_service)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # one tab's trouble stays in that tab
            log.warning("session of %s failed: %r", peer, error)
        finally:
            self.sockets.discard(websocket)
            await asyncio.shield(app_service.stop())
            self.services.discard(app_service)
            if not websocket.closed:
                await websocket.close()
            returncode = app_service._process.returncode if app_service._process else None
            extra = f", tutor {exit_description(returncode)}" if returncode is not None else ""
            log.info("disconnect %s%s", peer, extra)
        return websocket
