"""`tui-attention screenshot OUT.svg`: the tutor's screen rendered headless, after some keys."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path

from tui_attention.i18n import _

from tui_attention.infra.files import write_atomic

from .options import UsageError, check_output, tutor_options
from .run import make_app

QUIT_KEYS = {"q", "ctrl+q", "ctrl+c"}


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{1,9})\s*[xX]\s*(\d{1,9})\s*", text or "")
    if not m:
        raise argparse.ArgumentTypeError(_("size must look like 80x24, got {text!r}").format(text=text))
    w, h = int(m.group(1)), int(m.group(2))
    if not (10 <= w <= 500 and 5 <= h <= 300):
        raise argparse.ArgumentTypeError(_("size {width}x{height} is outside 10x5 .. 500x300").format(
            width=w, height=h))
    return w, h


def split_keys(presses: list[str] | None) -> list[str]:
    """The keys of every --press, in order: ["m", "right,right"] -> m, right, right."""
    return [k.strip() for text in presses or () for k in text.split(",") if k.strip()]


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


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".svg":  # notes.md would be replaced by a picture
        raise UsageError(_("tui-attention screenshot: {out!r} must end in .svg (the picture is SVG)").format(
            out=args.out))
    if out.parent and not out.parent.exists():
        raise UsageError(_("tui-attention: {folder}: no such directory").format(folder=out.parent))
    check_output(args.out, "tui-attention screenshot")
    from tui_attention.tui.bindings import is_key_name

    keys = split_keys(args.press)
    unknown = next((key for key in keys if not is_key_name(key)), None)
    if unknown is not None:  # Pilot would send it, and nothing would answer to it
        raise UsageError(_("tui-attention: --press: {key!r} is not a key name (Textual's names: right, down, "
                           "question_mark, full_stop, ctrl+s, a)").format(key=unknown))
    app = make_app(args)
    svg = asyncio.run(_screenshot(app, args.size, keys))
    try:
        write_atomic(out, svg)
    except OSError as exc:
        raise UsageError(_("tui-attention: {path}: cannot write ({why})").format(path=out, why=exc.strerror)) from None
    return 0


def register(subparsers, shared: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("screenshot", parents=[shared], help=_("render the screen headless to an SVG"))
    p.add_argument("out", metavar="OUT.svg")
    p.add_argument("--size", type=parse_size, default=(80, 24), metavar="WxH")
    p.add_argument("--press", action="append", metavar="KEYS",
                   help=_("comma-separated Textual key names, e.g. right,down,question_mark; "
                          "repeatable (each --press adds its keys)"))
    tutor_options(p)
    p.set_defaults(func=run)
