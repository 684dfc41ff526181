"""The command line: `run` (the default), `trace`, `screenshot`, `export`, `lessons`, `serve`.

Every subcommand is a module of this package with a `register(subparsers, shared)`
function, listed in COMMANDS; a subcommand that fails to import fails the
command line, it is never dropped. Every validation error becomes one line on
stderr and exit status 2, here and nowhere else (see `main`).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

from tui_attention.core.config import ConfigError
from tui_attention.i18n import _
from tui_attention.infra.served import Served

from . import export, lessons, run, screenshot, serve, trace, train
from .options import Parser, UsageError, scenario_options

COMMANDS = {"run": run, "trace": trace, "screenshot": screenshot, "export": export, "lessons": lessons,
            "serve": serve, "train": train}


def build_parser() -> argparse.ArgumentParser:
    shared = scenario_options()
    parser = Parser(prog="tui-attention", description=_("A terminal tutor for Transformer self-attention."))
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    for command in COMMANDS.values():
        command.register(sub, shared)
    return parser


def not_utf8(argv: Sequence[str]) -> str | None:
    """Why an argument cannot be taken (one line, naming its option), or None. Bytes that are not
    UTF-8 (a Latin-1 terminal's é) come in as lone surrogates that no encoder takes: a sentence,
    a password or a message with them would fail later, in a hash, at every login or in every
    attendee's tutor, far from the option that brought them."""
    for i, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            continue
        value = arg
        if arg.startswith("-") and "=" in arg:
            option, value = arg.split("=", 1)
        elif not arg.startswith("-") and i > 0 and argv[i - 1].startswith("-"):
            option = argv[i - 1]
        else:
            option = None
        where = _("argument {option}: ").format(option=option) if option is not None else ""
        shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")  # each bad byte as \xff
        return _("tui-attention: {where}'{value}' is not UTF-8 text").format(where=where, value=shown)
    return None


class OutputError(Exception):
    """Standard output does not take what a command prints (a full disk, a closed descriptor,
    an encoding without its characters): one line, exit status 2."""


class _Guarded:
    """sys.stdout while a printing command runs: a failed write becomes OutputError, so `main`
    can tell it from the command's own errors (which stay tracebacks: they are bugs)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def _do(self, what: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, what)(*args)
        except BrokenPipeError:
            raise  # a reader that stopped early (`| head`) wants no message
        except (OSError, ValueError) as exc:  # ValueError: UnicodeEncodeError, or a closed file
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise OutputError(_("tui-attention: cannot write to standard output: {why}").format(why=why)) from None

    def write(self, text: str) -> int:
        return self._do("write", text)

    def flush(self) -> None:
        self._do("flush")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _drop_output() -> None:
    """Point standard output at /dev/null, so that what is still buffered in it is not written
    (and fails again, with a traceback) when the interpreter exits."""
    try:
        fd = sys.stdout.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (OSError, ValueError, AttributeError):  # a captured or already closed stream
        pass


def _is_a_tui(args: argparse.Namespace) -> bool:
    """Textual draws these and takes sys.stdout over itself; it is left to it."""
    return args.command == "run" or (args.command == "serve" and args.serve_command == "dashboard")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]
    if sys.stdout is None:  # started with `>&-`: every command prints something, refused before any work
        print(_("tui-attention: standard output is closed"), file=sys.stderr)
        return 2
    stdout = sys.stdout
    try:
        if (problem := not_utf8(argv)) is not None:
            raise UsageError(problem)
        args = build_parser().parse_args(argv)
        guarded = not _is_a_tui(args)
        if guarded:
            sys.stdout = _Guarded(stdout)
        status = int(args.func(args) or 0)
        if guarded:
            sys.stdout.flush()  # here, not at exit: a full disk is then one line, not a traceback
        return status
    except (UsageError, ConfigError, OutputError) as exc:
        if isinstance(exc, OutputError):
            sys.stdout = stdout
            _drop_output()
        print(_("tui-attention: error: {message}").format(message=exc) if isinstance(exc, ConfigError) else f"{exc}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stdout = stdout
        _drop_output()
        return 0
    except Exception as exc:
        served = Served.from_environment()
        if served is None:
            raise  # a learner's own run: the traceback is the bug report
        print(served.report(exc), file=sys.stderr)  # an attendee sees one line; the log has the rest
        return 1
    finally:
        sys.stdout = stdout
