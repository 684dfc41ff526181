"""The app's typed-input flows: save the scenario, export the trace, edit one cell, type an
answer. Each is an `Ask`: what to ask, how to check the text as it is typed, and what to do
with it. The tutor's screen shows it in a `PromptScreen` and shows the notices it returns.

The checks answer in one line and never raise; writing goes through the same
functions as the command line (`dumps_scenario`, `export_trace`).

A served tutor writes only in its session folder, and at most its disk budget there in
all (`serve --session-disk`, TUI_ATTENTION_DISK_BUDGET): before each save or export,
`Destination.room_problem` adds up what the folder holds and what the write will add (the
scenario's text, or `export_bytes`, a bound on what an export writes) and refuses past
the budget in one line, so that one attendee's exports cannot fill the server's disk.
"""

from __future__ import annotations

import os

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tui_attention.core.config import MAX_ABS_VALUE, MAX_TOKEN_CHARS, ConfigError
from tui_attention.core.scenario import dumps_scenario
from tui_attention.core.tensors import trace_tensors
from tui_attention.core.trace import Trace
from tui_attention.i18n import _
from tui_attention.infra.files import write_atomic, write_problem
from tui_attention.infra.served import disk_budget
from tui_attention.infra.typed_paths import BLOCK, PathRefused, disk_usage, exists, is_dir, is_file, typed_path
from tui_attention.lessons.controller import Notice
from tui_attention.steps.notation import fmt, parse_number
from tui_attention.steps.state import TutorState


@dataclass(frozen=True)
class Ask:
    """One typed answer to ask for: title, starting text, a check (an error line or None),
    a line of explanation, and what to do with accepted text (notices to show)."""

    title: str
    value: str
    validate: Callable[[str], str | None]
    explain: str
    submit: Callable[[str], list[Notice]]
    confirm: Callable[[str], str | None] = lambda text: None  # a yes/no question to ask first, or None
    low: bool = False  # asked in a bar along the bottom, not a dialog over the panes (PromptScreen)


def replaces(path: Path, shown: str) -> str | None:
    """"Replace NAME?" when writing `path` would replace a file that is there."""
    if is_file(path) or (is_dir(path) and any(path.glob("*.csv"))):
        return _("{path} exists. Replace it?").format(path=shown)
    return None


def saved_header() -> str:
    """The comment line at the top of a saved scenario; the "#" keeps it a TOML comment in any language."""
    load = _("Saved by tui-attention; load with: {command}").format(command="tui-attention --scenario FILE")
    return f"# {load}\n"


def file_problem(path: Path, shown: str) -> str | None:
    """None if a file can be written at `path`, else why not (one line)."""
    if is_dir(path):
        return _("{path} is a folder").format(path=shown)
    if not is_dir(path.parent):
        return _("folder {folder} does not exist").format(folder=path.parent)
    if (why := write_problem(path)) is not None:  # what submitting would refuse, said as it is typed
        return _("cannot write {path}: {why}").format(path=shown, why=why)
    return None


def scenario_problem(path: Path, shown: str) -> str | None:
    """file_problem, for a scenario: its name ends in .toml, as what it holds is TOML (x.json would
    hold TOML that a JSON reader refuses; `train --out` asks the same)."""
    if path.suffix.lower() != ".toml" and not is_dir(path):
        return _("{path}: a scenario is saved as TOML, so its name ends in .toml").format(path=shown)
    return file_problem(path, shown)


def export_problem(path: Path, shown: str) -> str | None:
    """None if an export can be written at `path` (a file for npz, md, py; else a csv folder)."""
    # The export package comes with the first export, not with the first screen (start-up).
    from tui_attention.export import SUFFIXES

    if path.suffix in SUFFIXES:
        return file_problem(path, shown)
    if path.suffix and not is_dir(path):  # "notes.txt" would become a folder of CSV files
        return _("{path} ends in {suffix}: name a .npz, .md or .py file, or a folder (no extension) "
                 "for CSV files").format(path=shown, suffix=path.suffix)
    if exists(path) and not is_dir(path):
        return _("{path} exists and is not a folder (CSV export writes a folder)").format(path=shown)
    return None if is_dir(path.parent) else _("folder {folder} does not exist").format(folder=path.parent)


def megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


# Bytes of one number as csv writes it, at most: repr of a float64 ("-1.2345678901234567e-308", 24
# characters) and its comma; in Markdown, fmt's sign, digits and decimals, and " | ".
VALUE_BYTES = {"csv": 26, "md": 24}


def export_bytes(trace: Trace, kind: str) -> int:
    """A bound, from above, on the bytes `export_trace(trace, kind, ...)` writes, counting each
    file as at least one disk BLOCK: npz stores every tensor as float64 (plus headers and the
    tokens); csv and md write each number as text with its row and column labels (a token, at
    most twice its UTF-8 bytes once escaped); py holds only the inputs, and is measured."""
    tensors = trace_tensors(trace)
    if kind == "npz":
        return blocks(sum(v.nbytes + 1024 for v in tensors.values()) + len(trace.tokens) * 4 * MAX_TOKEN_CHARS)
    if kind == "py":
        from tui_attention.export import to_script

        return blocks(len(to_script(trace, "attention.py").encode("utf-8")) + 1024)
    label = 2 * max([len(token.encode("utf-8")) for token in trace.tokens] + [8]) + 8
    sizes = []
    for value in tensors.values():
        rows = value.shape[0] if value.ndim == 2 else 1
        cols = value.size // max(rows, 1)
        sizes.append(value.size * VALUE_BYTES[kind] + (rows + cols + 1) * label + 1024)
    if kind == "csv":  # a file per tensor, in a folder
        return sum(blocks(size) for size in sizes) + BLOCK
    return blocks(sum(sizes) + len(trace.tokens) * label)  # one file, with its title and settings


def blocks(size: int) -> int:
    """`size` bytes as the whole disk blocks they take (at least one)."""
    return max(-(-size // BLOCK), 1) * BLOCK


@dataclass(frozen=True)
class Destination:
    """Where typed names are written: anywhere (root None), or only inside `root` (a served
    session), where saves and exports may take at most `budget` bytes in all (None: no limit;
    by default a served tutor's, from its environment)."""

    root: Path | None = None
    budget: int | None = field(default_factory=disk_budget)

    def room_problem(self, path: Path, adds: int, replaces: int = 0) -> str | None:
        """None if writing `adds` bytes at `path`, in place of `replaces` bytes there now, keeps
        the session folder within its budget; else why not, in one line."""
        if self.root is None or self.budget is None:
            return None
        used = disk_usage(self.root)
        if used is None:
            return _("your session folder holds too many files")
        if used - replaces + adds <= self.budget:
            return None
        return _("your session folder may hold {budget} and holds {used}; this needs about {adds} more "
                 "(replace a file you saved before, or export less)").format(
                     budget=megabytes(self.budget), used=megabytes(used), adds=megabytes(max(adds - replaces, 0)))

    def path(self, text: str) -> Path:
        """The path `text` names; PathRefused (one line) if it cannot be used."""
        return typed_path(text, self.root)

    def check(self, problem: Callable[[Path, str], str | None]) -> Callable[[str], str | None]:
        """A prompt validator: the refusal of the name, or `problem` of its path, or None."""
        def validate(text: str) -> str | None:
            try:
                return problem(self.path(text), text.strip())
            except PathRefused as exc:
                return str(exc)

        return validate

    def confirm(self, text: str) -> str | None:
        try:
            return replaces(self.path(text), text.strip())
        except PathRefused:
            return None  # submit refuses it with the reason


def cell_value(text: str) -> float:
    """A typed cell value: a number within ±MAX_ABS_VALUE (ValueError with one line otherwise)."""
    value = parse_number(text)
    if abs(value) > MAX_ABS_VALUE:
        raise ValueError(_("keep it within ±{limit:g}").format(limit=MAX_ABS_VALUE))
    return value


def error_of(parse: Callable[[str], object]) -> Callable[[str], str | None]:
    """A prompt validator from a parser: the parser's one-line ValueError, or None."""
    def validate(text: str) -> str | None:
        try:
            parse(text)
        except ValueError as exc:
            return str(exc)
        return None

    return validate


def save(state: TutorState, where: Destination = Destination()) -> Ask:
    """ctrl+s: the scenario as TOML, edited cells kept, loadable with --scenario."""
    def submit(text: str) -> list[Notice]:
        try:
            path = where.path(text)
            content = dumps_scenario(state.config, saved_header()).encode("utf-8")
            problem = where.room_problem(path, blocks(len(content)), disk_usage(path) if is_file(path) else 0)
            if problem is not None:
                return [Notice(_("Could not save: {why}").format(why=problem), "error", 8)]
            write_atomic(path, content)
        except PathRefused as exc:
            return [Notice(_("Could not save: {why}").format(why=exc), "error", 8)]
        except OSError as exc:
            return [Notice(_("Could not save {path}: {why}").format(path=text, why=exc.strerror or exc), "error", 8)]
        if where.root is not None:  # served: the attendee has no shell to load it from
            return [Notice(_("Saved {path} in your session folder on the server, until the session ends.").format(
                path=text.strip()), timeout=8)]
        # The whole path: the prompt took a name relative to the folder the tutor started in.
        return [Notice(_("Saved {path}. Load it again with: tui-attention --scenario {path}").format(
            path=os.path.abspath(path)), timeout=8)]

    return Ask(_("Save the scenario as TOML"), "scenario.toml", where.check(scenario_problem),
               _("The same schema as the files in --scenario; edited cells are kept."), submit, where.confirm)


def export(state: TutorState, where: Destination = Destination()) -> Ask:
    """x: the trace as npz, md or py by the name's suffix, else a folder of CSV files."""
    def submit(text: str) -> list[Notice]:
        from tui_attention.export import SUFFIXES, export_trace

        try:
            path = where.path(text)
            kind = SUFFIXES.get(path.suffix, "csv")
            problem = where.room_problem(path, export_bytes(state.trace, kind), replaced(state.trace, kind, path))
            if problem is not None:
                return [Notice(_("Could not export: {why}").format(why=problem), "error", 8)]
            export_trace(state.trace, kind, path)
        except (OSError, ConfigError, ValueError) as exc:  # PathRefused is a ValueError
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            return [Notice(_("Could not export: {why}").format(why=why), "error", 8)]
        if where.root is not None:
            return [Notice(_("Exported {kind} to {path} in your session folder on the server, until the session "
                             "ends.").format(kind=kind, path=text.strip()), timeout=8)]
        return [Notice(_("Exported {kind} to {path}").format(kind=kind, path=os.path.abspath(path)), timeout=8)]

    return Ask(_("Export what you see"), "attention.md", where.check(export_problem),
               _("Name ending in .npz, .md or .py, or a folder name for CSV files."), submit, where.confirm)


def replaced(trace: Trace, kind: str, path: Path) -> int:
    """The bytes on disk an export of `trace` at `path` replaces: the file there, or for csv
    the files of the folder it would write again (not the folder's other files)."""
    if kind != "csv":
        return disk_usage(path) if is_file(path) else 0
    if not is_dir(path):
        return 0
    return sum(disk_usage(path / f"{name}.csv") for name in trace_tensors(trace) if is_file(path / f"{name}.csv"))


def edit_cell(state: TutorState, matrix: str, row: int, col: int, value: float) -> Ask:
    """enter on an input cell of the matrix view: a new value, everything downstream recomputed."""
    shown = fmt(value, state.decimals)

    def submit(text: str) -> list[Notice]:
        if text.strip() == shown:
            return []  # enter on the value as shown changes nothing (it would round the cell)
        try:
            state.edit_cell(matrix, row, col, cell_value(text))
        except ConfigError as exc:
            return [Notice(str(exc), "warning", 8)]
        return []

    head = _(" (head {head})").format(head=state.head + 1) if matrix.startswith("W") and state.config.heads > 1 else ""
    return Ask(_("New value for {cell}{head}").format(cell=f"{matrix}[{row + 1},{col + 1}]", head=head),
               shown, error_of(cell_value),
               _("Everything downstream is recomputed in both views; the cell stays marked with *."), submit)


def answer(attempt: Callable[[str], list[Notice]]) -> Ask:
    """a: type the answer to a numeric question; text that is not a number is refused inline."""
    return Ask(_("Your answer"), "", error_of(parse_number),
               _("A number, e.g. -0.03. Enter checks it, escape closes."), attempt, low=True)
