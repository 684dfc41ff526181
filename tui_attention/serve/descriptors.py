"""File descriptors of a server: enough for its sessions before it starts, and one warning, not
a flood, when they run out anyway.

`serve ssh` and `serve web` alike raise their open-file limit to the hard limit at start-up
(`guard.file_descriptors`) and refuse to start, in one line, when even that is below what
--max-sessions needs (DescriptorBudgetError). Past it, CPython's accept loop reports every
failed accept(); `AcceptStorms` says so once every 10 s with a count.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from tui_attention.serve.guard import clean, file_descriptors

log = logging.getLogger("tui_attention.serve")

ACCEPT_WARNING_EVERY = 10.0  # seconds between two "out of file descriptors" warnings
SPARE_DESCRIPTORS = 32  # the loop, the log, the room's socket, the listening sockets, a tutor being spawned


class DescriptorBudgetError(ValueError):
    """Too few file descriptors for the tabs asked for (`serve/running.py` prints it as one line)."""


def open_descriptors() -> int:
    """How many file descriptors this process has open now."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 32  # an unknown count: guess high rather than low


class AcceptStorms:
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


def check_descriptors(max_sessions: int, per_session: int, connections: int, backlog: int) -> None:
    """Raise the open-file limit to what `max_sessions` sessions of `per_session` descriptors
    each, `connections` sockets and a `backlog` accepted in one turn need (asyncio may accept a
    whole backlog before any of it is refused), or refuse to start: past it every newcomer was
    told "The tutor could not be started" and asyncio's accept loop filled the log."""
    needed = open_descriptors() + SPARE_DESCRIPTORS + per_session * max_sessions + connections + backlog
    soft, needed = file_descriptors(needed)
    if soft < needed:
        raise DescriptorBudgetError(
            f"the open-file limit (ulimit -n) is {soft}, too low for --max-sessions {max_sessions}: "
            f"it needs about {needed} file descriptors; raise it (ulimit -n {needed}) or serve fewer sessions"
        )
