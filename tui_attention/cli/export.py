"""`tui-attention export`: write every number of the trace as npz, csv, Markdown or a NumPy script."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui_attention.core.config import brief_repr
from tui_attention.export import FORMATS, SUFFIXES
from tui_attention.i18n import _, ngettext

from .options import UsageError, check_output, config_from_args


def run(args: argparse.Namespace) -> int:
    from tui_attention.core.tensors import trace_tensors
    from tui_attention.core.trace import compute
    from tui_attention.export import ExportError, export_trace, to_markdown, to_script

    fmt_ = args.format
    out = args.out
    implied = SUFFIXES.get(Path(out).suffix.lower())
    # csv first: it writes a folder, so "name the file .csv" would be advice that fails.
    if fmt_ == "csv" and Path(out).suffix.lower() in SUFFIXES:
        raise UsageError(_("tui-attention export: csv writes a folder of CSV files; {out} looks like a file "
                           "(give a folder name without a suffix)").format(out=brief_repr(out, 100)))
    if fmt_ is not None and implied is not None and implied != fmt_:
        raise UsageError(_("tui-attention export: {out} ends in {suffix} but --format is {format}; "
                           "name the file .{format} or drop --format").format(
            out=brief_repr(out, 100), suffix=Path(out).suffix, format=fmt_))
    if fmt_ is None:
        fmt_ = SUFFIXES.get(Path(out).suffix.lower())
        if fmt_ is None:
            raise UsageError(_("tui-attention export: give --format {choices} (cannot tell it from {out})").format(
                choices="{" + ",".join(FORMATS) + "}", out=brief_repr(out, 100)))
    if out != "-":
        check_output(out, "tui-attention export")
    trace = compute(config_from_args(args))
    if out == "-":
        if fmt_ not in ("md", "py"):
            raise UsageError(_("tui-attention export: '-' (standard output) works for md and py, not {format}").format(
                format=fmt_))
        sys.stdout.write(to_markdown(trace) if fmt_ == "md" else to_script(trace))
        return 0
    try:
        written = export_trace(trace, fmt_, out)
    except ExportError as exc:
        raise UsageError(_("tui-attention export: {why}").format(why=exc)) from None
    count = len(trace_tensors(trace))
    if fmt_ == "csv":
        wrote = ngettext("Wrote {count} CSV file in {path}", "Wrote {count} CSV files in {path}", count)
    elif fmt_ in ("npz", "md"):
        wrote = ngettext("Wrote {count} tensor to {path}", "Wrote {count} tensors to {path}", count)
    else:
        wrote = _("Wrote a NumPy script to {path}")
    print(wrote.format(count=count, path=written))
    return 0


def register(subparsers, shared: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "export",
        parents=[shared],
        help=_("write every number of the trace as npz, csv, Markdown or a NumPy script"),
        description=_("Write the trace of a scenario (the notebook's by default) for use elsewhere. "
                      "npz: every tensor plus tokens, named as in `trace --format json`. "
                      "csv: a folder with one CSV per matrix (created if needed). "
                      "md: Markdown tables with shapes. "
                      "py: a standalone NumPy script that recomputes and prints the same numbers. "
                      "An existing OUT file (or the CSV files in an existing folder) is overwritten."),
    )
    p.add_argument("--format", choices=FORMATS, default=None,
                   help=_("the format (default: from OUT's suffix .npz, .md or .py)"))
    p.add_argument("out", metavar="OUT",
                   help=_("the file to write (a folder for csv); overwritten if it exists; '-' prints md or py"))
    p.set_defaults(func=run)
