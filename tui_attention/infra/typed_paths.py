"""Paths typed into a prompt: turned into a `Path`, or refused with one line, never raised past.

A typed path can be anything: `~nosuchuser/x`, a NUL byte, 5000 characters,
an escape sequence. `typed_path` turns every such text into either a Path or
a `PathRefused` whose message is one line fit to show under the prompt.

A served tutor passes `root` (its session folder, which is also its HOME and
working directory): a relative name is taken inside it, `~` is it, and a name
that resolves outside it is refused with the same words whether or not the
outside path exists, so a prompt cannot be used to probe the server's files.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from tui_attention.i18n import _

MAX_PATH_CHARS = 1024


class PathRefused(ValueError):
    """A typed path that cannot be used; str() is one line for the prompt."""


def has_control(text: str) -> bool:
    """Whether `text` holds a control or format character (a name a terminal would not show as typed)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def typed_path(text: str, root: Path | None = None) -> Path:
    """The path `text` names, `~` expanded; relative names are taken in `root` when given.

    Raises PathRefused (one line) for an empty, too long or unprintable name, an unknown
    `~user`, and, with `root`, a name outside `root`.
    """
    name = text.strip()
    if not name:
        raise PathRefused(_("give a name"))
    if len(name) > MAX_PATH_CHARS or any(len(part.encode("utf-8", "surrogateescape")) > 255
                                         for part in name.split(os.sep)):
        raise PathRefused(_("that name is too long"))
    if has_control(name):
        raise PathRefused(_("a name cannot hold control characters"))
    if root is not None:
        return _inside(name, root)
    try:
        return Path(name).expanduser()
    except RuntimeError:  # ~someone who has no home folder here
        raise PathRefused(_("{name}: no such user's home folder").format(name=name.split(os.sep)[0])) from None


def _inside(name: str, root: Path) -> Path:
    """`name` taken in `root` (`~` and `~/` mean root); PathRefused if it resolves anywhere else."""
    outside = PathRefused(_("save inside your session folder (a plain name like attention.md); "
                            "other folders are not open here"))
    if name == "~" or name.startswith("~" + os.sep):
        name = name[2:] or "."
    elif name.startswith("~"):
        raise outside
    base = Path(os.path.realpath(root))
    try:
        # realpath follows every symlink that exists and keeps the rest as typed.
        resolved = Path(os.path.realpath(base / name))
    except (OSError, ValueError):
        raise outside from None
    if resolved != base and base not in resolved.parents:
        raise outside
    return resolved


BLOCK = 4096  # a file takes at least a block of the disk, however small
MAX_ENTRIES = 20_000  # a session folder past this many files and folders counts as full


def disk_usage(path: Path, limit: int = MAX_ENTRIES) -> int | None:
    """The bytes the files and folders at `path` take on the disk (each at least one BLOCK,
    so that many small files count too; links are not followed): 0 if there is nothing,
    None past `limit` entries (too many to count: treat as full). Never raises."""
    total = entries = 0
    todo = [str(path)]
    try:
        first = os.lstat(path)
    except (OSError, ValueError):
        return 0
    if not os.path.isdir(path) or os.path.islink(path):
        return max(first.st_size, first.st_blocks * 512, BLOCK)
    while todo:
        folder = todo.pop()
        total += BLOCK
        try:
            with os.scandir(folder) as found:
                for entry in found:
                    entries += 1
                    if entries > limit:
                        return None
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
                    else:
                        total += max(st.st_size, st.st_blocks * 512, BLOCK)
        except OSError:
            continue
    return total


def exists(path: Path) -> bool:
    """Path.exists that answers False instead of raising."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def is_dir(path: Path) -> bool:
    """Path.is_dir that answers False instead of raising (name too long, permission, loops)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def is_file(path: Path) -> bool:
    """Path.is_file that answers False instead of raising."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
