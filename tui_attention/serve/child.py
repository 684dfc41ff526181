"""One served tutor process: its command line, environment, limits and pseudo-terminal.

Every attendee gets a child process of their own, started through
`tui_attention.serve._exec` (limits, own session, controlling terminal) and
then replaced by the installed tutor, `python -P -m tui_attention run ...`.
The child runs in a private, empty temporary directory (its cwd, HOME, TMPDIR
and XDG data/state/cache home), which is removed when the child has been
reaped; where the kernel has Landlock it can write nowhere else, read only
what the tutor needs (Python, its package, a few system files, the keymap),
execute nothing but itself and open no TCP connections (see `landlock`);
`confinement_status()` says whether that is in force. It never sees the
server's environment beyond PATH and the locale; it is told it is served
(TUI_ATTENTION_SERVED), whether it is unconfined (TUI_ATTENTION_UNCONFINED)
and where to leave an error report for the server: TUI_ATTENTION_ERROR_FD, an
open file the server made before the tutor started (`make_error_report`), with
no name in the session folder, so that nothing an attendee saves can stand in
for it; the server reads it back (`read_error_report`) only after an exit that
was not clean.

`pty_child.PtyChild` runs such a child under a pseudo-terminal.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import site
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Sequence

from tui_attention.infra.channel import CHANNEL_FD_ENV
from tui_attention.serve import seccomp

DEFAULT_TERM = "xterm-256color"
_TERM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
_COLORTERM_VALUES = ("truecolor", "24bit")
# TERM values for which Rich's Console.is_dumb_terminal pins the size at 80x25
_FIXED_SIZE_TERMS = frozenset({"dumb", "unknown"})
MAX_ERROR_REPORT = 20 * 1024  # characters of the tutor's traceback the server reads
SERVED = "TUI_ATTENTION_SERVED"
UNCONFINED = "TUI_ATTENTION_UNCONFINED"
ERROR_FD = "TUI_ATTENTION_ERROR_FD"  # the descriptor of the error report the tutor inherits
ERROR_LOG = "TUI_ATTENTION_ERROR_LOG"  # a path instead (a tutor run by hand); never passed on by a server
DISK_BUDGET = "TUI_ATTENTION_DISK_BUDGET"  # bytes the tutor's saves and exports may take in its session folder


@dataclass(frozen=True)
class Limits:
    """Resource limits for each child (set with setrlimit before exec, but the session folder's
    disk budget, which the tutor is told and checks before each save or export)."""

    memory_mb: int = 1024  # address space (RLIMIT_AS)
    cpu_seconds: int = 900  # CPU time (RLIMIT_CPU): SIGXCPU, then SIGKILL 5 s later
    file_size_mb: int = 16  # largest file the child may write (RLIMIT_FSIZE)
    open_files: int = 256  # RLIMIT_NOFILE
    session_disk_mb: float = 64  # what all its saves and exports may take (the tutor checks: DISK_BUDGET)

    @property
    def session_disk_bytes(self) -> int:
        return int(self.session_disk_mb * 1024 * 1024)

    def words(self) -> list[str]:
        return [
            "--as", str(self.memory_mb * 1024 * 1024),
            "--cpu", str(self.cpu_seconds),
            "--fsize", str(self.file_size_mb * 1024 * 1024),
            "--nofile", str(self.open_files),
        ]  # fmt: skip


def tutor_argv(scenario_words: Sequence[str] = (), lesson: int | None = None) -> list[str]:
    """The installed tutor: `python -P -m tui_attention run` with the scenario options.

    `-P` keeps the current directory off sys.path, so a `tui_attention`
    package lying in the server's (or child's) directory is never imported.
    """
    argv = [sys.executable, "-P", "-m", "tui_attention", "run", *scenario_words]
    if lesson:
        argv += ["--lesson", str(lesson)]
    return argv


def wrapped_argv(argv: Sequence[str], limits: Limits, *, tty: bool, confine: str | None = None) -> list[str]:
    """`argv` behind the limits-session-and-confinement wrapper (see `_exec`).

    Confined, the program may read the files named by absolute path among its
    arguments (a `--scenario FILE`, a script), read-only: they are the server's
    choice, never an attendee's.
    """
    program = argv[0]
    if os.sep not in program:
        program = shutil.which(program) or program
    head = [sys.executable, "-P", "-m", "tui_attention.serve._exec"]
    options = [*(["--tty"] if tty else []), *limits.words()]
    if confine:
        options += ["--confine", confine]
        for word in argv[1:]:
            if os.path.isabs(word) and os.path.isfile(word):
                options += ["--read", word]
    return [*head, *options, "--", program, *argv[1:]]


_PROBE_SOURCE = r"""
import os, socket, sys
try:
    os.listdir(sys.argv[1])
    print("read outside")
except PermissionError:
    with open("probe", "w") as f:
        f.write("ok")
    try:
        socket.socket(socket.AF_UNIX).close()
        print("made a socket" if sys.argv[2] == "1" else "confined")
    except PermissionError:
        print("confined")
"""
_probe_cache: dict[tuple[int, str], str | None] = {}


def _probe(version: int) -> str | None:
    """Start a confined Python once, as a tutor is started: None if the rules hold, else why not."""
    key = (version, sys.executable)
    if key not in _probe_cache:
        workdir = make_workdir()
        try:
            sockets = "1" if seccomp.supported() else "0"  # the filter must hold where it is installed
            argv = wrapped_argv([sys.executable, "-P", "-c", _PROBE_SOURCE, os.path.dirname(workdir), sockets],
                                Limits(), tty=False, confine=workdir)
            done = subprocess.run(argv, cwd=workdir, env=child_environment(workdir, unconfined=False),
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
            out = done.stdout.decode(errors="replace").strip()
            if done.returncode == 0 and out == "confined":
                _probe_cache[key] = None
            else:
                err = done.stderr.decode(errors="replace").strip().splitlines()
                _probe_cache[key] = (err[-1] if err else out or exit_description(done.returncode))[:200]
        except (OSError, subprocess.SubprocessError) as exc:
            _probe_cache[key] = str(exc)[:200]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    return _probe_cache[key]


def confinement_status() -> tuple[bool, str]:
    """Is every tutor confined on this machine? And one line for the banner saying how.

    In force means Landlock is available, not switched off
    (TUI_ATTENTION_LANDLOCK=off), and a test tutor started through the child
    wrapper could not list a directory outside its own (run once per
    process and interpreter; later calls are cached).
    """
    from tui_attention.serve import landlock

    version = landlock.abi()
    if not version:
        if landlock.switched_off() and landlock.kernel_abi():
            why = f"Landlock is switched off ({landlock.SWITCH}={os.environ.get(landlock.SWITCH)})"
        else:
            why = "Landlock is not available on this system"
        return False, (
            f"WARNING: {why}: the tutors can read and write files wherever this account can "
            "(their save and export prompts are limited to their own directory). "
            "Run the server as a dedicated account."
        )
    failure = _probe(version)
    if failure is not None:
        return False, (
            f"WARNING: Landlock ABI {version} is there but a confined test tutor failed ({failure}): "
            f"tutors may not start, or not be confined; {landlock.SWITCH}=off runs them without Landlock."
        )
    net = ", open no TCP connections" if version >= 4 else " (TCP is not restricted: Landlock ABI < 4)"
    sockets = ", and make no socket (seccomp)" if seccomp.supported() else \
        "; Unix sockets with a file name and UDP are not restricted on this architecture"
    return True, (
        "each tutor may read only Python, its own files and the keymap, and write only in its own "
        f"temporary directory{net} (Landlock ABI {version}){sockets}"
    )


def confinement() -> str:
    """One line for the banner: how far the tutors' file access is confined (see `confinement_status`)."""
    return confinement_status()[1]


def clean_term(term: str | None) -> str:
    """The client's TERM if it looks like a terminal name Rich can size, else xterm-256color.

    `dumb` and `unknown` (any case) make Rich pin its console at 80x25
    whatever the pty says; Textual then resizes the screen back and forth
    between the two sizes forever (100% CPU, keys ignored). They are mapped to
    xterm-256color like invalid names.
    """
    if term and _TERM_RE.fullmatch(term) and term.lower() not in _FIXED_SIZE_TERMS:
        return term
    return DEFAULT_TERM


WORKDIR_PREFIX = "tui-attention-session-"


def make_workdir() -> str:
    """A private (0700) empty directory for one child, named after this server's pid."""
    return tempfile.mkdtemp(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-")


def remove_stale_workdirs() -> int:
    """Remove session directories left by servers that are gone (killed with SIGKILL, say).

    Only directories of this user whose server pid no longer exists; returns how many.
    """
    removed = 0
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return 0
    for name in names:
        if not name.startswith(WORKDIR_PREFIX):
            continue
        pid_text = name[len(WORKDIR_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit():
            continue
        path = os.path.join(root, name)
        try:
            if os.lstat(path).st_uid != os.getuid() or os.path.islink(path):
                continue
        except OSError:
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # that server is still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    return removed


def make_error_report() -> int:
    """A new, empty file for one tutor's error report, as an open descriptor (not inheritable:
    pass it to the child with `pass_fds`). It has no name anywhere (a memfd, or an unlinked
    temporary file where memfd_create is missing), so the tutor reaches it only through the
    descriptor it inherits, and an attendee's save or export cannot make or replace it."""
    if hasattr(os, "memfd_create"):
        try:
            return os.memfd_create("tui-attention-error-report", os.MFD_CLOEXEC)
        except OSError:
            pass
    with tempfile.TemporaryFile() as fh:  # the server's TMPDIR, never a session folder
        return os.dup(fh.fileno())


def read_error_report(fd: int) -> str | None:
    """The tutor's error report in the file `fd` (from `make_error_report`), or None if it is
    empty. Call it only after an exit that was not clean: a tutor that quit normally has
    nothing to report.

    At most its last MAX_ERROR_REPORT characters are returned (a cut is said on the first
    line). Undecodable bytes become U+FFFD. Empty or whitespace-only reports count as none.
    """
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        keep = MAX_ERROR_REPORT - 64  # room for the note on the cut
        cut = max(st.st_size - keep, 0)
        data = os.pread(fd, keep, cut)
    except OSError:
        return None
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        return None
    if cut:
        text = f"[... {cut} earlier bytes not shown]\n" + text
    return text


def child_environment(
    workdir: str, term: str | None = None, colorterm: str | None = None, *, unconfined: bool | None = None,
    channel_fd: int | None = None, error_fd: int | None = None, disk_budget: int | None = None,
) -> dict[str, str]:
    """A small, explicit environment: nothing of the server's secrets leaks in.

    COLUMNS/LINES are deliberately not set for pty children: Python's
    shutil.get_terminal_size (used by Textual on SIGWINCH) prefers them over
    the terminal's real size, so they would pin the tutor at its first size
    and break resizing. The pty's window size is set before the child starts.

    Always set, for the tutor: TUI_ATTENTION_SERVED=1 (it is served: its
    save and export prompts stay in its session directory). With `error_fd`
    (from `make_error_report`, inherited), TUI_ATTENTION_ERROR_FD names it:
    where the tutor writes a traceback for the server. With `disk_budget`,
    TUI_ATTENTION_DISK_BUDGET: the bytes its saves and exports may take in its
    session directory in all (`Limits.session_disk_mb`). TUI_ATTENTION_UNCONFINED=1 is
    set when `unconfined` is true, or, with the default None, when
    `confinement_status()` says confinement is not in force here (and the
    child wrapper adds it whenever it could not confine the child).
    Other TUI_ATTENTION_* variables of the server (TUI_ATTENTION_LANDLOCK)
    are passed on. With `channel_fd` (the tutor's end of its `room` socket pair, inherited),
    TUI_ATTENTION_CHANNEL_FD names it; without, the tutor reports to nobody.
    """
    home = os.path.expanduser("~")
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        # "~" in the tutor's save/export prompts means the private directory...
        "HOME": workdir,
        # ...but packages installed with `pip install --user` are still found,
        # and the instructor's configuration (keymap, theme) still applies.
        "PYTHONUSERBASE": os.environ.get("PYTHONUSERBASE") or site.getuserbase(),
        "XDG_CONFIG_HOME": os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"),
        "LANG": "C.UTF-8",
        "TMPDIR": workdir,
        "XDG_DATA_HOME": os.path.join(workdir, "data"),
        "XDG_STATE_HOME": os.path.join(workdir, "state"),
        "XDG_CACHE_HOME": os.path.join(workdir, "cache"),
        # One BLAS thread and two malloc arenas: far less address space, so
        # the RLIMIT_AS limit bites only on a real runaway.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if os.environ.get("VIRTUAL_ENV"):
        env["VIRTUAL_ENV"] = os.environ["VIRTUAL_ENV"]
    for key, value in os.environ.items():
        if key.startswith("TUI_ATTENTION_") and key not in (SERVED, UNCONFINED, ERROR_LOG, ERROR_FD, DISK_BUDGET,
                                                             CHANNEL_FD_ENV):
            env[key] = value
    if channel_fd is not None:
        env[CHANNEL_FD_ENV] = str(channel_fd)
    env[SERVED] = "1"
    if error_fd is not None:
        env[ERROR_FD] = str(error_fd)
    if disk_budget is not None:
        env[DISK_BUDGET] = str(int(disk_budget))
    if unconfined is None:
        unconfined = not confinement_status()[0]
    if unconfined:
        env[UNCONFINED] = "1"
    if term is not None:
        env["TERM"] = clean_term(term)
    if colorterm in _COLORTERM_VALUES:
        env["COLORTERM"] = colorterm
    return env


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    """A sane window size: 0 (unknown) becomes 80x24, huge values are capped."""
    cols = cols if 0 < cols <= 1000 else (80 if cols <= 0 else 1000)
    rows = rows if 0 < rows <= 1000 else (24 if rows <= 0 else 1000)
    return cols, rows


def exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit status {returncode}"
