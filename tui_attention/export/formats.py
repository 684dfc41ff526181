"""Export a Trace as npz, csv, md or py: `export_trace`, used by `tui-attention export` and the app.

Pure Python + NumPy (no Textual). Every format names tensors as the tensor
registry does ("E", "heads.0.Q", "block.W_o", ...), the same names as
`tui-attention trace --format json`.

  npz  every tensor plus "tokens" (a unicode array); np.load(OUT) reads it.
  csv  a folder with one <name>.csv per tensor: a header row of column labels,
       then one row per matrix row, its label (the token, or m1.. for a d_model
       dimension) first. Numbers at full precision; masked logits are "-inf".
       numpy.loadtxt(f, delimiter=",", skiprows=1, usecols=range(1, cols + 1)).
       A label that a spreadsheet would run as a formula (it opens with =, +, -,
       @, a tab or a carriage return: a typed word such as =HYPERLINK(...)) is
       written after a ', as OWASP advises; the numbers are written as they are.
  md   Markdown tables with shapes, numbers with sign at 4 decimals. A word's
       Markdown and HTML characters are escaped (a typed <style> or <!-- stays
       text where the Markdown is rendered).
  py   a standalone script (imports only numpy) holding the inputs at full
       precision; it recomputes and prints the attention weights, Z and the
       block's outputs, named as in `tui-attention trace`.

Files are overwritten; a csv folder is created if needed and its files replaced, all or none:
every file is written in a temporary folder first (a sibling of a new folder, inside an existing
one), then moved into place; a failure leaves the folder as it was and names the file. The
files of heads the trace does not have (heads.3.*.csv, left by an export with four heads) are
removed with the move, so the folder never mixes two scenarios; other files are left alone.
The Markdown's words and the error messages are translated; tensor names, column
labels and the script stay as they are, so that other programs can read them.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

import numpy as np

from tui_attention.core.config import brief_name
from tui_attention.core.serialize import config_summary
from tui_attention.core.tensors import tensor, trace_tensors
from tui_attention.core.trace import Trace
from tui_attention.i18n import _
from tui_attention.infra.files import current_umask, write_atomic, write_problem
from tui_attention.steps.notation import fmt

from .labels import as_rows, short_key, tensor_labels
from .script import to_script

__all__ = ["FORMATS", "SUFFIXES", "ExportError", "export_trace", "suggested_name", "to_csv_files", "to_markdown"]

FORMATS = ("npz", "csv", "md", "py")
# A head's CSV file as `to_csv_files` names it, whichever head (`heads.<h>.<tensor>.csv`).
HEAD_FILE = re.compile(r"heads\.\d+\.[A-Za-z_]+\.csv")
SUFFIXES = {".npz": "npz", ".md": "md", ".py": "py"}


class ExportError(ValueError):
    """The export could not be written; the message is one line naming the path (a ValueError)."""


def suggested_name(fmt_: str) -> str:
    """A default OUT for the app: attention-trace.npz, attention-trace-csv, ..."""
    return "attention-trace-csv" if fmt_ == "csv" else f"attention-trace.{fmt_}"


# --------------------------------------------------------------------------- writers


def _csv_text(trace: Trace, name: str, value: np.ndarray) -> str:
    row_axis, row_labels, col_labels = tensor_labels(trace, name)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([row_axis or "name", *map(_csv_label, col_labels)])
    for label, row in zip(row_labels, as_rows(value)):
        writer.writerow([_csv_label(label), *(repr(float(x)) for x in row)])
    return buf.getvalue()


def _csv_label(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv_files(trace: Trace) -> dict[str, str]:
    """File name -> CSV text, one per tensor."""
    return {f"{name}.csv": _csv_text(trace, name, value) for name, value in trace_tensors(trace).items()}


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~#!])")


def _md_cell(text: str) -> str:
    """A word as Markdown text: its Markdown and HTML characters backslash-escaped (CommonMark)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def to_markdown(trace: Trace, decimals: int = 4) -> str:
    """Every tensor as a Markdown table with its shape, for notes and slides."""
    summary = config_summary(trace)
    out = ["# " + _("Attention trace: {sentence}").format(sentence=_md_cell(" ".join(trace.tokens))), ""]
    out.append(", ".join(f"{k} = {v}" for k, v in summary.items() if k != "explicit_weights"))
    out.append("")
    for name, value in trace_tensors(trace).items():
        shape = " × ".join(str(s) for s in value.shape)
        out.append(f"## {name} ({shape})")
        out.append("")
        desc = _(tensor(short_key(name)).description)
        # A sentence opens with a capital, but not when it opens with a symbol: norm_1, ffn_activation.
        out.append((desc[:1].upper() + desc[1:] if re.match(r"[a-z]+\b", desc) else desc) + ".")
        out.append("")
        row_axis, row_labels, col_labels = tensor_labels(trace, name)
        out.append("| " + " | ".join([_md_cell(row_axis), *map(_md_cell, col_labels)]) + " |")
        out.append("|" + "---|" + "---:|" * len(col_labels))
        for label, row in zip(row_labels, as_rows(value)):
            out.append("| " + " | ".join([_md_cell(label), *(fmt(x, decimals) for x in row)]) + " |")
        out.append("")
    return "\n".join(out)


def _describe_os_error(path: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if isinstance(exc, PermissionError):
        reason = _("permission denied")
    return _("cannot write {path}: {why}").format(path=brief_name(path), why=reason)


def _write_csv_folder(trace: Trace, path: Path) -> None:
    """Write the CSV files of `trace` into the folder `path` (made if missing), all or none.

    Every file is first written to a temporary folder: beside `path` when it is new (then
    renamed to `path`), inside it when it exists (each file then renamed over its old one,
    which is kept aside until all are in place, and put back if one move fails). ExportError
    names the file that failed; `path` then holds what it held before."""
    files = to_csv_files(trace)
    existing = path.is_dir()
    for name in files if existing else ():
        target = path / name
        if target.is_dir():
            raise ExportError(_("cannot write {path}: it is a folder").format(path=brief_name(target)))
        if (why := write_problem(target)) is not None:
            raise ExportError(_("cannot write {path}: {why}").format(path=brief_name(target), why=why))
    where = path if existing else (path.parent if str(path.parent) else Path("."))
    try:
        short = path.name.encode("utf-8", "surrogateescape")[:100].decode("utf-8", "ignore")  # a name fits 255 bytes
        stage = Path(tempfile.mkdtemp(dir=where, prefix=f".{short}.", suffix=".tmp"))
    except OSError as exc:
        raise ExportError(_describe_os_error(path, exc)) from None
    try:
        for name, text in files.items():
            target = _through_link(path / name) if existing else None
            kept = stat.S_IMODE(os.stat(target).st_mode) if target is not None and target.exists() else None
            try:
                write_atomic(stage / name, text, mode=kept)
            except OSError as exc:
                raise ExportError(_describe_os_error(path / name, exc)) from None
        if existing:
            _move_in(stage, path, list(files), _stale_heads(path, files))
        else:
            try:
                os.chmod(stage, 0o777 & ~current_umask())  # as mkdir would make it, not mkdtemp's 0700
                os.rename(stage, path)
            except OSError as exc:
                raise ExportError(_describe_os_error(path, exc)) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _through_link(path: Path) -> Path:
    """The file writing `path` replaces: a symlink's target (as write_atomic follows it), else `path`."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else path


def _stale_heads(folder: Path, files: dict[str, str]) -> list[str]:
    """The head files in `folder` of heads the new export does not write: an earlier export's."""
    try:
        return sorted(name for name in os.listdir(folder)
                      if HEAD_FILE.fullmatch(name) and name not in files and not (folder / name).is_dir())
    except OSError:
        return []


def _move_in(stage: Path, folder: Path, names: list[str], stale: tuple[str, ...] | list[str] = ()) -> None:
    """Rename each stage/name over folder/name (through a link, its target), then the `stale`
    entries out of `folder`; the old files wait in stage/.old until every new one is in place.
    On a failure, undo and raise ExportError."""
    old = stage / ".old"
    old.mkdir()
    moved_aside: list[tuple[Path, Path]] = []
    placed: list[tuple[Path, Path]] = []
    name = ""
    try:
        for name in names:
            target = _through_link(folder / name)
            if target.exists():
                os.rename(target, old / name)
                moved_aside.append((old / name, target))
            os.rename(stage / name, target)
            placed.append((target, stage / name))
        for name in stale:  # the entry itself: a link goes, not the file it points to
            os.rename(folder / name, old / name)
            moved_aside.append((old / name, folder / name))
    except BaseException as exc:
        for target, back in reversed(placed):
            try:
                os.rename(target, back)
            except OSError:
                pass
        for aside, target in reversed(moved_aside):
            try:
                os.rename(aside, target)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise ExportError(_describe_os_error(folder / name, exc)) from None
        raise


def export_trace(trace: Trace, fmt_: str, out_path: str | Path) -> Path:
    """Write `trace` as npz, csv (a folder), md or py at out_path; return the path written.

    Files are replaced atomically if they exist. Raises ExportError (one line)
    when out_path's folder does not exist, is not writable, or out_path is of
    the wrong kind (a folder for a file format, a file for csv).
    """
    if fmt_ not in FORMATS:
        raise ExportError(_("unknown export format {format!r} (expected one of {choices})").format(
            format=fmt_, choices=", ".join(FORMATS)))
    path = Path(out_path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise ExportError(_("cannot write {path}: folder {folder} does not exist").format(
            path=brief_name(path), folder=brief_name(parent)))
    if not parent.is_dir():
        raise ExportError(_("cannot write {path}: {folder} is not a folder").format(
            path=brief_name(path), folder=brief_name(parent)))
    try:
        if fmt_ == "csv":
            if path.exists() and not path.is_dir():
                raise ExportError(_("cannot write {path}: it is a file, and csv export writes a folder").format(
                    path=brief_name(path)))
            _write_csv_folder(trace, path)
            return path
        if path.is_dir():
            raise ExportError(_("cannot write {path}: it is a folder").format(path=brief_name(path)))
        if fmt_ == "npz":
            arrays = {**trace_tensors(trace), "tokens": np.array(trace.tokens, dtype=str)}
            write_atomic(path, lambda fh: np.savez(fh, **arrays))
        elif fmt_ == "md":
            write_atomic(path, to_markdown(trace))
        else:
            write_atomic(path, to_script(trace, path.name))
    except OSError as exc:
        raise ExportError(_describe_os_error(path, exc)) from None
    return path
