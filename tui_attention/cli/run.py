"""`tui-attention [run]`: open the tutor.

Textual is imported only when the tutor starts, so that `trace`, `export` and
`lessons` never pay for it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tui_attention.i18n import _
from tui_attention.infra.served import Served

from .options import UsageError, check_lesson_number, config_from_args, overrides_from_args, tutor_options


def make_app(args: argparse.Namespace):
    """The App for parsed options (raises ConfigError on a bad scenario, UsageError on a bad
    theme or lesson number)."""
    from tui_attention.steps.state import TutorState
    from tui_attention.tui.app import AttentionApp

    check_theme(getattr(args, "theme", None))
    lesson = getattr(args, "lesson", None)
    check_lesson_number(lesson)
    config_from_args(args, interactive=True)  # refuses, in one line, a scenario too big to step through
    state = TutorState(scenario=Path(args.scenario) if args.scenario else None, overrides=overrides_from_args(args))
    learn = getattr(args, "learn", None)
    if learn is not None and lesson is not None:
        raise UsageError(_("tui-attention: give --lesson or --learn, not both"))
    return AttentionApp(state, theme=getattr(args, "theme", None), start_lesson=lesson,
                        served=Served.from_environment(), start_learn=learn)


FALLBACK_TERM = "xterm-256color"


def check_terminal(environ=os.environ, stdin=sys.stdin, stdout=sys.stdout) -> None:
    """UsageError unless the tutor can draw on a terminal at both ends. A browser session
    (textual-serve sets TEXTUAL_DRIVER) draws through its own driver. An empty, dumb or
    unknown TERM becomes xterm-256color: under TERM=dumb Rich pins the screen at 80x25 and
    Textual redraws without end; every terminal in use today understands xterm's sequences."""
    if environ.get("TEXTUAL_DRIVER"):
        return
    if not (stdin.isatty() and stdout.isatty()):
        raise UsageError(_("tui-attention: the tutor needs a terminal; for the numbers as text run: "
                           "tui-attention trace"))
    if environ.get("TERM", "") in ("", "dumb", "unknown"):
        environ["TERM"] = FALLBACK_TERM


def check_theme(theme: str | None) -> None:
    from textual.theme import BUILTIN_THEMES

    if theme is not None and theme not in BUILTIN_THEMES:
        names = ", ".join(sorted(BUILTIN_THEMES))
        raise UsageError(_("tui-attention: unknown theme {theme!r} (choose from: {names})").format(
            theme=theme, names=names))


def run(args: argparse.Namespace) -> int:
    app = make_app(args)  # a bad option is named first, terminal or not
    check_terminal()
    app.run()
    return app.return_code or 0


def register(subparsers, shared: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("run", parents=[shared], help=_("open the tutor (the default)"))
    tutor_options(p)
    p.add_argument("--learn", metavar="TASK", choices=("reverse", "previous", "first"),
                   help=_("open the learn view, training the head on TASK: reverse, previous or first"))
    p.set_defaults(func=run)
