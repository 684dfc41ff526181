"""`tui-attention serve ssh`: one tutor per SSH session, and nothing else.

Built on asyncssh. Every shell session with a pseudo-terminal gets its own
tutor process (see `pty_child.PtyChild`); exec requests, subsystems (sftp),
TCP/Unix/tun forwarding, agent and X11 forwarding are refused and logged.

Before login a connection is cheap for a stranger to hold, so it is bounded
apart from the sessions: it has `login_timeout` seconds to log in; at most
`max_unauthenticated` wait at once, at most `max_unauthenticated_per_address`
(by default max(8, `max_per_address`)) from one address; past either cap the oldest waiting connection of the
address holding the most is dropped, never the newcomer, so that one address
cannot lock out the others. After login an address holds at most
`max_per_address` connections, each with one tutor, and a connection that
has not started its tutor within `session_grace` seconds is closed; tutors start
at most as often as `guard.StartRate` allows (per address and in all), since
each start costs about half a second of CPU. Wrong
passwords wait longer each time per address (`guard.Backoff`), and the password
checks of one user name from one address take turns (`guard.Turns`), so that parallel
connections do not multiply its rate. Every string a client sends is escaped before it is logged
(`guard.clean`), and repeated refusals from one address are logged once per burst
(`guard.RefusalLog`).

A key exchange is the one thing a stranger can make the server compute before login, so only
cheap ones are offered (`ssh_kex.CHEAP_KEX`: asyncssh's defaults include rsa2048-sha256, which makes a
new 2048-bit RSA key for each connection, about 40 ms of the loop's time), a connection may
start a new one (re-key) only a few times (`KEX_BURST`, then one per `KEX_INTERVAL`), and an
address may open new connections only so fast (`openings`): those past it are closed before
asyncssh has read a byte of them. The limits above bound what an address holds at once; this
one bounds how often it makes the server start over.

Before listening the server checks that its open-file limit covers `max_sessions` (as `serve
web` does), and a storm of failed accept() calls, should descriptors run out all the same, is
one warning every 10 s (`descriptors.AcceptStorms`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import asyncssh

from tui_attention.serve.budget import MemoryBudget
from tui_attention.serve.child import Limits, confinement, remove_stale_workdirs
from tui_attention.serve.guard import (Backoff, Buckets, Quota, ReadThrottle, RefusalLog, StartRate, Turns, clean,
                                      source_of)
from tui_attention.serve.room import Room
from tui_attention.serve.ssh_keys import load_or_create_host_key, read_authorized_keys
from tui_attention.serve.ssh_kex import KEX_BURST, KEX_INTERVAL, bound_key_exchanges, cheap_kex_algs
from tui_attention.serve.ssh_session import Session, guard_requests
from tui_attention.serve.descriptors import AcceptStorms, check_descriptors

log = logging.getLogger("tui_attention.serve")

MAX_PASSWORD_FAILURES = 3  # per connection; then it is closed
WINDOW = 64 * 1024  # bytes an attendee may send ahead of the tutor (asyncssh's default is 2 MB)
# Bytes a second (and at once) the server reads from one connection: before login a key exchange
# and a password take a few KB; after it, keys reach a tutor at 8 KB a second at most
# (guard.InputFilter), and SSH's framing of one key press costs about 100 bytes more: 16 KB a
# second is 160 keys a second. The server's cost is per packet (about 60 µs), not per byte: at
# 64 KB a second, SSH_MSG_IGNORE packets of 32 bytes from 4 connections raised an attendee's key
# p95 from 57 to 505 ms (security audit).
READ_BEFORE_LOGIN = (8 * 1024, 16 * 1024)
MAX_TURN_NAME = 256  # characters of a user name that tell password turns apart
READ_AFTER_LOGIN = (16 * 1024, 64 * 1024)
MAX_PACKET = 16 * 1024
# Bytes of a tutor's output the server holds for a client that does not read them (a frame at
# 80x24 is 5-30 KB, a full 1000x1000 screen a few MB): past it the tutor waits.
OUTPUT_BUFFER = 256 * 1024
# An address may open twice the connections it may hold waiting to log in at once, then as
# many again every OPENINGS_REFILL seconds (20 at once, then 2 a second, by default).
OPENINGS_PER_WAITING, OPENINGS_REFILL = 2, 10.0
BACKLOG = 100  # connections the kernel queues before accept(); asyncio may accept them all in one turn
# Descriptors a session holds besides its connection's socket: its terminal's master side, a
# pidfd, its error report and its room channel (measured: 4, and 5 with the socket).
DESCRIPTORS_PER_SESSION = 4


def _format_peer(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return clean(peer or "?", 60)


class TutorSSHServer:
    """The SSH server: a listener, its connections and their tutor sessions.

    child_argv is the command of each tutor (normally `child.tutor_argv(...)`;
    tests inject a stand-in). Use `await start()`, then `await close()`.
    """

    def __init__(
        self,
        child_argv: Sequence[str],
        *,
        host: str = "127.0.0.1",
        port: int = 2222,
        max_sessions: int = 50,
        idle_timeout: float = 900.0,
        password: str | None = None,
        authorized_keys: str | None = None,
        host_key_path: Path | None = None,
        limits: Limits = Limits(),
        login_timeout: float = 20.0,
        session_grace: float = 20.0,
        keepalive_interval: float = 30.0,
        max_per_address: int = 10,
        max_unauthenticated: int | None = None,
        max_unauthenticated_per_address: int | None = None,
        memory_budget_mb: int | None = None,
        unconfined: bool = False,
        room: Room | None = None,
        start_burst: int = 3,
        start_interval: float = 2.0,
    ) -> None:
        if password is not None and authorized_keys is not None:
            raise ValueError("use either a password or authorized keys, not both")
        self.child_argv = list(child_argv)
        self.host = host
        self.requested_port = port
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.password = password
        self.authorized_keys = authorized_keys
        self.host_key_path = host_key_path
        self.limits = limits
        self.login_timeout = login_timeout
        self.session_grace = session_grace
        self.keepalive_interval = keepalive_interval
        self.max_per_address = max_per_address
        self.max_unauthenticated = max_unauthenticated or max(32, max_sessions)
        # Never below what one address may hold after login: with --max-per-address raised for a
        # room behind one NAT address, a fixed 8 dropped attendees who were about to log in.
        self.max_unauthenticated_per_address = max_unauthenticated_per_address or max(8, max_per_address)
        self.budget = MemoryBudget(memory_budget_mb)
        self.unconfined = unconfined
        self.room = room  # with a room, each tutor reports to it (see `room`, `control`)
        # Logged-in connections are bounded by the per-address cap and the session grace;
        # this is the backstop against many addresses at once.
        self.max_authenticated = 2 * max_sessions + 16
        self.host_key: asyncssh.SSHKey | None = None
        self.host_key_created = False
        self._listener: asyncssh.SSHAcceptor | None = None
        self.connections: set[_Connection] = set()
        self.waiting: dict[_Connection, None] = {}  # not logged in yet, oldest first
        self.logged_in: Counter[str] = Counter()  # source -> logged-in connections
        self.sessions: set[Session] = set()  # sessions holding a slot (a child)
        self.closing = False
        self.refusal = RefusalLog()
        self.backoff = Backoff()
        self.password_turns = Turns()  # one password check at a time per address and user name
        self.starts = StartRate(start_burst, start_interval)  # how often tutors may start
        self.connect_log = Quota(5, 10.0)  # "connect"/"disconnect" lines per source
        # Tied to what an address may hold waiting, so that a room behind one NAT address, served
        # with --max-per-address raised for it, may also connect all at once (and retry).
        openings = OPENINGS_PER_WAITING * self.max_unauthenticated_per_address
        self.openings = Buckets(openings, OPENINGS_REFILL / openings)

    @property
    def auth_required(self) -> bool:
        return self.password is not None or self.authorized_keys is not None

    @property
    def port(self) -> int:
        assert self._listener is not None, "not started"
        return self._listener.get_port()

    @property
    def child_pids(self) -> list[int]:
        return [s.child.pid for s in self.sessions if s.child is not None and s.child.pid is not None]

    def check_descriptors(self) -> None:
        """Refuse to start (one line, exit status 2) below the open-file limit `max_sessions` needs."""
        check_descriptors(self.max_sessions, DESCRIPTORS_PER_SESSION,
                          self.max_authenticated + self.max_unauthenticated, BACKLOG)

    def opening_refusal(self, source: str) -> str | None:
        """Why a connection `source` opens now is closed at once, or None (it is counted)."""
        if self.openings.wait(source) > 0:
            return (f"more than {self.openings.burst:g} new connections at once from that address "
                    f"(then one every {self.openings.interval:g} s)")
        self.openings.take(source)
        return None

    async def start(self) -> None:
        self.check_descriptors()
        remove_stale_workdirs()
        loop = asyncio.get_running_loop()
        if not isinstance(loop.get_exception_handler(), AcceptStorms):
            loop.set_exception_handler(AcceptStorms(loop, loop.get_exception_handler()))
        self.host_key, self.host_key_path, self.host_key_created = load_or_create_host_key(self.host_key_path)
        auth: dict = {}
        if self.authorized_keys is not None:
            auth["authorized_client_keys"] = read_authorized_keys(self.authorized_keys)
        self._listener = await asyncssh.create_server(
            lambda: _Connection(self),
            self.host,
            self.requested_port,
            server_host_keys=[self.host_key],
            server_version="tui-attention",
            encoding=None,  # raw bytes both ways
            line_editor=False,  # the tutor handles every key itself
            allow_pty=True,
            x11_forwarding=False,
            agent_forwarding=False,
            sftp_factory=None,
            kbdint_auth=False,
            host_based_auth=False,
            password_auth=self.password is not None,
            public_key_auth=self.authorized_keys is not None,
            gss_host=None,
            kex_algs=cheap_kex_algs(),
            backlog=BACKLOG,
            login_timeout=self.login_timeout,
            keepalive_interval=self.keepalive_interval,
            keepalive_count_max=3,
            window=WINDOW,
            max_pktsize=MAX_PACKET,
            **auth,
        )

    def banner_lines(self) -> list[str]:
        host = f"[{self.host}]" if ":" in self.host else self.host
        lines = [
            f"tui-attention: serving the tutor over SSH on {host}:{self.port}"
            f" (at most {self.max_sessions} sessions, {self.max_per_address} per address,"
            f" idle timeout {self.idle_timeout:g} s)",
            f"  attendees run:  ssh -p {self.port} "
            + (host if self.host not in ("0.0.0.0", "::", "") else "<address of this machine>"),
        ]
        if self.host in ("127.0.0.1", "localhost", "::1"):
            lines.append("  listening on loopback only: add --host 0.0.0.0 to let other machines connect")
        assert self.host_key is not None
        lines.append(f"  host key:       {self.host_key.get_fingerprint()} ({self.host_key_path})")
        lines.append(f"  files:          {confinement()}")
        if self.unconfined:
            lines.append("  UNCONFINED (--unconfined): every attendee's status line says so")
        lines.append(f"  memory:         {self.budget.describe()}, {self.limits.memory_mb} MB each at most")
        lines.append(f"  disk:           {self.limits.session_disk_mb:g} MB of saves and exports per session")
        lines.append(f"  starts:         {self.starts.describe()}")
        if self.password is not None:
            # Password turns are per address and user name: attendees behind one NAT address who
            # share a name (a lab's common account) share a turn, which a guesser can hold.
            lines.append("  login:          any user name, with the workshop password; ask attendees to use "
                         "their own names (ssh NAME@host)")
        elif self.authorized_keys is not None:
            lines.append(f"  login:          keys listed in {self.authorized_keys}")
        else:
            lines.append(
                "  WARNING: no --password and no --authorized-keys: anyone who can reach this port gets a tutor."
            )
        lines.append("  Press Ctrl+C to stop.")
        return lines

    # -- connections before and after login ------------------------------------

    def admit(self, connection: _Connection) -> None:
        """A new connection waits for login; past a cap, the oldest waiting connection of the
        address that holds the most is dropped (never the newcomer), and one that has not asked
        to log in yet before one that has: with one connection per address (many addresses),
        the oldest would otherwise be an attendee typing their password, dropped by a stream
        of connections that send a version line and nothing more."""
        self.waiting[connection] = None
        mine = [c for c in self.waiting if c.source == connection.source]
        if len(mine) > self.max_unauthenticated_per_address:
            # Within the address too: an attendee at the password prompt behind a shared (NAT)
            # address outlasts a stream of connections from it that never ask to log in.
            quiet = [c for c in mine if not c.authenticating and c is not connection]
            self.drop_waiting((quiet or mine)[0], "too many connections waiting to log in from one address")
        if len(self.waiting) > self.max_unauthenticated:
            candidates = [c for c in self.waiting if not c.authenticating and c is not connection]
            candidates = candidates or list(self.waiting)
            counts = Counter(c.source for c in candidates)
            busiest = max(counts, key=counts.__getitem__)
            oldest = next(c for c in candidates if c.source == busiest)
            self.drop_waiting(oldest, "too many connections waiting to log in")

    def drop_waiting(self, connection: _Connection, why: str) -> None:
        self.waiting.pop(connection, None)
        self.refusal(connection.source, "waiting", "dropped %s: %s", connection.peer, why)
        if connection.conn is not None:
            asyncio.get_running_loop().call_soon(connection.conn.abort)

    def logged_in_refusal(self, connection: _Connection) -> str | None:
        """Called at login: None if the connection may stay, else the reason it may not."""
        self.waiting.pop(connection, None)
        if self.closing:
            return "the workshop server is shutting down"
        if self.logged_in[connection.source] >= self.max_per_address:
            return f"at most {self.max_per_address} connections from one address"
        if sum(self.logged_in.values()) >= self.max_authenticated:
            return "too many connections, try again later"
        self.logged_in[connection.source] += 1
        return None

    def forget(self, connection: _Connection) -> None:
        self.connections.discard(connection)
        self.waiting.pop(connection, None)
        if connection.counted:
            self.logged_in[connection.source] -= 1
            if self.logged_in[connection.source] <= 0:
                del self.logged_in[connection.source]

    # -- slots ---------------------------------------------------------------

    def slot_refusal(self, session: Session) -> str | None:
        """Take a tutor slot for `session`: None, or why there is none (one line for the attendee)."""
        if self.closing:
            return "The workshop server is shutting down."
        if len(self.sessions) >= self.max_sessions:
            return (f"Sorry, this workshop server is full ({self.max_sessions} sessions in use). "
                    "Please try again in a few minutes.")
        if (why := self.starts.refusal(session.connection.source)) is not None:
            return why
        if (why := self.budget.admit(self.child_pids)) is not None:
            return why
        self.starts.started(session.connection.source)
        self.sessions.add(session)
        return None

    def release_slot(self, session: Session) -> None:
        self.sessions.discard(session)
        if self.room is not None:
            self.room.leave(session.member)

    # -- shutdown ------------------------------------------------------------

    async def close(self, timeout: float = 5.0) -> None:
        """Stop listening, end every session, reap every child, close every connection."""
        self.closing = True
        if self._listener is not None:
            self._listener.close()
        for session in list(self.sessions):
            session.end("The workshop server is shutting down.")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.sessions and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for session in list(self.sessions):  # past the grace period: no mercy
            if session.child is not None:
                session.child.kill()
        while self.sessions and loop.time() < deadline + 2:
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            if connection.conn is not None:
                connection.conn.close()
        while self.connections and loop.time() < deadline + 3:
            await asyncio.sleep(0.05)
        if self._listener is not None:
            await self._listener.wait_closed()
            self._listener = None


class _Connection(asyncssh.SSHServer):
    """One SSH connection: authentication and the refusal of everything but one session."""

    def __init__(self, server: TutorSSHServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.peer = "?"
        self.source = "?"
        self.started = time.monotonic()
        self.failures = 0
        self.authenticating = False  # the client has finished its key exchange and asked to log in
        self.counted = False  # in server.logged_in
        self.sessions: set[Session] = set()
        self.last_exit: str | None = None
        self.lost = False
        self.turned_away = False  # opened past the address's rate: closed before any SSH
        self._close_timer: asyncio.TimerHandle | None = None
        self._grace_timer: asyncio.TimerHandle | None = None

    def log_event(self, message: str, *args: object) -> None:
        """connect/disconnect lines, at most a few per address in a burst."""
        if self.server.connect_log.allow(self.source):
            log.info(message, *args)

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.peer = _format_peer(peer)
        self.source = source_of(peer)
        if (why := self.server.opening_refusal(self.source)) is not None:
            self.turned_away = True
            self.server.refusal(self.source, "opening", "refused a connection from %s: %s", self.peer, why)
            # Now, not with call_soon: a turn later the socket may have been read, and asyncssh
            # would answer the client's KEXINIT. Aborted inside connection_made, asyncssh sends
            # not even its version line, and the transport closes before its first read.
            conn.abort()
            return
        self._throttle_reads(conn)
        self._bound_output(conn)
        self._bound_key_exchanges(conn)
        self.server.connections.add(self)
        self.log_event("connect %s (%d connections, %d sessions)", self.peer, len(self.server.connections),
                       len(self.server.sessions))
        if self.server.closing:
            asyncio.get_running_loop().call_soon(conn.abort)
            return
        self.server.admit(self)

    _reads: ReadThrottle | None = None

    def _throttle_reads(self, conn: asyncssh.SSHServerConnection) -> None:
        """Every read from this client is counted (`guard.ReadThrottle`), before login at a
        lower rate. asyncssh reads through its connection's data_received, which the
        transport looks up on each read."""
        transport = getattr(conn, "_transport", None)
        if transport is None or not hasattr(transport, "pause_reading"):
            return
        self._reads = reads = ReadThrottle(transport, *READ_BEFORE_LOGIN)
        received = conn.data_received

        def counted(data: bytes, datatype: object = None) -> None:
            received(data, datatype)
            reads.received(len(data))

        conn.data_received = counted  # type: ignore[method-assign]

    output_full = False  # the socket's send buffer is past OUTPUT_BUFFER: the tutor waits

    def _bound_output(self, conn: asyncssh.SSHServerConnection) -> None:
        """The tutor waits while OUTPUT_BUFFER bytes of its output wait in this connection's
        socket buffer. asyncssh ignores the transport's flow control (its pause_writing does
        nothing), and the channel's window is the client's to set: a client that granted 2**31
        and stopped reading made the server buffer 2 MB a second per connection, without end
        (security audit). The transport looks these two up on the connection when it calls."""
        transport = getattr(conn, "_transport", None)
        if transport is None or not hasattr(transport, "set_write_buffer_limits"):
            return
        transport.set_write_buffer_limits(high=OUTPUT_BUFFER, low=OUTPUT_BUFFER // 4)

        def full(now: bool) -> None:
            self.output_full = now
            for session in list(self.sessions):
                session.hold_output("socket", now)

        conn.pause_writing = lambda: full(True)  # type: ignore[method-assign]
        conn.resume_writing = lambda: full(False)  # type: ignore[method-assign]

    def _bound_key_exchanges(self, conn: asyncssh.SSHServerConnection) -> None:
        """Key exchanges past `ssh_kex.KEX_BURST` (then one per KEX_INTERVAL) disconnect the client."""
        def refused() -> None:
            self.refused("rekey", "closing %s: more than %d key exchanges (then one every %g s)", self.peer,
                         KEX_BURST, KEX_INTERVAL)

        bound_key_exchanges(conn, refused)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.turned_away:
            self.lost = True
            return
        if self._reads is not None:
            self._reads.close()
        self.server.forget(self)
        self.lost = True
        for timer in (self._close_timer, self._grace_timer):
            if timer is not None:
                timer.cancel()
        for session in list(self.sessions):
            session.connection_lost(exc)
        reason = f"error: {clean(exc)}" if exc else "closed"
        extra = f", tutor {self.last_exit}" if self.last_exit else ""
        self.log_event("disconnect %s after %.1f s (%s%s)", self.peer, time.monotonic() - self.started, reason,
                       extra)

    def disconnect(self, code: int, why: str) -> None:
        if self.conn is not None and not self.lost:
            asyncio.get_running_loop().call_soon(self.conn.disconnect, code, why)

    # -- authentication --------------------------------------------------------

    def begin_auth(self, username: str) -> bool:
        self.authenticating = True
        return self.server.auth_required

    def auth_completed(self) -> None:
        why = self.server.logged_in_refusal(self)
        if why is not None:
            self.server.refusal(self.source, "login", "refused %s after login: %s", self.peer, why)
            self.disconnect(asyncssh.DISC_TOO_MANY_CONNECTIONS, why)
            return
        self.counted = True
        if self._reads is not None:
            self._reads.limit(*READ_AFTER_LOGIN)
        if self.server.session_grace > 0:
            self._grace_timer = asyncio.get_running_loop().call_later(self.server.session_grace, self._no_tutor)

    def _no_tutor(self) -> None:
        """The session grace is over: a connection without a running tutor holds nothing open."""
        self._grace_timer = None
        if not self.lost and not any(s.child is not None for s in self.sessions):
            self.server.refusal(self.source, "grace", "closing %s: no tutor started within %g s", self.peer,
                                self.server.session_grace)
            self.disconnect(asyncssh.DISC_BY_APPLICATION, "no session was started")

    def password_auth_supported(self) -> bool:
        return self.server.password is not None

    async def validate_password(self, username: str, password: str) -> bool:
        # Every answer to an address with recent wrong passwords waits, right or wrong, and the
        # checks of one user name from one address take turns (the last one's failure is counted
        # before the next reads its delay): guessing from one address under one name, over
        # however many connections, slows down to one try per `Backoff.longest` seconds, and
        # under many names to one per waiting connection (at most max_unauthenticated_per_address).
        # Not the address alone: attendees behind one NAT address share it, and one of them
        # guessing in a loop queued the others' right passwords past the login timeout.
        async with self.server.password_turns(f"{self.source} {username[:MAX_TURN_NAME]}"):
            delay = self.server.backoff.delay(self.source)
            if delay:
                await asyncio.sleep(delay)
            expected = self.server.password
            if expected is not None and hmac.compare_digest(password.encode(), expected.encode()):
                self.server.backoff.success(self.source)
                return True
            self.server.backoff.failure(self.source)
        self.failures += 1
        self.server.refusal(self.source, "password", "wrong password from %s (user %s)", self.peer,
                            clean(username, 40))
        if self.failures >= MAX_PASSWORD_FAILURES:
            self.disconnect(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many wrong passwords")
        return False

    def public_key_auth_supported(self) -> bool:
        return self.server.authorized_keys is not None

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    # -- channels --------------------------------------------------------------

    def refused(self, kind: str, message: str, *args: object) -> None:
        self.server.refusal(self.source, kind, message, *args)

    def session_requested(self):
        if self.sessions:  # one at a time: a refused exec may be followed by a shell
            self.refused("session", "refused a second session on one connection from %s", self.peer)
            raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "one tutor per connection")
        assert self.conn is not None
        chan = self.conn.create_server_channel(encoding=None, window=WINDOW, max_pktsize=MAX_PACKET)
        session = Session(self.server, self)
        session.hold_output("socket", self.output_full)
        guard_requests(chan, session)
        return chan, session

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        self.refused("forward", "refused port forwarding to %s:%s from %s", clean(dest_host), dest_port, self.peer)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "port forwarding is disabled")

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        self.refused("forward", "refused remote port forwarding (%s:%s) from %s", clean(listen_host), listen_port,
                     self.peer)
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        self.refused("forward", "refused unix socket forwarding to %s from %s", clean(dest_path), self.peer)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "forwarding is disabled")

    def unix_server_requested(self, listen_path: str) -> bool:
        self.refused("forward", "refused remote unix socket forwarding (%s) from %s", clean(listen_path), self.peer)
        return False

    def tun_requested(self, unit: int | None) -> bool:
        self.refused("forward", "refused tunnel from %s", self.peer)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "tunnels are disabled")

    def session_ended(self, session: Session) -> None:
        """A session's channel is done; close the connection soon if it has no other."""
        self.sessions.discard(session)
        if not self.sessions and not self.lost and self.conn is not None and self._close_timer is None:
            # The client normally hangs up when its session channel closes;
            # this is the backstop, late enough to let the last line through.
            self._close_timer = asyncio.get_running_loop().call_later(2.0, self._close_if_idle)

    def _close_if_idle(self) -> None:
        self._close_timer = None
        if not self.sessions and not self.lost and self.conn is not None:
            self.conn.close()
