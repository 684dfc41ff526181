"""The command line: `run` (the default), `trace`, `screenshot`, `export`, `lessons`, `serve`.

Every subcommand is a module of this package with a `register(subparsers, shared)`
function, listed in COMMANDS; a subcommand that fails to import fails the
command line, it is never dropped. Every validation error becomes one line on
stderr and exit status 2, here and nowhere else (see `main`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except (UsageError, ConfigError) as exc:
        print(_("tui-attention: error: {message}").format(message=exc) if isinstance(exc, ConfigError) else f"{exc}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        served = Served.from_environment()
        if served is None:
            raise  # a learner's own run: the traceback is the bug report
        print(served.report(exc), file=sys.stderr)  # an attendee sees one line; the log has the rest
        return 1
