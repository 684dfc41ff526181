"""The instructor's control socket: how `serve status`, `serve lead` and `serve dashboard` reach
a running server on this machine, and nobody else can.

Each server listens on a Unix socket of its own, `<dir>/<kind>-<pid>.sock`, where `<dir>` is
`$XDG_RUNTIME_DIR/tui-attention` (or `/tmp/tui-attention-<uid>` without one). Before it binds,
and before a client connects, the directory is checked: a real directory (not a link), owned
by this user, mode 0700 (nothing for group or others), and the socket owned by this user, mode
0600. On every connection the server asks the kernel who is at the other end (SO_PEERCRED) and
hangs up on any other user, root included. So several servers may run at once (one socket
each, found by `discover()`), and another local user can neither reach the directory nor
attach through a socket of theirs.

The tutors run as the instructor's user, so the uid says nothing about them, and Landlock does
not govern connect() to a pathname socket: a confined tutor can reach the socket. What it
cannot do is read a file outside its allow-list. So each server also writes a random key,
`<kind>-<pid>.key` (0600) beside its socket, and a connection must send that key as its first
line before any request is read; without it, it gets one error line and is hung up on.

The requests and replies are `infra.channel`'s (newline-delimited JSON); `Room.handle` answers
them. `RoomServer` runs a server (ssh or web) with its room and control socket together, and
writes the answer table as CSV when it stops.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import socket
import stat
import struct
import time
from pathlib import Path
from typing import Any, NamedTuple

from tui_attention.infra.channel import (MAX_REPLY, MAX_REPORT, ChannelError, decode_reply, decode_request,
                                         encode)
from tui_attention.serve.guard import RefusalLog
from tui_attention.serve.room import Room

log = logging.getLogger("tui_attention.serve")

DIR_NAME = "tui-attention"
MAX_CLIENTS = 8  # control connections at once (a dashboard holds one)
CLIENT_IDLE = 300.0  # seconds a control connection may stay silent
SOCKET_PATH_MAX = 107  # bytes of a Unix socket path (sun_path), without its NUL
KEY_WAIT = 5.0  # seconds a new connection has to send the key (the instructor's client sends it at once)
MAX_UNPROVEN = 16  # connections yet to send the key; past it the oldest is dropped, so that a tutor
# that cannot read the key can still not hold the instructor's client out by keeping many waiting
KEY_LENGTH = 64  # hex digits of the key


class ControlError(Exception):
    """The control socket cannot be made or reached: one line, for the instructor."""


class Credentials(NamedTuple):
    pid: int
    uid: int
    gid: int


def control_dir(environ=os.environ) -> Path:
    """Where this user's servers put their sockets: $XDG_RUNTIME_DIR/tui-attention when that is
    an absolute path, else /tmp/tui-attention-<uid>."""
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        return Path(runtime) / DIR_NAME
    return Path("/tmp") / f"{DIR_NAME}-{os.getuid()}"


def dir_problem(st: os.stat_result, uid: int) -> str | None:
    """Why a directory with this lstat() may not hold control sockets, or None."""
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_uid != uid:
        return f"belongs to user {st.st_uid}, not to you ({uid})"
    if st.st_mode & 0o077:
        return f"has mode {stat.S_IMODE(st.st_mode):04o}: others may enter it (it must be 0700)"
    return None


def socket_problem(st: os.stat_result, uid: int) -> str | None:
    """Why a file with this lstat() is not a control socket to trust, or None."""
    return _private_file_problem(st, uid, stat.S_ISSOCK(st.st_mode), "a socket")


def key_problem(st: os.stat_result, uid: int) -> str | None:
    """Why a file with this stat() is not a server's key to trust, or None."""
    return _private_file_problem(st, uid, stat.S_ISREG(st.st_mode), "a regular file")


def _private_file_problem(st: os.stat_result, uid: int, right_type: bool, what: str) -> str | None:
    """Both must be this user's alone (0600): another user able to replace or read either could
    stand in for the server or for the instructor."""
    if not right_type:
        return f"is not {what}"
    if st.st_uid != uid:
        return f"belongs to user {st.st_uid}, not to you ({uid})"
    if st.st_mode & 0o177:
        return f"has mode {stat.S_IMODE(st.st_mode):04o} (it must be 0600)"
    return None


def peer_allowed(peer: Credentials, uid: int) -> bool:
    """Only the instructor's own user may attach (not even root: it has other ways in)."""
    return peer.uid == uid


def peer_credentials(sock: socket.socket) -> Credentials:
    """Who is at the other end of a Unix socket, from the kernel (SO_PEERCRED)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return Credentials(*struct.unpack("3i", raw))


def key_path(socket_path: Path) -> Path:
    """The key file of the server listening at `socket_path`: the same name, ending in .key."""
    return socket_path.with_suffix(".key")


def read_key(socket_path: Path) -> bytes:
    """The key of the server at `socket_path`; ControlError if it is missing or not this user's
    alone (0600). A tutor, confined by Landlock, cannot read it."""
    path = key_path(socket_path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ControlError(f"cannot read the key of the server at {socket_path}: {exc.strerror}") from None
    try:
        why = key_problem(os.fstat(fd), os.getuid())
        if why is not None:
            raise ControlError(f"{path} {why}")
        key = os.read(fd, KEY_LENGTH + 1).strip()
    finally:
        os.close(fd)
    if len(key) != KEY_LENGTH:
        raise ControlError(f"{path} is not a server's key")
    return key


def write_key(path: Path) -> bytes:
    """A new random key, written to `path` (0600, never through a link or over a file)."""
    key = secrets.token_hex(KEY_LENGTH // 2).encode()
    path.unlink(missing_ok=True)  # our own pid's: left by a server that had this pid
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise ControlError(f"cannot make the control key {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, key + b"\n")
    finally:
        os.close(fd)
    return key


def checked_dir(create: bool, environ=os.environ) -> Path:
    """The control directory, made (0700) if `create` and missing; ControlError if it is not
    safe to use."""
    path = control_dir(environ)
    uid = os.getuid()
    if create:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise ControlError(f"cannot make the control directory {path}: {exc.strerror}") from None
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        # A server started with another XDG_RUNTIME_DIR has its socket in another folder.
        raise ControlError(f"no workshop server of yours is running on this machine ({path} does not exist: give "
                           "XDG_RUNTIME_DIR as the server had it)") from None
    except OSError as exc:
        raise ControlError(f"cannot read the control directory {path}: {exc.strerror}") from None
    why = dir_problem(st, uid)
    if why is not None:
        raise ControlError(f"the control directory {path} {why}; remove it or fix it, then start again")
    return path


def discover(environ=os.environ) -> list[Path]:
    """The control sockets of this user's running servers, oldest first. Sockets of servers that
    are gone (nobody listening) are removed; a socket that fails the checks is skipped."""
    directory = checked_dir(create=False, environ=environ)
    found: list[tuple[float, Path]] = []
    uid = os.getuid()
    for path in directory.glob("*.sock"):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if socket_problem(st, uid) is not None:
            continue
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(2)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # its server was killed before it could tidy up
            key_path(path).unlink(missing_ok=True)
            continue
        except OSError:
            continue
        finally:
            probe.close()
        found.append((st.st_mtime, path))
    return [path for _mtime, path in sorted(found)]


def request(path: Path, kind: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
    """One request to the server at `path`, and its reply (ControlError if there is none)."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise ControlError(f"cannot reach {path}: {exc.strerror}") from None
    why = socket_problem(st, os.getuid())
    if why is not None:
        raise ControlError(f"{path} {why}")
    key = read_key(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path))
        sock.sendall(key + b"\n" + encode(kind, **fields))
        data = bytearray()
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            if len(data) > MAX_REPLY or time.monotonic() > deadline:
                raise ControlError(f"the server at {path} sent no reply")
            chunk = sock.recv(65536)
            if not chunk:
                raise ControlError(f"the server at {path} hung up (is it another user's?)")
            data += chunk
        reply = decode_reply(bytes(data))
    except ChannelError as exc:
        raise ControlError(f"the server at {path} sent a bad reply: {exc}") from None
    except (BrokenPipeError, ConnectionResetError):
        raise ControlError(f"the server at {path} hung up (is it another user's?)") from None
    except OSError as exc:
        raise ControlError(f"cannot reach {path}: {exc.strerror or exc}") from None
    finally:
        sock.close()
    if reply["kind"] == "error":
        raise ControlError(str(reply.get("error", "refused")))
    return reply


class ControlSocket:
    """The server side: listens at `<dir>/<kind>-<pid>.sock` and answers from `room` whoever
    is this user and first sends the key in `<dir>/<kind>-<pid>.key`."""

    def __init__(self, room: Room, kind: str, environ=os.environ) -> None:
        self.room = room
        self.kind = kind
        self.environ = environ
        self.path: Path | None = None
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task, asyncio.StreamWriter] = {}  # every one, until it ends
        self._clients: set[asyncio.Task] = set()  # those that showed the key
        self._unproven: dict[asyncio.Task, asyncio.StreamWriter] = {}  # oldest first
        self._key = b""
        self.refusals = RefusalLog()

    async def start(self) -> Path:
        directory = checked_dir(create=True, environ=self.environ)
        path = directory / f"{self.kind}-{os.getpid()}.sock"
        if len(os.fsencode(path)) > SOCKET_PATH_MAX:
            raise ControlError(f"the control socket path {path} is too long for a Unix socket; "
                               "set XDG_RUNTIME_DIR to a shorter directory")
        path.unlink(missing_ok=True)  # our own pid's: a socket left by a server that had this pid
        self._key = write_key(key_path(path))  # before the socket exists: a client that finds it finds the key
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # born 0600: no moment when others could connect
        try:
            sock.bind(str(path))
        except OSError as exc:
            sock.close()
            key_path(path).unlink(missing_ok=True)
            raise ControlError(f"cannot make the control socket {path}: {exc.strerror}") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        why = socket_problem(os.lstat(path), os.getuid())
        if why is not None:
            sock.close()
            key_path(path).unlink(missing_ok=True)
            raise ControlError(f"the control socket {path} {why}")
        sock.listen(MAX_CLIENTS)
        self._server = await asyncio.start_unix_server(self._accept, sock=sock, limit=MAX_REPORT)
        self.path = path
        return path

    async def close(self) -> None:
        # The socket and key go first: a dashboard that is hung up on below then finds no server
        # there, and says the server stopped rather than that it cannot read its key.
        if self.path is not None:
            self.path.unlink(missing_ok=True)
            key_path(self.path).unlink(missing_ok=True)
            self.path = None
        if self._server is not None:
            self._server.close()
            # Hung up, not cancelled: each connection's handler sees the end of its stream and
            # returns. (Cancelled, asyncio's own handler tasks logged "Exception in callback ...
            # CancelledError" once per attached dashboard when the server stopped.)
            for writer in self._connections.values():
                writer.transport.abort()
            tasks = list(self._connections)
            if tasks:
                _done, late = await asyncio.wait(tasks, timeout=1.0)  # the abort ends each at its next read
                for task in late:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            self._server = None

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A new connection: served by a task of ours, not by one asyncio makes for a coroutine
        callback, so that `close()` can end it without asyncio logging a cancelled task."""
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._connections[task] = writer
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task) -> None:
        self._connections.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("a control connection failed", exc_info=task.exception())

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            sock = writer.get_extra_info("socket")
            peer = peer_credentials(sock)
            if not peer_allowed(peer, os.getuid()) or len(self._clients) >= MAX_CLIENTS:
                why = "too many control connections" if peer_allowed(peer, os.getuid()) else "another user"
                self.refusals(f"uid {peer.uid}", "control", "refused a control connection from pid %d, uid %d: %s",
                              peer.pid, peer.uid, why)
                return
            shown = await self._shows_key(reader, writer, task)
            if shown is None:
                return  # closed without a word: `discover()` seeing whether anyone listens
            if not shown:
                self.refusals("key", "control", "refused a control connection from pid %d: it did not send the "
                              "server's key (a tutor, or another program of this user)", peer.pid)
                writer.write(encode("error", error="not the instructor's client: no key"))
                return
            self._clients.add(task)
            while True:
                try:
                    line = await asyncio.wait_for(reader.readline(), CLIENT_IDLE)
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(encode("error", error=f"a request is at most {MAX_REPORT} bytes"))
                    return
                if not line:
                    return
                try:
                    kind, fields = self.room.handle(decode_request(line))
                except ChannelError as exc:
                    kind, fields = "error", {"error": f"not a valid request: {exc}"}
                writer.write(encode(kind, **fields))
                await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            self._clients.discard(task)
            self._unproven.pop(task, None)
            writer.close()

    async def _shows_key(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         task: asyncio.Task) -> bool | None:
        """Whether the connection's first line, within KEY_WAIT seconds, is the key (None: it
        closed before sending anything); the oldest connection still owing its key is dropped
        past MAX_UNPROVEN."""
        if len(self._unproven) >= MAX_UNPROVEN:
            oldest = next(iter(self._unproven))
            self._unproven.pop(oldest).transport.abort()
        self._unproven[task] = writer
        try:
            line = await asyncio.wait_for(reader.readline(), KEY_WAIT)
        except (ValueError, asyncio.LimitOverrunError, TimeoutError):
            return False
        finally:
            self._unproven.pop(task, None)
        if not line:
            return None
        return hmac.compare_digest(line.rstrip(b"\n"), self._key)


class RoomServer:
    """A server (ssh or web) with its room and control socket, started and stopped together.
    On stop, the answer table is written as CSV to `answers_path` (if any answer was given)."""

    def __init__(self, server: Any, room: Room, kind: str, answers_path: Path) -> None:
        self.server, self.room, self.kind = server, room, kind
        self.answers_path = answers_path
        self.control = ControlSocket(room, kind)

    async def start(self) -> None:
        try:
            await self.control.start()
        except ControlError as exc:
            raise ValueError(str(exc)) from None  # one line, exit status 2
        try:
            await self.server.start()
        except BaseException:
            await self.control.close()
            raise
        self.room.info.update(kind=self.kind, pid=os.getpid(), port=self.server.port,
                              max_sessions=self.server.max_sessions, ask_name=self.room.ask_name,
                              started=round(time.time()))

    def banner_lines(self) -> list[str]:
        lines = self.server.banner_lines()
        extra = [f"  instructor:     tui-attention serve dashboard   (control socket {self.control.path})",
                 f"  answers:        written to {self.answers_path} when the server stops"]
        if self.room.ask_name:
            extra.append("  names:          each attendee is asked for a name, shown only in the dashboard")
        return [*lines[:-1], *extra, lines[-1]]

    async def close(self) -> None:
        await self.control.close()
        await self.server.close()
        self.room.close()
        if self.room.answers:
            try:
                where = self.room.write_answers(self.answers_path)
                log.info("wrote %d answers to %s", len(self.room.answers), where)
            except OSError as exc:
                log.error("could not write the answers to %s: %s", self.answers_path, exc.strerror or exc)


def default_answers_path(kind: str, directory: Path) -> Path:
    """answers-<kind>-<date>-<time>.csv in `directory`."""
    return directory / time.strftime(f"answers-{kind}-%Y%m%d-%H%M%S.csv")

