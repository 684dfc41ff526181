"""One browser tab's tutor in `serve web`: `TutorAppService` starts the guarded child
(textual-serve's per-tab process manager, with our wrapper, environment and session
directory) and relays its output; `TabInput` passes the tab's keys through an
`InputFilter` in order and coalesces its resizes.

When the tab goes away, its tutor is asked to quit (textual-serve's "quit" packet) once it
has drawn its first screen; before that it is ended with a signal instead. A Textual app
told to quit while its first screen is still mounting trips over its own half-removed
widgets (NoMatches: No child found with id='walkthrough', from the tutor screen's on_mount)
and exits with status 1 and an error report, for an error that is no bug, in the log of
every tab closed during start-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shlex
import shutil
import signal
from collections import deque
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from textual_serve.app_service import AppService

from tui_attention.serve.child import (Limits, child_environment, exit_description, make_error_report, make_workdir,
                                       read_error_report, wrapped_argv)
from tui_attention.serve.guard import InputFilter, clean, error_summary

log = logging.getLogger("tui_attention.serve")

# Close codes (4000-4999 are the application's) and the reasons the page shows.
CLOSE_IDLE, CLOSE_FULL, CLOSE_ADDRESS_FULL, CLOSE_TUTOR_STOPPED, CLOSE_NO_MEMORY = 4001, 4002, 4003, 4004, 4005
CLOSE_TOO_FAST = 4006  # too many tutors started from that address (or in all) just now
STOP_GRACE = 3.0  # seconds for a tab's tutor to quit after the tab went away
MAX_PENDING_INPUT = 256 * 1024  # bytes of keys waiting for a tutor; a message past it is dropped whole
# Keys are scanned (guard.InputFilter) on the server's only loop, at about 0.6-1.3 us a byte:
# one 256 KiB message scanned at once held every other tab for 150-400 ms. At most SCAN_CHUNK
# bytes are scanned before the loop runs again (SSH reads 8 KiB at once: guard.ReadThrottle),
# and a tab's scanning costs at most SCAN_RATE bytes a second after a burst of SCAN_BURST (SSH
# reads that much of a connection: ssh.READ_AFTER_LOGIN): keys that scan to nothing (an
# unreadable CSI sequence, "\x1b[1:2A" again and again) left room for the next 256 KiB at
# once, and one tab kept the loop busy, every other tab's round trip at 100-250 ms.
SCAN_CHUNK = 8 * 1024
SCAN_RATE, SCAN_BURST = 64 * 1024, MAX_PENDING_INPUT
CONTROL_INTERVAL = 0.1  # seconds between two resizes (or focus changes) passed to a tutor
STDERR_TAIL = 4096  # bytes of a tutor's stderr kept for the log
RESET_TERMINAL = b"\x1b[0m\x1b[?1049l\x1b[?25h"
# A frame of the tutor's screen starts by placing the cursor (CSI row;col H); what Textual writes
# before its first frame (alternate screen, mouse and paste modes, OSC 22) places nothing.
PAINT = re.compile(rb"\x1b\[\d+;\d+H")

class TutorAppService(AppService):
    """textual-serve's per-tab process manager, starting our guarded child."""

    def __init__(self, argv: Sequence[str], limits: Limits, *, shown: str = "?", close_reason: Any = None,
                 member: Any = None, **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.shown = shown  # the attendee's address, for the log
        self.argv = list(argv)
        self.limits = limits
        self.workdir: str | None = None
        self.stopping = False
        self.stderr_tail = b""
        self.input: TabInput | None = None  # set once the tutor runs
        self.close_reason = close_reason  # async (code, text): closes the tab with a reason
        self.member = member  # this tab in the server's room (`room.Member`), if it has one
        self.error_fd = -1  # the tutor's error report (child.make_error_report)
        self.painted = False  # the tutor has drawn its first screen

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        assert self.workdir is not None, "the working directory comes first"
        env = child_environment(self.workdir, "xterm-256color",
                                channel_fd=self.member.child_fd if self.member is not None else None,
                                error_fd=self.error_fd if self.error_fd >= 0 else None,
                                disk_budget=self.limits.session_disk_bytes)
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
        self.error_fd = make_error_report()
        self._process = process = await asyncio.create_subprocess_exec(
            *wrapped_argv(self.argv, self.limits, tty=False, confine=self.workdir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width, height),
            cwd=self.workdir,
            start_new_session=True,
            pass_fds=(self.error_fd, self.member.child_fd) if self.member is not None else (self.error_fd,),
        )
        if self.member is not None:
            self.member.started()
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def on_data(self, payload: bytes) -> None:
        if not self.painted and PAINT.search(payload):
            self.painted = True
        await super().on_data(payload)

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

    async def on_meta(self, data: bytes) -> None:
        """textual-serve's, but the tutor's "exit" packet does not close the tab: Textual sends
        it on any exit, after an error it caught too, and the tab closed then had no reason
        (1000, empty) for the page to show. `run` closes the tab once the exit status is known."""
        try:
            if json.loads(data).get("type") == "exit":
                return
        except (ValueError, AttributeError, RecursionError):
            return  # not a packet a Textual app sends
        await super().on_meta(data)

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
        """Ask the tutor to quit (once it has drawn its first screen; before, end it with a
        signal: see the module's docstring); kill its session if it does not; reap it; log its
        error report if it did not exit cleanly; remove its directory."""
        self.stopping = True
        task, self._task = self._task, None
        if task is not None:
            await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
            if self.painted:
                try:
                    await asyncio.wait_for(self.send_meta({"type": "quit"}), STOP_GRACE)
                except TimeoutError:
                    pass
            else:
                self._kill_group()
            done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
            if not done:
                self._kill_group()
                await asyncio.wait({task}, timeout=STOP_GRACE)
        if self._process is not None and await self._wait(STOP_GRACE) is None:
            self._kill_group()
            await self._wait(STOP_GRACE)
        if self.error_fd >= 0:
            returncode = self._process.returncode if self._process is not None else None
            # A tutor that quit cleanly has nothing to report, whatever the file holds.
            report = read_error_report(self.error_fd) if returncode not in (0, None) else None
            if report:  # the attendee saw one line; the instructor gets where and what
                log.error("tutor of %s stopped on an internal error: %s", self.shown, error_summary(report))
            os.close(self.error_fd)
            self.error_fd = -1
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


class TabInput:
    """What one tab sends its tutor: keys through an InputFilter, in order (what it holds back
    goes after `wait()` seconds; a message that would make more than 256 KiB wait is dropped
    whole, so the socket is always read and no escape sequence is cut), scanned SCAN_CHUNK
    bytes at a time and SCAN_RATE bytes a second after a burst (see SCAN_CHUNK); resizes and
    focus changes at most every 100 ms, the last one winning; and the time of the last key,
    for the idle timeout."""

    def __init__(self, service: AppService, loop: asyncio.AbstractEventLoop) -> None:
        self.service = service
        self.loop = loop
        self.filter = InputFilter()
        self.pending = bytearray()  # keys not scanned yet
        # [bytes left, arrival] of each message in `pending`: the filter's escape delay counts
        # from when a message came, not from when the rate let its chunk be scanned.
        self._arrivals: deque[list[float]] = deque()
        self._scan_tokens = float(SCAN_BURST)
        self._scan_stamp = loop.time()
        self.ready: bytes | memoryview = b""  # keys scanned (InputFilter.scan), held back by the rate
        self.last_key = loop.time()
        self.dropped = 0  # bytes of keys dropped
        self._keys_waiting = asyncio.Event()
        self._size: tuple[int, int] | None = None
        self._focus: bool | None = None
        self._control_waiting = asyncio.Event()
        self.tasks = [asyncio.create_task(self._send_keys()), asyncio.create_task(self._send_control())]

    def led(self) -> None:
        """The instructor led or released the room: for the idle timeout, as a key."""
        self.last_key = self.loop.time()

    def key(self, data: bytes) -> None:
        """Queue `data` for the tutor (or drop it whole if too much is waiting already)."""
        self.last_key = self.loop.time()
        if getattr(self.service, "member", None) is not None:
            self.service.member.touch()
        if len(self.pending) + len(self.ready) + len(data) > MAX_PENDING_INPUT:
            self.dropped += len(data)
            return
        self.pending += data
        self._arrivals.append([len(data), self.last_key])
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
            while self.pending or self.ready:
                # Each byte is scanned once; what the rate holds back waits scanned, in `ready`.
                scan_wait = self._scan_wait() if self.pending else 0.0
                if self.pending and scan_wait <= 0:
                    scanned = self._scan_chunk()
                    self.ready = bytes(self.ready) + scanned if self.ready else scanned
                now, self.ready = self.filter.release(self.ready)
                if now:
                    await self.service.send_bytes(now)
                if self.ready:
                    # A long backlog (a flood: keys come at a reading pace) is joined with new
                    # keys at most 20 times a second, not 200.
                    await asyncio.sleep(max(self.filter.wait(), 0.005 if len(self.ready) < 4096 else 0.05))
                elif self.pending:
                    await asyncio.sleep(scan_wait)  # 0 after a chunk: the other tabs' turn

    def _scan_wait(self) -> float:
        """Seconds until this tab may scan again (0: now)."""
        now = self.loop.time()
        self._scan_tokens = min(SCAN_BURST, self._scan_tokens + (now - self._scan_stamp) * SCAN_RATE)
        self._scan_stamp = now
        return max(0.0, -self._scan_tokens / SCAN_RATE)

    def _scan_chunk(self) -> bytes:
        """Scan the next SCAN_CHUNK bytes at most of `pending`, of one message, through the filter."""
        entry = self._arrivals[0]
        left, arrived = int(entry[0]), entry[1]
        take = min(left, SCAN_CHUNK)
        if 1 < take < left and self.pending[take - 1] == 0x1B:
            # An ESC that ends a scan passes alone, as the escape key, before the rest of its
            # sequence is read: a sequence the filter would drop whole (unreadable, too long)
            # would leave a stray escape key. Its chunk ends before it, as one whole scan would.
            take -= 1
        chunk = bytes(self.pending[:take])
        del self.pending[:take]
        if take == left:
            self._arrivals.popleft()
        else:
            entry[0] = left - take
        self._scan_tokens -= take
        return self.filter.scan(chunk, arrived)

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


# The messages a tab sends: ["stdin", text], ["resize", {"width": w, "height": h}],
# ["ping", token], ["blur"], ["focus"]. Anything else is skipped unparsed.
_ENVELOPE = re.compile(r'\s*\[\s*"(stdin|resize|ping|blur|focus)"\s*(,|\])')
SMALL_MESSAGE = 1024  # characters of any message but stdin's: a resize or a ping is under 100


def read_envelope(data: str) -> list | None:
    """A tab's message as [kind, *args], or None for anything else, at a cost linear in its
    size. json.loads of any JSON would do, but its cost is not linear in bytes: ["[]", "[]", ...]
    inflated to 1 MiB takes 215 ms to parse, and arrives deflated as 1 KB (security audit). So
    stdin's one string is scanned alone (json's C scanner), and other messages are parsed only
    when small."""
    head = _ENVELOPE.match(data)
    if head is None:
        return None
    kind, after = head.group(1), head.end()
    if kind != "stdin":
        if len(data) > SMALL_MESSAGE:
            return None
        try:
            envelope = json.loads(data)
        except (ValueError, RecursionError):
            return None
        return envelope if isinstance(envelope, list) else None
    if head.group(2) != ",":
        return None
    start = len(data) - len(data[after:].lstrip())
    if data[start:start + 1] != '"':
        return None
    try:
        text, end = json.decoder.scanstring(data, start + 1)
    except ValueError:
        return None
    if data[end:].strip() != "]":
        return None
    return ["stdin", text]
