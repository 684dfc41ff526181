"""What a tutor started by `tui-attention serve` knows about being served.

The server starts each attendee's tutor with this environment (see `serve.child`):

    TUI_ATTENTION_SERVED=1           the tutor is served: it writes only inside its session
                                     folder (its working directory and HOME)
    TUI_ATTENTION_ERROR_FD=N         an open file, inherited from the server, where an
                                     internal error's traceback goes, for the instructor's
                                     log; the attendee sees one line. It has no name in the
                                     session folder, so nothing an attendee saves can forge it
    TUI_ATTENTION_ERROR_LOG=PATH     the same as a file name, for a tutor started by hand
                                     (a server never sets it)
    TUI_ATTENTION_UNCONFINED=1       the server runs without Landlock (`serve --unconfined`):
                                     the tutor says so on its status line
    TUI_ATTENTION_DISK_BUDGET=BYTES  what all its saves and exports may take in its session
                                     folder (`serve --session-disk`), checked before each
                                     save or export

Nothing here trusts more than it must: a missing or empty variable means "not so".
"""

from __future__ import annotations

import os
import stat
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from tui_attention.i18n import _

MAX_REPORT_BYTES = 64 * 1024  # one traceback; the server reads no more than this


@dataclass(frozen=True)
class Served:
    """A served tutor: `root` is the only folder it writes in; tracebacks go to the open file
    `error_fd` (the server's), else to `error_log`."""

    root: Path
    error_log: Path | None = None
    unconfined: bool = False
    error_fd: int | None = None
    disk_budget: int | None = None  # bytes of the session folder its saves and exports may fill

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Served | None:
        """The served settings from the environment, or None for a tutor the learner started."""
        if environ.get("TUI_ATTENTION_SERVED") != "1":
            return None
        log = environ.get("TUI_ATTENTION_ERROR_LOG") or None
        return cls(root=Path.cwd(), error_log=Path(log) if log else None,
                   unconfined=environ.get("TUI_ATTENTION_UNCONFINED") == "1",
                   error_fd=_report_file(environ.get("TUI_ATTENTION_ERROR_FD", "")),
                   disk_budget=disk_budget(environ))

    def report(self, error: BaseException) -> str:
        """Write `error`'s traceback to the error report (bounded, replacing an earlier one)
        and return the one line an attendee sees instead."""
        return self.report_text("".join(traceback.format_exception(error)), type(error).__name__)

    def report_text(self, details: str, kind: str) -> str:
        """`report` for an error known only by its printed traceback `details` and its `kind`
        (the exception's class name)."""
        text = details.encode("utf-8", "backslashreplace")
        text = text[-MAX_REPORT_BYTES:]  # the end of a traceback names the error
        try:
            if self.error_fd is not None:
                os.ftruncate(self.error_fd, 0)
                os.pwrite(self.error_fd, text, 0)
            elif self.error_log is not None:
                fd = os.open(self.error_log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(text)
        except OSError:
            pass  # the attendee's line below still holds; the server logs the exit status
        return _("tui-attention stopped on an internal error ({kind}); the instructor's log has the details. "
                 "Connect again to start over.").format(kind=kind)


def disk_budget(environ: Mapping[str, str] = os.environ) -> int | None:
    """The bytes a served tutor's saves and exports may take in its session folder
    (TUI_ATTENTION_DISK_BUDGET, a whole number), or None: not served, or no budget given."""
    text = environ.get("TUI_ATTENTION_DISK_BUDGET", "")
    if environ.get("TUI_ATTENTION_SERVED") != "1" or not text.isdigit():
        return None
    return int(text)


def _report_file(text: str) -> int | None:
    """The inherited descriptor named by TUI_ATTENTION_ERROR_FD, if it is an open regular file
    (made not inheritable: nothing the tutor might start gets it); else None."""
    if not text.isdigit():
        return None
    fd = int(text)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        os.set_inheritable(fd, False)
    except OSError:
        return None
    return fd
