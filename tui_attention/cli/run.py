"""`tui-attention [run]`: open the tutor.

Textual is imported only when the tutor starts, so that `trace`, `export` and
`lessons` never pay for it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tui_attention.i18n import _

from .options import UsageError, check_lesson_number, overrides_from_args, tutor_options


def make_app(args: argparse.Namespace):
    """The App for parsed options (raises ConfigError on a bad scenario, UsageError on a bad
    theme or lesson number)."""
    from tui_attention.steps.state import TutorState
    from tui_attention.tui.app import AttentionApp

    check_theme(getattr(args, "theme", None))
    lesson = getattr(args, "lesson", None)
    check_lesson_number(lesson)
    state = TutorState(scenario=Path(args.scenario) if args.scenario else None, overrides=overrides_from_args(args))
    return AttentionApp(state, theme=getattr(args, "theme", None), start_lesson=lesson)


def check_theme(theme: str | None) -> None:
    from textual.theme import BUILTIN_THEMES

    if theme and theme not in BUILTIN_THEMES:
        names = ", ".join(sorted(BUILTIN_THEMES))
        raise UsageError(_("tui-attention: unknown theme {theme!r} (choose from: {names})").format(
            theme=theme, names=names))


def run(args: argparse.Namespace) -> int:
    app = make_app(args)
    app.run()
    return app.return_code or 0


def register(subparsers, shared: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("run", parents=[shared], help=_("open the tutor (the default)"))
    tutor_options(p)
    p.set_defaults(func=run)
