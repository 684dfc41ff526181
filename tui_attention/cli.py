"""Command line: `run` (the default), `trace`, `screenshot`, `export`, `lessons`, `serve`.

Every validation error becomes one line on stderr and exit status 2, here and
nowhere else (see `main`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from tui_attention.core.config import ConfigError
from tui_attention.core.scenario import Overrides, build_config

SUBCOMMANDS = ("run", "trace", "screenshot", "export", "lessons", "serve")


class UsageError(Exception):
    """A bad command line or input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit itself
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def scenario_options() -> argparse.ArgumentParser:
    """The scenario and override options shared by run, trace, screenshot, export and serve."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("scenario")
    g.add_argument("--scenario", metavar="FILE", help="a scenario TOML file (default: the notebook's)")
    g.add_argument("--sentence", metavar="TEXT", help="your own sentence (tokens split on spaces)")
    g.add_argument("--seed", type=_positive_int, metavar="N")
    g.add_argument("--d-model", dest="d_model", type=_positive_int, metavar="N")
    g.add_argument("--d-k", dest="d_k", type=_positive_int, metavar="N")
    g.add_argument("--d-v", dest="d_v", type=_positive_int, metavar="N")
    g.add_argument("--heads", type=_positive_int, metavar="N")
    g.add_argument("--scale", choices=("none", "sqrt_dk"))
    g.add_argument("--mask", choices=("none", "causal"))
    g.add_argument("--weight-scale", dest="weight_scale", type=_number, metavar="X")
    return p


OVERRIDE_FIELDS = ("sentence", "seed", "d_model", "d_k", "d_v", "heads", "scale", "mask", "weight_scale")


def overrides_from_args(args: argparse.Namespace) -> Overrides:
    return Overrides(**{k: getattr(args, k, None) for k in OVERRIDE_FIELDS})


def scenario_argv(args: argparse.Namespace) -> list[str]:
    """The scenario options of `args` as command-line words (to start a child tutor)."""
    out: list[str] = []
    if getattr(args, "scenario", None):
        out += ["--scenario", str(Path(args.scenario).resolve())]
    for key in OVERRIDE_FIELDS:
        value = getattr(args, key, None)
        if value is not None:
            out += ["--" + key.replace("_", "-"), str(value)]
    return out


def config_from_args(args: argparse.Namespace):
    return build_config(args.scenario, overrides_from_args(args))


def _cmd_trace(args: argparse.Namespace) -> int:
    from tui_attention.core.trace import compute
    from tui_attention.core.serialize import trace_to_json, trace_to_text

    trace = compute(config_from_args(args))
    sys.stdout.write(trace_to_json(trace) if args.format == "json" else trace_to_text(trace))
    return 0


def build_parser() -> argparse.ArgumentParser:
    shared = scenario_options()
    parser = _Parser(prog="tui-attention", description="A terminal tutor for Transformer self-attention.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", parents=[shared], help="open the tutor (the default)")
    _add_run_options(run)

    trace = sub.add_parser("trace", parents=[shared], help="print every intermediate without the TUI")
    trace.add_argument("--format", choices=("json", "text"), default="text")
    trace.set_defaults(func=_cmd_trace)

    for register in _optional_commands():
        register(sub, shared)
    return parser


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--theme", metavar="NAME", help="a Textual theme, e.g. ansi-dark for 16 colours")
    p.add_argument("--lesson", type=_positive_int, metavar="N", help="open lesson N")
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from tui_attention.tui.launch import run_app

    return run_app(args)


def _optional_commands():
    """Subcommand registrars that live in their own modules (screenshot, export, lessons, serve)."""
    import importlib

    for module in ("tui_attention.tui.launch", "tui_attention.exporting", "tui_attention.lessons_cli", "tui_attention.serve.cli"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        yield mod.register


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in SUBCOMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except (UsageError, ConfigError) as exc:
        print(f"tui-attention: error: {exc}" if isinstance(exc, ConfigError) else f"{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
