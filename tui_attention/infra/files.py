"""Atomic file writes: a temporary file in the same folder, flushed to disk, then renamed;
and bounded reads of the files the app is given to read (scenarios, the keymap, progress).

A reader never sees a half-written file, and a failed write leaves the old
file as it was and no temporary file behind.

Written as `open(path, "w")` would, but atomically: a symlink is written through (the file it
points to is replaced, next to itself, and the link is kept); a new file gets mode 0666 less
the umask, a replaced file keeps its mode; a FIFO, a device or a socket is refused (never
opened, so never waited on) with an OSError whose strerror says why in one line.

The app's own files stay this user's alone (0600) when new: a secret made once (exclusive:
the SSH host key) and what it keeps in folders it makes itself (make_parents, 0700: progress,
trained scenarios, the room's answer tables). A name the user gives (exports, saves) gets
what `open` would give it.

`read_regular` reads a regular file and nothing else, and at most a bound: a FIFO is opened
without waiting for a writer and refused, as are devices (/dev/zero would never end), sockets
and folders, each with one line.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Callable

from tui_attention.i18n import _

Content = str | bytes | Callable[[IO], None]

PRIVATE = 0o600  # a secret's mode: this user's alone


class NotAFileError(OSError):
    """The path names something that is not a file (a FIFO, a device, a socket); strerror is one line."""


class TooLargeError(OSError):
    """The file holds more bytes than the reader takes; strerror is one line."""


def _not_a_file(mode: int) -> str:
    """Why a file of st_mode `mode`, not a regular file nor a folder, is refused (one line)."""
    if stat.S_ISFIFO(mode):
        return _("it is a named pipe (FIFO), not a file")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("it is a device, not a file")
    if stat.S_ISSOCK(mode):
        return _("it is a socket, not a file")
    return _("it is not a regular file")


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file at `path` (links followed), if it holds at most `limit`.

    Raises FileNotFoundError, PermissionError, IsADirectoryError, NotAFileError (a FIFO, a
    device, a socket: opened without blocking and refused before any read), TooLargeError
    (more than `limit` bytes, counted as read: /proc files say size 0), or OSError.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotAFileError(errno.EINVAL, _not_a_file(mode), str(path))
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(limit + 1 - size, 1 << 20))):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise TooLargeError(errno.EFBIG, _("larger than {limit} MiB").format(limit=f"{limit / 2**20:g}"), str(path))
    return b"".join(chunks)


def write_atomic(path: str | Path, content: Content, *, make_parents: bool = False,
                 exclusive: bool = False, mode: int | None = None) -> Path:
    """Write `content` to `path` atomically and return the path.

    content: text (written as UTF-8, newlines kept as given), bytes, or a
    function that writes to the open binary file (np.savez, say).
    make_parents: create missing folders first (mode 0700), for the app's own files: a new
    file is then 0600 unless `mode` says otherwise.
    exclusive: never replace an existing file, nor write through a link; FileExistsError
    if `path` exists, even if another process wrote it a moment ago. For a secret made
    once (a key): the file is 0600 unless `mode` says otherwise.
    mode: the file's permission bits, whatever the umask (PRIVATE for a secret). By
    default a replaced file keeps its own, and a new file has 0666 less the umask (0600
    with make_parents or exclusive, above).

    A symlink at `path` is followed: the file it points to is written (created if the
    link dangles into a folder that exists) and the link stays. A folder at `path` is
    refused with IsADirectoryError, anything else that is not a file with NotAFileError.
    Raises OSError when it cannot write.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target, kept = (path, None) if exclusive else _destination(path)
    if mode is None:
        if kept is not None:
            mode = kept
        else:
            mode = PRIVATE if exclusive or make_parents else 0o666 & ~current_umask()
    # ".NAME.XXXXXXXX.tmp" beside the file; a name near the 255-byte limit is cut to fit.
    short = target.name.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{short}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            try:
                os.fchmod(fh.fileno(), mode)
            except OSError:  # a file system without modes (vfat): mkstemp's 0600, as private as can be
                pass
            if isinstance(content, str):
                fh.write(content.encode("utf-8"))
            elif isinstance(content, bytes):
                fh.write(content)
            else:
                content(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, target)  # atomic, and fails rather than replace
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_problem(path: str | Path) -> str | None:
    """Why `write_atomic(path)` would refuse what is at `path` now (a FIFO, a device, a socket,
    another user's link in a shared folder, a link into a missing folder), in one line; None
    when it would write (a folder is the caller's to name). Only looks (stat), as a prompt's
    check runs on every key typed."""
    try:
        _destination(Path(path))
    except IsADirectoryError:
        return None
    except (NotAFileError, PermissionError, FileNotFoundError) as exc:
        return exc.strerror
    except (OSError, ValueError):  # a link loop, a name too long, a NUL: write_atomic says so on submit
        return None
    return None


def _destination(path: Path) -> tuple[Path, int | None]:
    """The file to write for `path` (through a symlink, the file it points to) and the
    permission bits of the file there now (None if there is none).

    Raises IsADirectoryError for a folder, NotAFileError for anything else that is not a
    regular file, FileNotFoundError for a link into a folder that does not exist, and
    OSError for a link loop. Only looks (stat), never opens: a FIFO cannot block it.
    """
    linked = os.path.islink(path)
    if linked:
        _refuse_a_stranger_link(path)
    target = Path(os.path.realpath(path)) if linked else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        if linked and not os.path.isdir(target.parent):
            raise FileNotFoundError(errno.ENOENT, _("it links to {target}, in a folder that does not exist").format(
                target=target), str(path)) from None
        return target, None
    if stat.S_ISREG(st.st_mode):
        return target, stat.S_IMODE(st.st_mode) & 0o777
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    what = _not_a_file(st.st_mode)
    if linked:
        what = _("it links to {target}: {what}").format(target=target, what=what)
    raise NotAFileError(errno.EINVAL, what, str(path))


def _refuse_a_stranger_link(path: Path) -> None:
    """Refuse to follow the symlink `path` where Linux's fs.protected_symlinks refuses `open()`:
    in a sticky, world-writable folder (/tmp), a link owned by neither this user nor the
    folder's owner. Another user could have planted it there to point at this user's files.
    (os.path.realpath follows any link, whatever that setting says.)"""
    link = os.lstat(path)
    folder = os.stat(path.parent)
    shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
    if shared and link.st_uid not in (os.geteuid(), folder.st_uid):
        raise PermissionError(errno.EACCES, _("it is another user's link in a shared folder: not followed"), str(path))


def current_umask() -> int:
    """This process's umask, read without changing it where Linux shows it (/proc/self/status,
    since 4.7); elsewhere set and put back at once, which another thread could see."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o077)
    os.umask(old)
    return old
