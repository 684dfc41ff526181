"""Start one served tutor: resource limits, a session of its own, then exec.

    python -P -m tui_attention.serve._exec [--tty] [--as BYTES] [--cpu SECONDS]
        [--fsize BYTES] [--nofile N] [--confine DIR [--read FILE]...] -- PROGRAM ARG...

The server runs this instead of forking with a `preexec_fn` (unsafe in a
process with threads). It only uses the standard library and replaces itself
with PROGRAM, so the process the server watches is the tutor itself.

--tty makes standard input (a pseudo-terminal slave) the controlling terminal
of a new session, so the tutor gets SIGWINCH on resizes and the whole session
can be signalled as one process group. Without --tty it only starts a new
session (used by `serve web`, whose children talk over pipes).

--confine DIR confines the program with Landlock where the kernel has it
(see `landlock.allow_list`): it reads only the Python installation, the
tutor's package, shared libraries and a few system files, the instructor's
tui-attention configuration folder, DIR, and each --read FILE (read-only: a
scenario file named on the tutor's command line); it executes only PROGRAM
(and its ELF interpreter), writes only beneath DIR (and to
/dev/null, /dev/tty...), opens no TCP connections; with Landlock in force, a
seccomp filter (`seccomp`) also refuses it any new socket. If Landlock is there but
the restriction fails, the program is not started. If --confine was asked
for but Landlock is unavailable or switched off (TUI_ATTENTION_LANDLOCK=off),
TUI_ATTENTION_UNCONFINED=1 is added to the program's environment, so an
unconfined tutor always says so (a server may set it itself, see
`child.child_environment`; it is never removed here).
"""

from __future__ import annotations

import os
import resource
import sys

UNCONFINED = "TUI_ATTENTION_UNCONFINED"  # see child.child_environment


def _limit(which: int, soft: int, hard: int | None = None) -> None:
    """Lower a limit; never try to raise it above the current hard limit."""
    hard = soft if hard is None else hard
    _, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, cur_hard), min(hard, cur_hard)
    resource.setrlimit(which, (soft, hard))


def main(argv: list[str]) -> int:
    tty = False
    confine: str | None = None
    read_files: list[str] = []
    limits: dict[str, int] = {}
    i = 0
    while i < len(argv) and argv[i] != "--":
        word = argv[i]
        if word == "--tty":
            tty = True
            i += 1
        elif word == "--confine" and i + 1 < len(argv):
            confine = argv[i + 1]
            i += 2
        elif word == "--read" and i + 1 < len(argv):
            read_files.append(argv[i + 1])
            i += 2
        elif word in ("--as", "--cpu", "--fsize", "--nofile") and i + 1 < len(argv):
            limits[word[2:]] = int(argv[i + 1])
            i += 2
        else:
            print(f"tui-attention: child wrapper: bad argument {word!r}", file=sys.stderr)
            return 127
    command = argv[i + 1 :]
    if not command:
        print("tui-attention: child wrapper: no command", file=sys.stderr)
        return 127

    if os.getsid(0) != os.getpid():
        os.setsid()
    if tty:
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # fd 0 becomes our controlling terminal

    try:
        _limit(resource.RLIMIT_CORE, 0)
        if "as" in limits:
            _limit(resource.RLIMIT_AS, limits["as"])
        if "cpu" in limits:
            # SIGXCPU at the soft limit, SIGKILL a few seconds later.
            _limit(resource.RLIMIT_CPU, limits["cpu"], limits["cpu"] + 5)
        if "fsize" in limits:
            _limit(resource.RLIMIT_FSIZE, limits["fsize"])
        if "nofile" in limits:
            _limit(resource.RLIMIT_NOFILE, limits["nofile"])
    except (ValueError, OverflowError, OSError) as exc:  # a limit the kernel cannot take: one line, no traceback
        print(f"tui-attention: cannot set the tutor's resource limits: {exc}", file=sys.stderr)
        return 126

    if confine is not None:
        from tui_attention.serve.landlock import confine as landlock_confine
        from tui_attention.serve.seccomp import refuse_sockets

        try:
            version = landlock_confine(confine, program=command[0], read_files=read_files)
            if version:  # Landlock leaves connecting to a named Unix socket open: no sockets at all
                refuse_sockets()
        except OSError as exc:
            print(f"tui-attention: cannot confine the tutor: {exc}", file=sys.stderr)
            return 126
        if not version:  # asked for, not applied: the tutor must say it is unconfined
            os.environ[UNCONFINED] = "1"

    try:
        os.execv(command[0], command)
    except OSError as exc:
        print(f"tui-attention: cannot start {command[0]}: {exc.strerror}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
