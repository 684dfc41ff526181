"""`PtyChild`: one attendee's tutor on a pseudo-terminal, driven from the server's asyncio
loop without threads (the master side and a pidfd are watched with `add_reader`).

What the child is (its command line, environment, limits, session directory and
confinement) is `child`'s; this module only runs it: output and input with back
pressure, resizes, the SIGHUP-then-SIGKILL ending of its process group, the reaping,
the error report it left, and the removal of its directory.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import signal
import struct
import subprocess
import termios
from typing import Callable, Sequence

from tui_attention.serve.child import (Limits, child_environment, clamp_size, clean_term, make_error_report,
                                       make_workdir, read_error_report, wrapped_argv)

MAX_INPUT_BACKLOG = 64 * 1024  # bytes of attendee input waiting for the child
KILL_GRACE = 2.0  # seconds between SIGHUP and SIGKILL


def _set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))



class PtyChild:
    """A child process on a pseudo-terminal, driven from the running asyncio loop.

    on_output(bytes) gets everything the child writes; on_exit(returncode) is
    called exactly once, after the child has been reaped, its remaining output
    delivered and its working directory removed. If the tutor's exit was not
    clean (not status 0) and it left an error report in the file the server
    gave it (`make_error_report`, inherited), on_error_report(text) gets it
    first, just before the directory is removed; the text is the child's:
    escape it before logging. `unconfined` is passed
    to `child_environment`, and so is `channel_fd`, which the child inherits.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        on_output: Callable[[bytes], None],
        on_exit: Callable[[int], None],
        term: str | None = None,
        colorterm: str | None = None,
        size: tuple[int, int] = (80, 24),
        limits: Limits = Limits(),
        on_error_report: Callable[[str], None] | None = None,
        unconfined: bool | None = None,
        channel_fd: int | None = None,
    ) -> None:
        self.argv = list(argv)
        self._on_output = on_output
        self._on_exit = on_exit
        self._on_error_report = on_error_report
        self.unconfined = unconfined
        self.channel_fd = channel_fd  # the tutor's end of its room channel, inherited (see `room`)
        self.term = clean_term(term)
        self.colorterm = colorterm
        self.size = clamp_size(*size)
        self.limits = limits
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.workdir: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._master = -1
        self._pidfd = -1
        self._error_fd = -1  # the tutor's error report (child.make_error_report)
        self._reading = False
        self._paused = False
        self._output_closed = False
        self._inbuf = bytearray()
        self._writer_on = False
        self._kill_timer: asyncio.TimerHandle | None = None
        self._poll_timer: asyncio.TimerHandle | None = None
        self._finished = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and not self._finished

    # -- start -------------------------------------------------------------

    def start(self) -> None:
        """Start the child; on an error (out of file descriptors, say) raise it with nothing
        left behind: no session folder, no open descriptor. Each start that failed for want of
        descriptors left an empty folder in /tmp, as the folder was made outside the `try`."""
        self._loop = asyncio.get_running_loop()
        master = slave = -1
        try:
            self.workdir = make_workdir()
            self._error_fd = make_error_report()
            master, slave = os.openpty()
            _set_winsize(slave, *self.size)
            attrs = termios.tcgetattr(slave)
            attrs[0] |= getattr(termios, "IUTF8", 0)
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            env = child_environment(self.workdir, self.term, self.colorterm, unconfined=self.unconfined,
                                    channel_fd=self.channel_fd, error_fd=self._error_fd,
                                    disk_budget=self.limits.session_disk_bytes)
            passed = (self._error_fd,) if self.channel_fd is None else (self._error_fd, self.channel_fd)
            self.proc = subprocess.Popen(
                wrapped_argv(self.argv, self.limits, tty=True, confine=self.workdir),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                cwd=self.workdir,
                env=env,
                close_fds=True,
                pass_fds=passed,
                start_new_session=True,
            )
        except BaseException:
            for fd in (master, self._error_fd):
                if fd >= 0:
                    os.close(fd)
            self._error_fd = -1
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)
                self.workdir = None
            raise
        finally:
            if slave >= 0:
                os.close(slave)
        self._master = master
        os.set_blocking(master, False)
        self._start_reading()
        try:
            self._pidfd = os.pidfd_open(self.proc.pid)
        except (AttributeError, OSError):
            self._pidfd = -1
            self._poll_timer = self._loop.call_later(0.2, self._poll)
        else:
            self._loop.add_reader(self._pidfd, self._on_pidfd)

    # -- output ------------------------------------------------------------

    def _start_reading(self) -> None:
        if not self._reading and not self._paused and not self._output_closed and self._master >= 0:
            assert self._loop is not None
            self._loop.add_reader(self._master, self._on_readable)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading:
            assert self._loop is not None
            self._loop.remove_reader(self._master)
            self._reading = False

    def pause_output(self) -> None:
        """Stop reading the child's output (the client is not keeping up)."""
        self._paused = True
        self._stop_reading()

    def resume_output(self) -> None:
        self._paused = False
        self._start_reading()

    def _read_some(self) -> bytes | None:
        """Up to 64 KiB of output; b"" if nothing now; None once the terminal is closed."""
        try:
            return os.read(self._master, 65536) or None
        except BlockingIOError:
            return b""
        except OSError:  # EIO: every slave descriptor is closed
            return None

    def _on_readable(self) -> None:
        data = self._read_some()
        if data is None:
            self._output_closed = True
            self._stop_reading()
            # The child closed its terminal: it is on its way out. Make sure.
            if self.returncode is None:
                assert self._loop is not None
                self._loop.call_later(1.0, self.terminate)
        elif data:
            self._on_output(data)

    # -- input -------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Send the attendee's bytes to the child; past the backlog limit they are dropped."""
        if self._finished or self._master < 0 or not data:
            return
        if self._inbuf:
            room = MAX_INPUT_BACKLOG - len(self._inbuf)
            self._inbuf += data[: max(room, 0)]
            return
        try:
            n = os.write(self._master, data)
        except BlockingIOError:
            n = 0
        except OSError:
            return
        if n < len(data):
            self._inbuf += data[n : n + MAX_INPUT_BACKLOG]
            if not self._writer_on:
                assert self._loop is not None
                self._loop.add_writer(self._master, self._flush_input)
                self._writer_on = True

    def _flush_input(self) -> None:
        try:
            n = os.write(self._master, self._inbuf)
        except BlockingIOError:
            return
        except OSError:
            n = len(self._inbuf)
        del self._inbuf[:n]
        if not self._inbuf and self._writer_on:
            assert self._loop is not None
            self._loop.remove_writer(self._master)
            self._writer_on = False

    def resize(self, cols: int, rows: int) -> None:
        """New window size; the kernel sends SIGWINCH to the child."""
        self.size = clamp_size(cols, rows)
        if self._master >= 0 and not self._finished:
            try:
                _set_winsize(self._master, *self.size)
            except OSError:
                pass

    # -- end ---------------------------------------------------------------

    def _signal_group(self, sig: int) -> None:
        # Only while the leader is unreaped (alive or a zombie), so its id
        # cannot have been reused.
        if self.proc is not None and self.returncode is None:
            try:
                os.killpg(self.proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def terminate(self) -> None:
        """Hang up on the child; SIGKILL its whole session if it is still there after a grace period."""
        if self.proc is None or self.returncode is not None or self._kill_timer is not None:
            return
        self._signal_group(signal.SIGHUP)
        self._signal_group(signal.SIGCONT)
        assert self._loop is not None
        self._kill_timer = self._loop.call_later(KILL_GRACE, self._signal_group, signal.SIGKILL)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def _on_pidfd(self) -> None:
        self._reap()

    def _poll(self) -> None:
        """Fallback when pidfd_open is unavailable: look for the exit every 200 ms."""
        self._poll_timer = None
        assert self.proc is not None and self._loop is not None
        if self.proc.poll() is None:
            self._poll_timer = self._loop.call_later(0.2, self._poll)
            return
        self._reap()

    def _reap(self) -> None:
        if self._finished or self.proc is None:
            return
        # The leader is a zombie now: take down anything left in its group first.
        self._signal_group(signal.SIGKILL)
        returncode = self.proc.poll()
        if returncode is None:  # pidfd said exited; be safe
            try:
                returncode = self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                returncode = self.proc.wait()
        self.returncode = returncode
        # Deliver what is still buffered in the terminal.
        if self._master >= 0 and not self._output_closed:
            for _ in range(64):
                data = self._read_some()
                if not data:
                    break
                self._on_output(data)
        self._cleanup()
        self._on_exit(returncode)

    def _cleanup(self) -> None:
        self._finished = True
        loop = self._loop
        if self._kill_timer is not None:
            self._kill_timer.cancel()
            self._kill_timer = None
        if self._poll_timer is not None:
            self._poll_timer.cancel()
            self._poll_timer = None
        if self._master >= 0:
            self._stop_reading()
            if self._writer_on and loop is not None:
                loop.remove_writer(self._master)
                self._writer_on = False
            os.close(self._master)
            self._master = -1
        if self._pidfd >= 0:
            if loop is not None:
                loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        if self._error_fd >= 0:
            # Only an exit that was not clean has a report: a tutor that quit, with status 0,
            # has nothing to say, whatever the file holds.
            report = None
            if self._on_error_report is not None and self.returncode != 0:
                report = read_error_report(self._error_fd)
            os.close(self._error_fd)
            self._error_fd = -1
            if report is not None:
                assert self._on_error_report is not None
                try:
                    self._on_error_report(report)
                except Exception as exc:  # on_exit still comes, and the directory still goes
                    if loop is not None:
                        loop.call_exception_handler(
                            {"message": "on_error_report failed", "exception": exc}
                        )
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

