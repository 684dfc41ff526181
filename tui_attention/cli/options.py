"""What every subcommand shares: the one-line usage error, the scenario options and the rule
that turns them into a Config (`build_config`, the same rule as the app's switches)."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from tui_attention.core.config import Config, ConfigError, brief_name, brief_repr
from tui_attention.core.scenario import Overrides, build_config, resolve_scenario, shipped_scenarios
from tui_attention.steps.budget import check_fits
from tui_attention.steps.labels import in_words
from tui_attention.i18n import _

OVERRIDE_FIELDS = ("sentence", "seed", "d_model", "d_k", "d_v", "heads", "scale", "mask", "weight_scale")


class UsageError(Exception):
    """A bad command line or input: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting, and shows a
    value it refuses cut short (brief_repr), not a whole pasted paragraph."""

    def error(self, message: str) -> None:
        raise UsageError(f"{self.prog}: {message}")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            self.error(_("unrecognized arguments: {args}").format(args=brief_name(" ".join(extra))))
        return parsed

    def _check_value(self, action: argparse.Action, value: object) -> None:
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(action, _("invalid choice: {value} (choose from {choices})").format(
                value=brief_repr(value), choices=", ".join(map(repr, action.choices))))


def check_output(out: str, command: str) -> Path:
    """The path a subcommand is to write, or UsageError (one line) before any work is done: a
    name with control characters (the prompts refuse them too), or a FIFO, a device, a socket
    or a stranger's link where it points (what writing would refuse after the work)."""
    from tui_attention.infra.files import write_problem
    from tui_attention.infra.typed_paths import has_control

    if not out.strip():  # Path("") is ".": an export would fill the current folder
        raise UsageError(_("{command}: the output needs a name").format(command=command))
    if has_control(out):
        raise UsageError(_("{command}: {out}: a name cannot hold control characters").format(
            command=command, out=brief_repr(out, 100)))
    if (why := write_problem(out)) is not None:
        raise UsageError(_("{command}: cannot write {out}: {why}").format(command=command, out=brief_name(out), why=why))
    return Path(out)


def check_new_file(out: str, command: str, option: str) -> Path:
    """check_output, and more, for a file written after long work or when a server stops, where a
    refusal then would lose that work: a name, not a folder, in a folder that exists and takes a
    new file now. That is tried with a nameless temporary file: permission bits do not stop root,
    and /proc or a read-only mount say no only when written."""
    if not out:
        raise UsageError(_("{command}: {option} needs a file name").format(command=command, option=option))
    path = check_output(out, command)
    if path.is_dir():
        raise UsageError(_("{command}: cannot write {out}: it is a folder").format(command=command, out=brief_name(out)))
    folder = Path(os.path.realpath(path)).parent  # where write_atomic puts its temporary file
    if not folder.is_dir():
        raise UsageError(_("{command}: cannot write {out}: folder {folder} does not exist").format(
            command=command, out=brief_name(out), folder=brief_name(folder)))
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(_("{command}: cannot write {out}: {why}").format(
            command=command, out=brief_name(out), why=exc.strerror or exc)) from None
    return path


def whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("must be a whole number, got {text}").format(text=brief_repr(text))) from None


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("must be a number, got {text}").format(text=brief_repr(text))) from None


def scenario_file(text: str) -> str:
    """--scenario FILE, or the name of a shipped scenario (core.scenario.resolve_scenario)."""
    try:
        return str(resolve_scenario(text))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def scenario_options() -> argparse.ArgumentParser:
    """The scenario and override options shared by run, trace, screenshot, export and serve."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group(_("scenario"))
    g.add_argument("--scenario", metavar="FILE", type=scenario_file,
                   help=_("a scenario TOML file, or the name of a shipped one: {names} (default: notebook)").format(
                       names=", ".join(shipped_scenarios())))
    g.add_argument("--sentence", metavar="TEXT", help=_("your own sentence (tokens split on spaces)"))
    g.add_argument("--seed", type=whole_number, metavar="N")
    g.add_argument("--d-model", dest="d_model", type=whole_number, metavar="N")
    g.add_argument("--d-k", dest="d_k", type=whole_number, metavar="N")
    g.add_argument("--d-v", dest="d_v", type=whole_number, metavar="N")
    g.add_argument("--heads", type=whole_number, metavar="N")
    g.add_argument("--scale", choices=("none", "sqrt_dk"))
    g.add_argument("--mask", choices=("none", "causal"))
    g.add_argument("--weight-scale", dest="weight_scale", type=number, metavar="X")
    return p


def tutor_options(p: argparse.ArgumentParser) -> None:
    """The options of the tutor itself (run and screenshot)."""
    p.add_argument("--theme", metavar="NAME", help=_("a Textual theme, e.g. ansi-dark for 16 colours"))
    p.add_argument("--lesson", type=whole_number, metavar="N", help=_("open lesson N"))


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


def config_from_args(args: argparse.Namespace, *, interactive: bool = False) -> Config:
    """The Config of the scenario options (raises ConfigError with a one-line message, also when
    its trace would not fit in memory; `interactive` adds the tutor's cap, see steps.budget)."""
    try:
        config = build_config(args.scenario, overrides_from_args(args))
    except ConfigError as exc:
        raise ConfigError(as_flags(str(exc), args)) from None
    check_fits(config, interactive=interactive)
    return config


def as_flags(message: str, args: argparse.Namespace) -> str:
    """A core message about a field the command line set, as the command line names it:
    "d_model: must be between 1 and 1024" is "--d-model: ...", "tokens[7]: ..." is "--sentence,
    word 8: ..." (words count from 1, as on screen)."""
    field, colon, rest = message.partition(": ")
    if colon and field in OVERRIDE_FIELDS and getattr(args, field, None) is not None:
        return f"--{field.replace('_', '-')}: {rest}"
    if message.startswith("tokens[") and getattr(args, "sentence", None) is not None:
        return "--sentence, " + in_words(message)
    return message


def check_lesson_number(lesson: int | None) -> None:
    """--lesson N must name a shipped lesson."""
    if lesson is None:
        return
    from tui_attention.lessons import load_lessons

    count = len(load_lessons(validate=False))
    if not 1 <= lesson <= count:
        raise UsageError(_("tui-attention: --lesson must be between 1 and {count}, got {lesson}").format(
            count=count, lesson=brief_repr(lesson)))
