"""The command line: `run` (the default), `trace`, `screenshot`, `export`, `lessons`, `serve`.

Every subcommand is a module of this package with a `register(subparsers, shared)`
function, listed in COMMANDS. A command imports its own module and no other
(`build_parser(only=...)`): the tutor's start does not wait for the server's,
the exports' or the screenshots' imports. Help lists every command, and a
subcommand that fails to import fails it, it is never dropped. Every validation
error becomes one line on stderr and exit status 2, here and nowhere else (see `main`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType
from typing import Any, Iterable, Sequence

from tui_attention.core.config import ConfigError
from tui_attention.i18n import _
from tui_attention.infra.served import Served

from .options import Parser, UsageError, scenario_options

SHOWN_CHARS = 80  # of an argument that is not UTF-8, in its message

# The subcommands, in the order help lists them: each is the module of this package of its name.
COMMANDS = ("run", "trace", "screenshot", "export", "lessons", "serve", "train")


def command_module(name: str) -> ModuleType:
    """The module of subcommand `name` (one of COMMANDS), imported now."""
    return importlib.import_module(f"{__package__}.{name}")


def build_parser(only: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser, with every subcommand, or `only` those named (the one a
    command line runs: its arguments parse the same; help and a wrong command need them all)."""
    shared = scenario_options()
    parser = Parser(prog="tui-attention", description=_("A terminal tutor for Transformer self-attention."))
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    for name in COMMANDS if only is None else [c for c in COMMANDS if c in set(only)]:
        command_module(name).register(sub, shared)
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
        if len(shown) > SHOWN_CHARS:  # one line, not a screenful: the start and the end of it
            shown = shown[:SHOWN_CHARS // 2] + "…" + shown[-(SHOWN_CHARS // 2):]
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


def command_line(argv: Sequence[str]) -> list[str]:
    """argv with its command: `run` when it starts with none (`tui-attention --lesson 3`)."""
    argv = list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]
    return argv


def parse(argv: Sequence[str]) -> argparse.Namespace:
    """The parsed command line (`command_line(argv)`), importing only its command's module."""
    argv = command_line(argv)
    return build_parser(only=[argv[0]] if argv[0] in COMMANDS else None).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    argv = command_line(sys.argv[1:] if argv is None else argv)
    if sys.stdout is None:  # started with `>&-`: every command prints something, refused before any work
        print(_("tui-attention: standard output is closed"), file=sys.stderr)
        return 2
    stdout = sys.stdout
    try:
        if (problem := not_utf8(argv)) is not None:
            raise UsageError(problem)
        sys.stdout = _Guarded(stdout)  # help (-h) is printed while parsing
        try:
            args = parse(argv)
        except SystemExit:
            sys.stdout.flush()  # here, not at exit: help that cannot be written is one line, not silence
            raise
        guarded = not _is_a_tui(args)
        if not guarded:
            sys.stdout = stdout
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
