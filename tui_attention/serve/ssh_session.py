"""One SSH shell session of `serve ssh`: a tutor process on a pseudo-terminal.

`Session` starts the attendee's tutor (`pty_child.PtyChild`) once the client asks for
a shell with a terminal, passes keys through `guard.InputFilter` (bounded escape
sequences, a byte rate; past it the channel stops reading, so the SSH window stops
the client), coalesces window changes, closes idle sessions, and says on a clean
terminal why a session ends. `guard_requests` bounds the channel requests asyncssh
would answer by itself (env) and logs the forwarding it refuses (X11, agent).
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncssh

from tui_attention.serve.child import exit_description
from tui_attention.serve.pty_child import PtyChild
from tui_attention.serve.guard import InputFilter, clean, error_summary

log = logging.getLogger("tui_attention.serve")

MAX_ENV_VARIABLES = 32  # env requests kept per session (only COLORTERM is used)
MAX_ENV_BYTES = 1024  # of one name and value
RESIZE_DELAY = 0.05  # seconds: a burst of window changes reaches the tutor as its last size
# Puts the attendee's terminal back in order when the tutor did not get to
# (it crashed, was killed, or the server ended the session): leave the
# alternate screen, show the cursor, stop mouse/focus/paste reporting, pop
# the kitty keyboard mode, reset colours, re-enable line wrap.
RESET_TERMINAL = (
    b"\x1b[0m\x1b[?1049l\x1b[?25h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1015l"
    b"\x1b[?1006l\x1b[?1016l\x1b[?1004l\x1b[?2004l\x1b[?2048l\x1b[?7h\x1b[<u"
)


def guard_requests(chan: asyncssh.SSHServerChannel, session: Session) -> None:
    """Bound and log the channel requests asyncssh answers by itself: env (kept without limit
    by asyncssh), X11 and agent forwarding (refused by the server's options, silently).

    asyncssh looks a request's handler up by name on the channel (`_process_<name>_request`);
    these instance attributes take precedence. tests/serve/test_ssh_hardening.py checks
    that they are still consulted.
    """
    env = chan._process_env_request  # noqa: SLF001 - asyncssh's own handler, kept for the requests that fit
    kept = {"count": 0}

    def process_env(packet) -> bool:
        size = len(packet.get_remaining_payload())
        if kept["count"] >= MAX_ENV_VARIABLES or size > MAX_ENV_BYTES:
            session.connection.refused("env", "refused an env request (%d bytes, %d kept) from %s", size,
                                       kept["count"], session.peer)
            return False
        kept["count"] += 1
        return env(packet)

    def refuse(what: str):
        def process(packet) -> bool:
            session.connection.refused(what, "refused %s forwarding from %s", what, session.peer)
            return False

        return process

    chan._process_env_request = process_env  # noqa: SLF001
    chan._process_x11_req_request = refuse("X11")  # noqa: SLF001
    chan._process_auth_agent_req_at_openssh_dot_com_request = refuse("agent")  # noqa: SLF001


class Session(asyncssh.SSHServerSession):
    """One shell session: a tutor process on a pseudo-terminal. `server` is the
    `ssh.TutorSSHServer` (its slots, limits and child command), `connection` the SSH
    connection that opened the session (its peer, its refusal log)."""

    def __init__(self, server, connection) -> None:
        self.server = server
        self.connection = connection
        self.chan: asyncssh.SSHServerChannel | None = None
        self.term: str | None = None
        self.size = (80, 24)
        self.shell = False
        self.child: PtyChild | None = None
        self.member = None  # this session in the server's room, if it has one
        self.closed = False
        self.ended = False
        self.end_message: str | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._last_input = 0.0
        self.input = InputFilter()
        self._held = b""  # keys past the input rate, sent when it allows
        self._resume: asyncio.TimerHandle | None = None
        self._resize: asyncio.TimerHandle | None = None
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
        self.connection.refused("exec", "refused exec request %s from %s", clean(command, 60), self.peer)
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        self.connection.refused("exec", "refused subsystem %s from %s", clean(subsystem, 40), self.peer)
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
            self.connection.refused("no-pty", "refused a session without a terminal (ssh -T) from %s", self.peer)
            self._finish(1, "The tutor needs a terminal: connect with `ssh -t`.")
            return
        why = self.server.slot_refusal(self)
        if why is not None:
            self.connection.refused("full", "refused a tutor to %s: %s", self.peer, why)
            self._finish(1, why)
            return
        colorterm = None
        if self.chan is not None:
            colorterm = self.chan.get_environment().get("COLORTERM")
        if self.server.room is not None:
            self.member = self.server.room.join()
        self.child = PtyChild(
            self.server.child_argv,
            on_output=self._child_output,
            on_exit=self._child_exit,
            term=self.term,
            colorterm=colorterm,
            size=self.size,
            limits=self.server.limits,
            on_error_report=self._error_report,
            unconfined=self.server.unconfined,
            channel_fd=self.member.child_fd if self.member is not None else None,
        )
        try:
            self.child.start()
            if self._output_held:
                self._apply_output_hold()
        except OSError as exc:
            self.server.release_slot(self)
            log.error("could not start a tutor for %s: %s", self.peer, clean(exc))
            self.child = None
            self._finish(1, "The tutor could not be started on the server.")
            return
        if self.member is not None:
            self.member.started()
            self.member.on_lead = self._led
        if self.server.idle_timeout > 0:
            self._last_input = time.monotonic()
            self._arm_idle(self.server.idle_timeout)

    # -- traffic -----------------------------------------------------------------

    def data_received(self, data: bytes, datatype) -> None:
        self._last_input = time.monotonic()
        if self.member is not None:
            self.member.touch()
        self._pass(bytes(self._held) + self.input.scan(data))

    def _pass(self, data: bytes) -> None:
        """Send what the input filter lets through now of scanned `data`; past the rate, stop
        reading the channel (the SSH window then stops the client) until the filter allows
        more. What is held was scanned already: it goes back through `release` alone."""
        now, self._held = self.input.release(data)
        if now and self.child is not None and not self.ended:
            self.child.write(now)
        if self._held and self._resume is None and self.chan is not None:
            self.chan.pause_reading()
            self._resume = asyncio.get_running_loop().call_later(self.input.wait(), self._resume_input)

    def _resume_input(self) -> None:
        self._resume = None
        held, self._held = self._held, b""
        self._pass(held)
        if not self._held and self.chan is not None and not self.closed:
            self.chan.resume_reading()

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        # A flood of window changes reaches the tutor as one resize, to its last size.
        self.size = (width, height)
        if self._resize is None and self.child is not None:
            self._resize = asyncio.get_running_loop().call_later(RESIZE_DELAY, self._apply_resize)

    def _apply_resize(self) -> None:
        self._resize = None
        if self.child is not None:
            self.child.resize(*self.size)

    # The tutor's output waits while the channel's window is used up ("channel") or while the
    # connection's socket buffer is full ("socket", ssh._Connection._bound_output): the client
    # sets the window, up to 2**31, so the window alone bounds nothing.
    _output_held: frozenset = frozenset()

    def hold_output(self, reason: str, held: bool) -> None:
        self._output_held = self._output_held | {reason} if held else self._output_held - {reason}
        self._apply_output_hold()

    def _apply_output_hold(self) -> None:
        if self.child is not None:
            if self._output_held:
                self.child.pause_output()
            else:
                self.child.resume_output()

    def pause_writing(self) -> None:
        self.hold_output("channel", True)

    def resume_writing(self) -> None:
        self.hold_output("channel", False)

    def eof_received(self) -> bool:
        self.end(None)
        return True  # stay half-open until the child is gone

    def _child_output(self, data: bytes) -> None:
        if not self.closed and self.chan is not None and self.end_message is None:
            self.chan.write(data)

    def _error_report(self, report: str) -> None:
        """The tutor stopped on an internal error: for the instructor, its innermost frame and the
        error itself (the attendee saw one line; the text is the tutor's, so it is escaped)."""
        log.error("tutor of %s stopped on an internal error: %s", self.peer, error_summary(report))

    # -- idle --------------------------------------------------------------------

    def _arm_idle(self, delay: float) -> None:
        self._idle_timer = asyncio.get_running_loop().call_later(delay, self._idle_check)

    def _led(self) -> None:
        self._last_input = time.monotonic()

    def _idle_check(self) -> None:
        self._idle_timer = None
        if self.member is not None and self.member.led:
            self._led()  # following the instructor (locked, nothing to press) is not idle
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
        self._cancel_timers()
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

    def _cancel_timers(self) -> None:
        for name in ("_idle_timer", "_resume", "_resize"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.ended = True
        self._cancel_timers()
        if self.child is not None and self.child.running:
            self.child.terminate()  # _child_exit releases the slot once reaped
        elif self.child is None:
            self.server.release_slot(self)
        self.connection.session_ended(self)
