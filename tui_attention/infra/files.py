"""Atomic file writes: a temporary file in the same folder, flushed to disk, then renamed.

A reader never sees a half-written file, and a failed write leaves the old
file as it was and no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable

Content = str | bytes | Callable[[IO], None]


def write_atomic(path: str | Path, content: Content, *, make_parents: bool = False,
                 exclusive: bool = False) -> Path:
    """Write `content` to `path` atomically and return the path. The file has mode 0600.

    content: text (written as UTF-8, newlines kept as given), bytes, or a
    function that writes to the open binary file (np.savez, say).
    make_parents: create missing folders first (mode 0700).
    exclusive: never replace an existing file; FileExistsError if `path` exists,
    even if another process wrote it a moment ago.
    Raises OSError when it cannot write.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if make_parents:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if isinstance(content, str):
                fh.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                fh.write(content)
            else:
                content(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # atomic, and fails rather than replace
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
