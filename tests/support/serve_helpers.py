"""Helpers for the serve tests: a stand-in tutor, a tiny terminal emulator, an SSH client."""

from __future__ import annotations

import asyncio
import codecs
import os
import re
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# A stand-in for the tutor: starts in milliseconds, raw mode, says what it
# sees (TERM, size), echoes keys as hex, reports resizes, quits on 'q',
# crashes (exit 3) on '!', allocates 2 GiB on 'M', spins forever on 'C', tries
# to write files on 'W', to open a TCP connection on 'N', and writes 64 MiB on 'F'.
STANDIN_SOURCE = r'''
import fcntl, os, signal, struct, sys, termios, tty
def size():
    rows, cols = struct.unpack("hh", fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 4))
    return cols, rows
def out(text):
    os.write(1, text.encode())
old = termios.tcgetattr(0)
tty.setraw(0)
signal.signal(signal.SIGWINCH, lambda *a: out("SIZE %dx%d\r\n" % size()))
out("STAND-IN READY TERM=%s SIZE %dx%d\r\n" % ((os.environ.get("TERM"),) + size()))
while True:
    data = os.read(0, 1024)
    if not data:
        break
    if b"q" in data:
        out("BYE\r\n")
        termios.tcsetattr(0, termios.TCSADRAIN, old)
        sys.exit(0)
    if b"!" in data:
        os._exit(3)
    if b"M" in data:
        hog = bytearray(2 << 30)  # 2 GiB: MemoryError under the address-space limit
    if b"C" in data:
        while True:  # spin until the CPU-time limit ends it
            pass
    if b"W" in data:  # write beside this script (outside the session) and in the cwd (inside)
        for where, path in (("OUTSIDE", os.path.join(os.path.dirname(sys.argv[0]), "escaped.txt")), ("INSIDE", "inside.txt")):
            try:
                with open(path, "w") as f:
                    f.write("x")
                out("%s WRITTEN\r\n" % where)
            except OSError as exc:
                out("%s DENIED errno=%d\r\n" % (where, exc.errno))
    if b"F" in data:  # a flood of output: 64 MiB, as fast as the terminal takes it
        block = b"x" * 65536
        for _ in range(1024):
            os.write(1, block)
        out("FLOOD DONE\r\n")
    if b"N" in data:  # a TCP connection (to the discard port; refused or forbidden)
        import socket
        try:
            socket.create_connection(("127.0.0.1", 9), timeout=2).close()
            out("TCP CONNECTED\r\n")
        except OSError as exc:
            out("TCP FAILED errno=%d\r\n" % exc.errno)
    out("KEY %s\r\n" % data.hex())
'''


def standin_argv(tmp_path: Path) -> list[str]:
    script = tmp_path / "standin.py"
    script.write_text(STANDIN_SOURCE)
    return [sys.executable, "-P", str(script)]


def tutor_available() -> bool:
    """True if the tutor package is in this checkout (this file is tests/support/serve_helpers.py)."""
    return (Path(__file__).resolve().parents[2] / "tui_attention" / "tui" / "app.py").exists()


# -- a tiny terminal emulator ---------------------------------------------------

_CSI_RE = re.compile(r"\x1b\[([\x30-\x3f]*)([\x20-\x2f]*)([\x40-\x7e])")


class Screen:
    """Just enough of a VT100/xterm to read Textual's output as text.

    Handles printable text, CR/LF/BS/TAB, cursor positioning (CUP, CUU/CUD/
    CUF/CUB, CHA, VPA), erase (ED, EL, ECH), the alternate screen, and skips
    SGR, other private modes, OSC/DCS strings and other escapes.
    """

    def __init__(self, cols: int = 80, rows: int = 24) -> None:
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.x = self.y = 0
        self.wrap = True
        self._main: list[list[str]] | None = None  # the main screen while the alternate one is shown
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""
        self.raw = bytearray()

    @staticmethod
    def _resized(old: list[list[str]], cols: int, rows: int) -> list[list[str]]:
        grid = [[" "] * cols for _ in range(rows)]
        for y in range(min(rows, len(old))):
            for x in range(min(cols, len(old[y]))):
                grid[y][x] = old[y][x]
        return grid

    def resize(self, cols: int, rows: int) -> None:
        self.grid = self._resized(self.grid, cols, rows)
        if self._main is not None:
            self._main = self._resized(self._main, cols, rows)
        self.cols, self.rows = cols, rows
        self.x, self.y = min(self.x, cols - 1), min(self.y, rows - 1)

    def text(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.grid)

    def clear(self) -> None:
        self.grid = [[" "] * self.cols for _ in range(self.rows)]

    def feed(self, data: bytes) -> None:
        self.raw += data
        s = self._pending + self._decoder.decode(data)
        self._pending = ""
        i, n = 0, len(s)
        while i < n:
            c = s[i]
            if c == "\x1b":
                if i + 1 >= n:
                    self._pending = s[i:]
                    return
                nxt = s[i + 1]
                if nxt == "[":
                    m = _CSI_RE.match(s, i)
                    if not m:
                        if re.fullmatch(r"\x1b\[[\x20-\x3f]*", s[i:]):
                            self._pending = s[i:]
                            return
                        i += 2
                        continue
                    self._csi(m.group(1), m.group(2), m.group(3))
                    i = m.end()
                elif nxt in "]P_^X":  # string up to BEL or ST
                    end = s.find("\x07", i)
                    st = s.find("\x1b\\", i)
                    ends = [e for e in (end, st) if e != -1]
                    if not ends:
                        self._pending = s[i:]
                        return
                    e = min(ends)
                    i = e + (1 if e == end else 2)
                elif nxt in "()*+":
                    i += 3
                else:
                    i += 2
            elif c == "\r":
                self.x = 0
                i += 1
            elif c == "\n":
                self._linefeed()
                i += 1
            elif c == "\b":
                self.x = max(0, self.x - 1)
                i += 1
            elif c == "\t":
                self.x = min(self.cols - 1, (self.x // 8 + 1) * 8)
                i += 1
            elif ord(c) < 32 or c == "\x7f":
                i += 1
            else:
                self._put(c)
                i += 1

    def _linefeed(self) -> None:
        if self.y == self.rows - 1:
            self.grid.pop(0)
            self.grid.append([" "] * self.cols)
        else:
            self.y += 1

    def _put(self, c: str) -> None:
        if self.x >= self.cols:
            if self.wrap:
                self.x = 0
                self._linefeed()
            else:
                self.x = self.cols - 1
        self.grid[self.y][self.x] = c
        self.x += 1

    def _csi(self, params: str, inter: str, final: str) -> None:
        if inter:
            return
        if params.startswith("?"):
            modes = params[1:].split(";")
            if final in "hl":
                if "1049" in modes or "47" in modes or "1047" in modes:
                    if final == "h" and self._main is None:  # enter the alternate screen
                        self._main = self.grid
                        self.grid = [[" "] * self.cols for _ in range(self.rows)]
                    elif final == "l" and self._main is not None:  # back to the main screen
                        self.grid, self._main = self._main, None
                if "7" in modes:
                    self.wrap = final == "h"
            return
        if params and params[0] in "<=>":
            return
        nums = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []

        def arg(k: int, default: int) -> int:
            return nums[k] if len(nums) > k and nums[k] else default

        if final in "Hf":
            self.y = min(self.rows - 1, arg(0, 1) - 1)
            self.x = min(self.cols - 1, arg(1, 1) - 1)
        elif final == "A":
            self.y = max(0, self.y - arg(0, 1))
        elif final == "B":
            self.y = min(self.rows - 1, self.y + arg(0, 1))
        elif final == "C":
            self.x = min(self.cols - 1, self.x + arg(0, 1))
        elif final == "D":
            self.x = max(0, self.x - arg(0, 1))
        elif final == "G":
            self.x = min(self.cols - 1, arg(0, 1) - 1)
        elif final == "d":
            self.y = min(self.rows - 1, arg(0, 1) - 1)
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode == 2 or mode == 3:
                self.clear()
            elif mode == 0:
                self.grid[self.y][self.x :] = [" "] * (self.cols - self.x)
                for y in range(self.y + 1, self.rows):
                    self.grid[y] = [" "] * self.cols
            elif mode == 1:
                for y in range(self.y):
                    self.grid[y] = [" "] * self.cols
                self.grid[self.y][: self.x + 1] = [" "] * (self.x + 1)
        elif final == "K":
            mode = nums[0] if nums else 0
            row = self.grid[self.y]
            if mode == 0:
                row[self.x :] = [" "] * (self.cols - self.x)
            elif mode == 1:
                row[: self.x + 1] = [" "] * (self.x + 1)
            else:
                self.grid[self.y] = [" "] * self.cols
        elif final == "X":
            k = arg(0, 1)
            for x in range(self.x, min(self.cols, self.x + k)):
                self.grid[self.y][x] = " "


# -- bounded waits ----------------------------------------------------------------


async def bounded(aw: Awaitable[T], timeout: float = 90.0) -> T:
    """Await `aw` for at most `timeout` seconds, else raise TimeoutError.

    The one bound on the serve tests: a server that stops answering makes a
    test fail instead of hang.
    """
    async with asyncio.timeout(timeout):
        return await aw


async def wait_until(predicate, timeout: float = 20.0, step: float = 0.02) -> bool:
    """Poll `predicate` until true or `timeout`; bounded in time and count."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / step) + 2):
        if predicate():
            return True
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(step)
    return bool(predicate())


# -- an SSH client with a pseudo-terminal ----------------------------------------


def _import_asyncssh():
    import asyncssh

    return asyncssh


def client_options(**extra) -> dict:
    """asyncssh client options that ignore the user's ~/.ssh (keys, agent, config, known_hosts)."""
    opts = dict(known_hosts=None, client_keys=None, agent_path=None, config=None, username="attendee", gss_host=None)
    opts.update(extra)
    return opts


class TerminalClient:
    """A real asyncssh client with a PTY, reading the screen through `Screen`."""

    def __init__(self, cols: int = 80, rows: int = 24) -> None:
        self.screen = Screen(cols, rows)
        self.conn = None
        self.chan = None
        self.exit_status: int | None = None
        self.closed = False
        self.received = 0

    async def connect(self, port: int, term: str = "xterm-256color", **options) -> "TerminalClient":
        asyncssh = _import_asyncssh()
        me = self

        class _Session(asyncssh.SSHClientSession):
            def data_received(self, data, datatype):
                me.received += len(data)
                me.screen.feed(data)

            def exit_status_received(self, status):
                me.exit_status = status

            def connection_lost(self, exc):
                me.closed = True

        self.conn = await asyncssh.connect("127.0.0.1", port, **client_options(**options))
        self.chan, _ = await self.conn.create_session(
            _Session, term_type=term, term_size=(self.screen.cols, self.screen.rows), encoding=None
        )
        return self

    def send(self, data: bytes | str) -> None:
        self.chan.write(data.encode() if isinstance(data, str) else data)

    def resize(self, cols: int, rows: int) -> None:
        self.screen.resize(cols, rows)
        self.chan.change_terminal_size(cols, rows)

    def text(self) -> str:
        return self.screen.text()

    async def wait_for(self, needle: str, timeout: float = 20.0) -> bool:
        return await wait_until(lambda: needle in self.text(), timeout)

    async def wait_closed(self, timeout: float = 20.0) -> bool:
        return await wait_until(lambda: self.closed, timeout)

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            try:
                await bounded(self.conn.wait_closed(), 10)
            except (TimeoutError, OSError):
                pass


def pid_gone(pid: int) -> bool:
    """True if `pid` no longer exists (not even as a zombie)."""
    return not os.path.exists(f"/proc/{pid}")


# -- the real command line, in a subprocess ---------------------------------------

_PORT_RE = re.compile(r" on (?:http://)?(?:\[[^\]]*\]|[^\s:]+):(\d+)")


class CliServer:
    """`python -P -m tui_attention serve ...` started on port 0; the banner gives the port."""

    def __init__(self, args: list[str], tmp_path: Path, cwd: Path | None = None) -> None:
        import subprocess

        self.err_path = tmp_path / "server.err"
        env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "xdg"))
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "tui_attention", "serve", *args, "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self._err,
            cwd=cwd or tmp_path,
            env=env,
        )
        self.banner = ""
        self.port = self._read_port()

    def _read_port(self, timeout: float = 30.0) -> int:
        import select

        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                m = _PORT_RE.search(buf.decode(errors="replace"))
                if m and b"Ctrl+C" in buf:
                    self.banner = buf.decode(errors="replace")
                    return int(m.group(1))
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise AssertionError(f"server did not start: {buf!r} {self.stderr()!r}")

    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.err_path.read_text(errors="replace")

    def descendants(self) -> list[int]:
        return descendants(self.proc.pid)

    def stop(self, timeout: float = 20.0) -> int:
        import signal
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._err.close()
        return self.proc.returncode


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def drain(sock) -> bytes:
    """Everything a non-blocking socket holds now (up to its peer's end), without waiting."""
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)
