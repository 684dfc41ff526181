"""Starting the app (the `run` command) and the headless `screenshot` command.

Kept free of Textual imports at module level: the CLI imports this to register
its subcommand, and `trace` should not pay for Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path

QUIT_KEYS = {"q", "ctrl+q", "ctrl+c"}


def make_app(args: argparse.Namespace):
    """The App for parsed scenario options (raises ConfigError on a bad scenario)."""
    from tui_attention.cli import overrides_from_args
    from tui_attention.tui.app import AttentionApp
    from tui_attention.tui.state import TutorState

    _check_theme(getattr(args, "theme", None))
    state = TutorState(scenario=Path(args.scenario) if args.scenario else None, overrides=overrides_from_args(args))
    app = AttentionApp(state, theme=getattr(args, "theme", None))
    lesson = getattr(args, "lesson", None)
    if lesson is not None:
        from tui_attention.cli import UsageError
        from tui_attention.lessons import load_lessons

        count = len(load_lessons(validate=False))
        if not 1 <= lesson <= count:
            raise UsageError(f"tui-attention: --lesson must be between 1 and {count}, got {lesson}")
        app.start_lesson = lesson
    return app


def _check_theme(theme: str | None) -> None:
    from textual.theme import BUILTIN_THEMES

    from tui_attention.cli import UsageError

    if theme and theme not in BUILTIN_THEMES:
        names = ", ".join(sorted(BUILTIN_THEMES))
        raise UsageError(f"tui-attention: unknown theme {theme!r} (choose from: {names})")


def run_app(args: argparse.Namespace) -> int:
    app = make_app(args)
    app.run()
    return app.return_code or 0


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,4})\s*[xX]\s*(\d{1,4})\s*", text or "")
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 80x24, got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (10 <= w <= 500 and 5 <= h <= 300):
        raise argparse.ArgumentTypeError(f"size {w}x{h} is outside 10x5 .. 500x300")
    return w, h


def split_keys(text: str) -> list[str]:
    return [k.strip() for k in (text or "").split(",") if k.strip()]


async def _screenshot(app, size: tuple[int, int], keys: list[str]) -> str:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            if key in QUIT_KEYS:
                break  # a key that would quit ends the list; the screen at this moment is written
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause()
        return app.export_screenshot()


def screenshot(args: argparse.Namespace) -> int:
    from tui_attention.cli import UsageError

    out = Path(args.out)
    if out.parent and not out.parent.exists():
        raise UsageError(f"tui-attention: {out.parent}: no such directory")
    app = make_app(args)
    svg = asyncio.run(_screenshot(app, args.size, split_keys(args.press)))
    try:
        out.write_text(svg, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"tui-attention: {out}: cannot write ({exc.strerror})") from None
    return 0


def register(subparsers, shared: argparse.ArgumentParser) -> None:
    from tui_attention.cli import _add_run_options

    p = subparsers.add_parser("screenshot", parents=[shared], help="render the screen headless to an SVG")
    p.add_argument("out", metavar="OUT.svg")
    p.add_argument("--size", type=parse_size, default=(80, 24), metavar="WxH")
    p.add_argument("--press", default="", metavar="KEYS", help="comma-separated Textual key names, e.g. right,down,question_mark")
    _add_run_options(p)
    p.set_defaults(func=screenshot)
