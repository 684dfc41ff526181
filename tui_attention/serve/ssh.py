"""`tui-attention serve ssh`: one tutor per SSH session, and nothing else.

Built on asyncssh. Every shell session with a pseudo-terminal gets its own
tutor process (see `child.PtyChild`); exec requests, subsystems (sftp),
TCP/Unix/tun forwarding, agent and X11 forwarding are refused.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import time
from pathlib import Path
from typing import Sequence

import asyncssh

from tui_attention.infra.files import write_atomic
from tui_attention.infra.paths import data_dir
from tui_attention.serve.child import Limits, PtyChild, confinement, exit_description, remove_stale_workdirs

log = logging.getLogger("tui_attention.serve")

HOST_KEY_NAME = "ssh_host_ed25519_key"
MAX_PASSWORD_FAILURES = 3
# Puts the attendee's terminal back in order when the tutor did not get to
# (it crashed, was killed, or the server ended the session): leave the
# alternate screen, show the cursor, stop mouse/focus/paste reporting, pop
# the kitty keyboard mode, reset colours, re-enable line wrap.
RESET_TERMINAL = (
    b"\x1b[0m\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1015l"
    b"\x1b[?1006l\x1b[?1016l\x1b[?1004l\x1b[?2004l\x1b[?2048l\x1b[?7h\x1b[<u"
)


def load_or_create_host_key(path: Path | None = None) -> tuple[asyncssh.SSHKey, Path, bool]:
    """The server's host key, generated on first start and kept with mode 0600.

    Returns (key, path, created).
    """
    path = path or data_dir() / HOST_KEY_NAME
    created = False
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519", comment="tui-attention host key")
        try:
            # Never replaces a key another server just wrote.
            write_atomic(path, key.export_private_key(), make_parents=True, exclusive=True)
            created = True
        except FileExistsError:
            pass
    if path.stat().st_mode & 0o077:
        log.warning("host key %s was readable by others; setting its mode to 0600", path)
        os.chmod(path, 0o600)
    try:
        key = asyncssh.read_private_key(str(path))
    except (OSError, asyncssh.KeyImportError) as exc:
        raise ValueError(f"cannot read the SSH host key {path}: {exc}") from None
    return key, path, created


def _format_peer(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peer or "?")


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
        login_timeout: float = 60.0,
        keepalive_interval: float = 30.0,
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
        self.keepalive_interval = keepalive_interval
        # Unauthenticated connections are cheap for a client to open: cap them too.
        self.max_connections = 2 * max_sessions + 16
        self.host_key: asyncssh.SSHKey | None = None
        self.host_key_created = False
        self._listener: asyncssh.SSHAcceptor | None = None
        self.connections: set[_Connection] = set()
        self.sessions: set[_Session] = set()  # sessions holding a slot (a child)
        self.closing = False

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

    async def start(self) -> None:
        remove_stale_workdirs()
        self.host_key, self.host_key_path, self.host_key_created = load_or_create_host_key(self.host_key_path)
        auth: dict = {}
        if self.authorized_keys is not None:
            auth["authorized_client_keys"] = asyncssh.read_authorized_keys(self.authorized_keys)
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
            login_timeout=self.login_timeout,
            keepalive_interval=self.keepalive_interval,
            keepalive_count_max=3,
            **auth,
        )

    def banner_lines(self) -> list[str]:
        host = f"[{self.host}]" if ":" in self.host else self.host
        lines = [
            f"tui-attention: serving the tutor over SSH on {host}:{self.port}"
            f" (at most {self.max_sessions} sessions, idle timeout {self.idle_timeout:g} s)",
            f"  attendees run:  ssh -p {self.port} "
            + (host if self.host not in ("0.0.0.0", "::", "") else "<address of this machine>"),
        ]
        if self.host in ("127.0.0.1", "localhost", "::1"):
            lines.append("  listening on loopback only: add --host 0.0.0.0 to let other machines connect")
        assert self.host_key is not None
        lines.append(f"  host key:       {self.host_key.get_fingerprint()} ({self.host_key_path})")
        lines.append(f"  files:          {confinement()}")
        if self.password is not None:
            lines.append("  login:          any user name, with the workshop password")
        elif self.authorized_keys is not None:
            lines.append(f"  login:          keys listed in {self.authorized_keys}")
        else:
            lines.append(
                "  WARNING: no --password and no --authorized-keys: anyone who can reach this port gets a tutor."
            )
        lines.append("  Press Ctrl+C to stop.")
        return lines

    # -- slots ---------------------------------------------------------------

    def take_slot(self, session: _Session) -> bool:
        if self.closing or len(self.sessions) >= self.max_sessions:
            return False
        self.sessions.add(session)
        return True

    def release_slot(self, session: _Session) -> None:
        self.sessions.discard(session)

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
    """One SSH connection: authentication and the refusal of everything but sessions."""

    def __init__(self, server: TutorSSHServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.peer = "?"
        self.started = time.monotonic()
        self.failures = 0
        self.sessions: set[_Session] = set()
        self.last_exit: str | None = None
        self.lost = False
        self._close_timer: asyncio.TimerHandle | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.peer = _format_peer(conn.get_extra_info("peername"))
        self.server.connections.add(self)
        log.info("connect %s (%d connections, %d sessions)", self.peer, len(self.server.connections), len(self.server.sessions))
        if len(self.server.connections) > self.server.max_connections or self.server.closing:
            asyncio.get_running_loop().call_soon(
                conn.disconnect, asyncssh.DISC_TOO_MANY_CONNECTIONS, "too many connections, try again later"
            )

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.lost = True
        if self._close_timer is not None:
            self._close_timer.cancel()
        for session in list(self.sessions):
            session.connection_lost(exc)
        reason = f"error: {exc}" if exc else "closed"
        extra = f", tutor {self.last_exit}" if self.last_exit else ""
        log.info("disconnect %s after %.1f s (%s%s)", self.peer, time.monotonic() - self.started, reason, extra)

    # -- authentication --------------------------------------------------------

    def begin_auth(self, username: str) -> bool:
        return self.server.auth_required

    def password_auth_supported(self) -> bool:
        return self.server.password is not None

    def validate_password(self, username: str, password: str) -> bool:
        expected = self.server.password
        if expected is not None and hmac.compare_digest(password.encode(), expected.encode()):
            return True
        self.failures += 1
        log.info("wrong password from %s", self.peer)
        if self.failures >= MAX_PASSWORD_FAILURES and self.conn is not None:
            asyncio.get_running_loop().call_soon(
                self.conn.disconnect, asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "too many wrong passwords"
            )
        return False

    def public_key_auth_supported(self) -> bool:
        return self.server.authorized_keys is not None

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    # -- channels --------------------------------------------------------------

    def session_requested(self) -> _Session:
        return _Session(self.server, self)

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> bool:
        log.info("refused port forwarding to %s:%s from %s", dest_host, dest_port, self.peer)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "port forwarding is disabled")

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        log.info("refused remote port forwarding (%s:%s) from %s", listen_host, listen_port, self.peer)
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        log.info("refused unix socket forwarding from %s", self.peer)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "forwarding is disabled")

    def unix_server_requested(self, listen_path: str) -> bool:
        log.info("refused remote unix socket forwarding from %s", self.peer)
        return False

    def tun_requested(self, unit: int | None) -> bool:
        log.info("refused tunnel from %s", self.peer)
        raise asyncssh.ChannelOpenError(asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, "tunnels are disabled")

    def session_ended(self, session: _Session) -> None:
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


class _Session(asyncssh.SSHServerSession):
    """One shell session: a tutor process on a pseudo-terminal."""

    def __init__(self, server: TutorSSHServer, connection: _Connection) -> None:
        self.server = server
        self.connection = connection
        self.chan: asyncssh.SSHServerChannel | None = None
        self.term: str | None = None
        self.size = (80, 24)
        self.shell = False
        self.child: PtyChild | None = None
        self.closed = False
        self.ended = False
        self.end_message: str | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._last_input = 0.0
        connection.sessions.add(self)

    @property
    def peer(self) -> str:
        return self.connection.peer

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes) -> bool:
        self.term = term_type or ""
        self.size = (term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        self.shell = True
        return True

    def exec_requested(self, command: str) -> bool:
        log.info("refused exec request from %s", self.peer)
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        log.info("refused subsystem %r from %s", subsystem[:40], self.peer)
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal: str) -> None:
        pass

    # -- start -------------------------------------------------------------------

    def session_started(self) -> None:
        if not self.shell:  # cannot happen: everything else was refused
            self._finish(1, "Only the tutor is available here.")
            return
        if self.term is None:
            self._finish(1, "The tutor needs a terminal: connect with `ssh -t`.")
            return
        if not self.server.take_slot(self):
            log.info("refused %s: server full (%d sessions)", self.peer, self.server.max_sessions)
            self._finish(
                1,
                f"Sorry, this workshop server is full ({self.server.max_sessions} sessions in use). "
                "Please try again in a few minutes.",
            )
            return
        colorterm = None
        if self.chan is not None:
            colorterm = self.chan.get_environment().get("COLORTERM")
        self.child = PtyChild(
            self.server.child_argv,
            on_output=self._child_output,
            on_exit=self._child_exit,
            term=self.term,
            colorterm=colorterm,
            size=self.size,
            limits=self.server.limits,
        )
        try:
            self.child.start()
        except OSError as exc:
            self.server.release_slot(self)
            log.error("could not start a tutor for %s: %s", self.peer, exc)
            self.child = None
            self._finish(1, "The tutor could not be started on the server.")
            return
        if self.server.idle_timeout > 0:
            self._last_input = time.monotonic()
            self._arm_idle(self.server.idle_timeout)

    # -- traffic -----------------------------------------------------------------

    def data_received(self, data: bytes, datatype) -> None:
        self._last_input = time.monotonic()
        if self.child is not None and not self.ended:
            self.child.write(data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = (width, height)
        if self.child is not None:
            self.child.resize(width, height)

    def pause_writing(self) -> None:
        if self.child is not None:
            self.child.pause_output()

    def resume_writing(self) -> None:
        if self.child is not None:
            self.child.resume_output()

    def eof_received(self) -> bool:
        self.end(None)
        return True  # stay half-open until the child is gone

    def _child_output(self, data: bytes) -> None:
        if not self.closed and self.chan is not None and self.end_message is None:
            self.chan.write(data)

    # -- idle --------------------------------------------------------------------

    def _arm_idle(self, delay: float) -> None:
        self._idle_timer = asyncio.get_running_loop().call_later(delay, self._idle_check)

    def _idle_check(self) -> None:
        self._idle_timer = None
        idle = time.monotonic() - self._last_input
        remaining = self.server.idle_timeout - idle
        if remaining > 0.01:
            self._arm_idle(remaining)
            return
        log.info("closing idle session of %s", self.peer)
        self.end(f"Closed after {self.server.idle_timeout:g} seconds without a key press. Reconnect to start again.")

    # -- end ---------------------------------------------------------------------

    def end(self, message: str | None) -> None:
        """End the session from the server side: stop the tutor, then say `message`."""
        if self.ended:
            return
        self.ended = True
        self.end_message = message
        if self.child is not None and self.child.running:
            self.child.terminate()  # _child_exit finishes the session
        else:
            self._finish(1, message)

    def _child_exit(self, returncode: int) -> None:
        self.server.release_slot(self)
        description = exit_description(returncode)
        self.connection.last_exit = description
        if self.end_message is not None:
            self._finish(1, self.end_message)
        elif returncode == 0 or self.ended:
            self._finish(returncode if 0 <= returncode < 256 else 255, None)
        else:
            log.info("tutor of %s stopped: %s", self.peer, description)
            self._finish(
                returncode if 0 < returncode < 256 else 255,
                f"The tutor stopped unexpectedly ({description}); closing the connection.",
            )

    def _finish(self, status: int, message: str | None) -> None:
        """Say `message` (if any) on a clean terminal, then close the channel."""
        self._cancel_idle()
        if not self.closed and self.chan is not None:
            try:
                if message:
                    # Only a terminal needs (or wants) the reset sequence.
                    reset = RESET_TERMINAL if self.term is not None else b""
                    self.chan.write(reset + b"\r\n" + message.encode() + b"\r\n")
                self.chan.exit(status)
            except (OSError, asyncssh.Error, RuntimeError):  # the channel went away meanwhile
                pass
        self.connection.session_ended(self)

    def _cancel_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.ended = True
        self._cancel_idle()
        if self.child is not None and self.child.running:
            self.child.terminate()  # _child_exit releases the slot once reaped
        elif self.child is None:
            self.server.release_slot(self)
        self.connection.session_ended(self)
