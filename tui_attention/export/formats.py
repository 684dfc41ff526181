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

Files are overwritten; a csv folder is created if needed and its files replaced.
The Markdown's words and the error messages are translated; tensor names, column
labels and the script stay as they are, so that other programs can read them.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from tui_attention.core.serialize import config_summary
from tui_attention.core.tensors import tensor, trace_tensors
from tui_attention.core.trace import Trace
from tui_attention.i18n import _
from tui_attention.infra.files import write_atomic
from tui_attention.steps.notation import fmt

from .labels import as_rows, short_key, tensor_labels
from .script import to_script

__all__ = ["FORMATS", "SUFFIXES", "ExportError", "export_trace", "suggested_name", "to_csv_files", "to_markdown"]

FORMATS = ("npz", "csv", "md", "py")
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
    return _("cannot write {path}: {why}").format(path=path, why=reason)


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
        raise ExportError(_("cannot write {path}: folder {folder} does not exist").format(path=path, folder=parent))
    if not parent.is_dir():
        raise ExportError(_("cannot write {path}: {folder} is not a folder").format(path=path, folder=parent))
    try:
        if fmt_ == "csv":
            if path.exists() and not path.is_dir():
                raise ExportError(_("cannot write {path}: it is a file, and csv export writes a folder").format(
                    path=path))
            path.mkdir(exist_ok=True)
            for name, text in to_csv_files(trace).items():
                write_atomic(path / name, text)
            return path
        if path.is_dir():
            raise ExportError(_("cannot write {path}: it is a folder").format(path=path))
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
