"""What a tutor started by `tui-attention serve` knows about being served.

The server starts each attendee's tutor with this environment (see `serve.child`):

    TUI_ATTENTION_SERVED=1           the tutor is served: it writes only inside its session
                                     folder (its working directory and HOME)
    TUI_ATTENTION_ERROR_LOG=PATH     where an internal error's traceback goes, for the
                                     instructor's log; the attendee sees one line
    TUI_ATTENTION_UNCONFINED=1       the server runs without Landlock (`serve --unconfined`):
                                     the tutor says so on its status line

Nothing here trusts more than it must: a missing or empty variable means "not so".
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from tui_attention.i18n import _

MAX_REPORT_BYTES = 64 * 1024  # one traceback; the server reads no more than this


@dataclass(frozen=True)
class Served:
    """A served tutor: `root` is the only folder it writes in; `error_log` receives tracebacks."""

    root: Path
    error_log: Path | None = None
    unconfined: bool = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Served | None:
        """The served settings from the environment, or None for a tutor the learner started."""
        if environ.get("TUI_ATTENTION_SERVED") != "1":
            return None
        log = environ.get("TUI_ATTENTION_ERROR_LOG") or None
        return cls(root=Path.cwd(), error_log=Path(log) if log else None,
                   unconfined=environ.get("TUI_ATTENTION_UNCONFINED") == "1")

    def report(self, error: BaseException) -> str:
        """Write `error`'s traceback to the error log (bounded) and return the one line an
        attendee sees instead."""
        if self.error_log is not None:
            text = "".join(traceback.format_exception(error)).encode("utf-8", "backslashreplace")
            try:
                fd = os.open(self.error_log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(text[-MAX_REPORT_BYTES:])  # the end of a traceback names the error
            except OSError:
                pass  # the attendee's line below still holds; the server logs the exit status
        return _("tui-attention stopped on an internal error ({kind}); the instructor's log has the details. "
                 "Connect again to start over.").format(kind=type(error).__name__)
