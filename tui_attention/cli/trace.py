"""`tui-attention trace`: every intermediate of the scenario, as text or JSON, without the TUI."""

from __future__ import annotations

import argparse
import sys

from tui_attention.i18n import _

from .options import config_from_args


def run(args: argparse.Namespace) -> int:
    from tui_attention.core.serialize import trace_to_json, trace_to_text
    from tui_attention.core.trace import compute

    trace = compute(config_from_args(args))
    sys.stdout.write(trace_to_json(trace) if args.format == "json" else trace_to_text(trace))
    return 0


def register(subparsers, shared: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("trace", parents=[shared], help=_("print every intermediate without the TUI"))
    p.add_argument("--format", choices=("json", "text"), default="text")
    p.set_defaults(func=run)
