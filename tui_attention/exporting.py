"""Export a Trace: `tui-attention export --format npz|csv|md|py OUT`, and `export_trace` for the app.

Pure Python + NumPy (no Textual). Every format names tensors as
`tui_attention.core.serialize.trace_tensors` does ("E", "heads.0.Q", "block.W_o", ...),
the same names as `tui-attention trace --format json`.

  npz  every tensor plus "tokens" (a unicode array); np.load(OUT) reads it.
  csv  a folder with one <name>.csv per tensor: a header row of column labels,
       then one row per matrix row, its label (the token, or m1.. for a d_model
       dimension) first. Numbers at full precision; masked logits are "-inf".
       numpy.loadtxt(f, delimiter=",", skiprows=1, usecols=range(1, cols + 1)).
  md   Markdown tables with shapes, numbers with sign at 4 decimals.
  py   a standalone script (imports only numpy) holding the inputs at full
       precision; it recomputes and prints the attention weights, Z and the
       block's outputs, named as in `tui-attention trace`.

Files are overwritten; a csv folder is created if needed and its files replaced.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from tui_attention.core.numbers import fmt
from tui_attention.core.serialize import config_summary, trace_tensors
from tui_attention.core.trace import Trace

__all__ = ["FORMATS", "ExportError", "export_trace", "suggested_name", "tensor_labels",
           "to_csv_files", "to_markdown", "to_script", "register"]

FORMATS = ("npz", "csv", "md", "py")
SUFFIXES = {".npz": "npz", ".md": "md", ".py": "py"}

DESCRIPTIONS = {
    "E": "token embeddings",
    "P": "positional encodings",
    "X": "X = E + P, the input of attention",
    "W_q": "query weights",
    "W_k": "key weights",
    "W_v": "value weights",
    "Q": "queries, Q = X W_q",
    "K": "keys, K = X W_k",
    "V": "values, V = X W_v",
    "scores": "S = Q Kᵀ, unscaled",
    "scaled": "the scores after scaling",
    "logits": "the scores after scaling and masking (-inf = masked)",
    "weights": "attention weights A = softmax(logits), each row sums to 1",
    "output": "Z = A V",
    "attention": "the heads' outputs side by side",
    "W_o": "output projection",
    "projection": "concat W_o",
    "residual_1": "X + projection",
    "norm_1": "LayerNorm(X + projection)",
    "W_1": "feed-forward weights, first layer",
    "b_1": "feed-forward bias, first layer",
    "W_2": "feed-forward weights, second layer",
    "b_2": "feed-forward bias, second layer",
    "ffn_hidden": "norm_1 W_1 + b_1, before ReLU",
    "ffn_activation": "ReLU(ffn_hidden)",
    "ffn_output": "ffn_activation W_2 + b_2",
    "residual_2": "norm_1 + ffn_output",
    "norm_2": "LayerNorm(norm_1 + ffn_output), the block's output",
}


class ExportError(ValueError):
    """The export could not be written; the message is one line naming the path (a ValueError)."""


def suggested_name(fmt_: str) -> str:
    """A default OUT for the app: attention-trace.npz, attention-trace-csv, ..."""
    return "attention-trace-csv" if fmt_ == "csv" else f"attention-trace.{fmt_}"


def _axis(trace: Trace, kind: str) -> tuple[str, list[str]]:
    c = trace.config
    if kind == "token":
        return "token", list(trace.tokens)
    if kind == "concat":
        return "concat", [f"h{h + 1}v{j + 1}" for h in range(c.heads) for j in range(c.d_v)]
    size, prefix = {"d_model": (c.d_model, "m"), "d_k": (c.d_k, "k"), "d_v": (c.d_v, "v"), "d_ff": (c.d_ff, "f")}[kind]
    return kind, [f"{prefix}{j + 1}" for j in range(size)]


_AXES = {
    "E": ("token", "d_model"), "P": ("token", "d_model"), "X": ("token", "d_model"),
    "W_q": ("d_model", "d_k"), "W_k": ("d_model", "d_k"), "W_v": ("d_model", "d_v"),
    "Q": ("token", "d_k"), "K": ("token", "d_k"), "V": ("token", "d_v"),
    "scores": ("token", "token"), "scaled": ("token", "token"), "logits": ("token", "token"),
    "weights": ("token", "token"), "output": ("token", "d_v"), "attention": ("token", "concat"),
    "W_o": ("concat", "d_model"), "projection": ("token", "d_model"), "residual_1": ("token", "d_model"),
    "norm_1": ("token", "d_model"), "W_1": ("d_model", "d_ff"), "b_1": (None, "d_ff"),
    "W_2": ("d_ff", "d_model"), "b_2": (None, "d_model"), "ffn_hidden": ("token", "d_ff"),
    "ffn_activation": ("token", "d_ff"), "ffn_output": ("token", "d_model"),
    "residual_2": ("token", "d_model"), "norm_2": ("token", "d_model"),
}


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def tensor_labels(trace: Trace, name: str) -> tuple[str, list[str], list[str]]:
    """(row axis name, row labels, column labels) of a trace_tensors entry.

    A 1-D tensor (a bias) is one row labelled by its name.
    """
    rows, cols = _AXES[_short(name)]
    _, col_labels = _axis(trace, cols)
    if rows is None:
        return "", [name], col_labels
    row_axis, row_labels = _axis(trace, rows)
    return ("query" if cols == "token" else row_axis), row_labels, col_labels


def _rows(value: np.ndarray) -> np.ndarray:
    return value.reshape(1, -1) if value.ndim == 1 else value


# --------------------------------------------------------------------------- writers


def _atomic_write(path: Path, write: Callable[[io.IOBase], None], binary: bool) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_text(trace: Trace, name: str, value: np.ndarray) -> str:
    row_axis, row_labels, col_labels = tensor_labels(trace, name)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([row_axis or "name", *col_labels])
    for label, row in zip(row_labels, _rows(value)):
        writer.writerow([label, *(repr(float(x)) for x in row)])
    return buf.getvalue()


def to_csv_files(trace: Trace) -> dict[str, str]:
    """File name -> CSV text, one per tensor."""
    return {f"{name}.csv": _csv_text(trace, name, value) for name, value in trace_tensors(trace).items()}


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def to_markdown(trace: Trace, decimals: int = 4) -> str:
    """Every tensor as a Markdown table with its shape, for notes and slides."""
    summary = config_summary(trace)
    out = [f"# Attention trace: {_md_cell(' '.join(trace.tokens))}", ""]
    out.append(", ".join(f"{k} = {v}" for k, v in summary.items() if k != "explicit_weights"))
    out.append("")
    for name, value in trace_tensors(trace).items():
        shape = " × ".join(str(s) for s in value.shape)
        out.append(f"## {name} ({shape})")
        out.append("")
        desc = DESCRIPTIONS.get(_short(name), "")
        if desc:
            out.append(desc[:1].upper() + desc[1:] + ".")
            out.append("")
        row_axis, row_labels, col_labels = tensor_labels(trace, name)
        out.append("| " + " | ".join([_md_cell(row_axis), *map(_md_cell, col_labels)]) + " |")
        out.append("|" + "---|" + "---:|" * len(col_labels))
        for label, row in zip(row_labels, _rows(value)):
            out.append("| " + " | ".join([_md_cell(label), *(fmt(x, decimals) for x in row)]) + " |")
        out.append("")
    return "\n".join(out)


def _literal(a: np.ndarray, indent: str = "    ") -> str:
    """np.array([...]) source with repr floats (exact round trip), one row per line."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return "np.array([" + ", ".join(repr(float(x)) for x in a) + "])"
    rows = ",\n".join(indent + "[" + ", ".join(repr(float(x)) for x in row) + "]" for row in a)
    return "np.array([\n" + rows + ",\n])"


SCRIPT_TEMPLATE = '''#!/usr/bin/env python3
"""Self-attention and one Transformer encoder block, recomputed with NumPy alone.

Exported by tui-attention. Sentence: {sentence}
Settings: {settings}

Run it with `python {filename}`. It prints the attention weights and output of
every head, then the rest of the encoder block, named as in `tui-attention
trace`. Every input below is stored at full precision, so the numbers match
the tutor's. Change anything and run it again.
"""

import numpy as np

TOKENS = {tokens!r}
D_MODEL, D_K, D_V, D_FF, HEADS = {d_model}, {d_k}, {d_v}, {d_ff}, {heads}
SCALE = "{scale}"  # "none", or "sqrt_dk": divide the scores by sqrt(d_k), as in Vaswani et al. 2017
MASK = "{mask}"  # "none", or "causal": word i may not look at later words j > i
LAYER_NORM_EPS = {eps!r}
DECIMALS = 4

# Token embeddings E (n x d_model) and positional encodings P (n x d_model).
E = {E}
P = {P}

# One W_q, W_k (d_model x d_k) and W_v (d_model x d_v) per head.
W_Q = [
{W_Q}
]
W_K = [
{W_K}
]
W_V = [
{W_V}
]

# Output projection (heads*d_v x d_model) and the feed-forward network.
W_O = {W_O}
W_1 = {W_1}
B_1 = {B_1}
W_2 = {W_2}
B_2 = {B_2}


def softmax(s):
    """Row by row: each query's weights over the keys sum to 1.

    Subtracting the row maximum keeps exp() from overflowing and changes
    nothing; -inf (a masked score) gives exactly 0.
    """
    top = s.max(axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(s - top)
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def layer_norm(x, eps=LAYER_NORM_EPS):
    """Each row to mean 0 and variance 1."""
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def show(name, value):
    print(f"{{name}} {{value.shape}}:")
    print(value)
    print()


def main():
    n = len(TOKENS)
    X = E + P
    outputs = []
    for h in range(HEADS):
        Q, K, V = X @ W_Q[h], X @ W_K[h], X @ W_V[h]
        S = Q @ K.T
        if SCALE == "sqrt_dk":
            S = S / np.sqrt(D_K)
        if MASK == "causal":
            later = np.triu(np.ones((n, n), dtype=bool), k=1)
            S = np.where(later, -np.inf, S)  # -inf, not a large negative number
        A = softmax(S)
        Z = A @ V
        show(f"heads.{{h}}.weights", A)
        show(f"heads.{{h}}.output", Z)
        outputs.append(Z)
    concat = np.concatenate(outputs, axis=-1)
    show("attention", concat)
    projection = concat @ W_O
    norm_1 = layer_norm(X + projection)
    ffn_output = np.maximum(norm_1 @ W_1 + B_1, 0.0) @ W_2 + B_2
    norm_2 = layer_norm(norm_1 + ffn_output)
    show("block.projection", projection)
    show("block.norm_1", norm_1)
    show("block.ffn_output", ffn_output)
    show("block.norm_2", norm_2)


if __name__ == "__main__":
    print("tokens:", " ".join(TOKENS))
    print()
    with np.printoptions(precision=DECIMALS, suppress=True, linewidth=100, threshold=10**9):
        main()
'''


def to_script(trace: Trace, filename: str = "attention.py") -> str:
    """The standalone NumPy script (see the module docstring)."""
    from tui_attention.core.block import LAYER_NORM_EPS

    c = trace.config
    b = trace.block

    def per_head(key: str) -> str:
        return "\n".join(f"    {_literal(getattr(h, key), ' ' * 8)}," for h in trace.heads)

    settings = ", ".join(f"{k}={v}" for k, v in config_summary(trace).items() if k != "explicit_weights")
    return SCRIPT_TEMPLATE.format(
        sentence=" ".join(trace.tokens).replace('"""', "'''").replace("\\", "\\\\"),
        settings=settings,
        filename=filename,
        tokens=list(trace.tokens),
        d_model=c.d_model, d_k=c.d_k, d_v=c.d_v, d_ff=c.d_ff, heads=c.heads,
        scale=c.scale, mask=c.mask, eps=LAYER_NORM_EPS,
        E=_literal(trace.E), P=_literal(trace.P),
        W_Q=per_head("W_q"), W_K=per_head("W_k"), W_V=per_head("W_v"),
        W_O=_literal(b.W_o), W_1=_literal(b.W_1), B_1=_literal(b.b_1), W_2=_literal(b.W_2), B_2=_literal(b.b_2),
    )


def _describe_os_error(path: Path, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if isinstance(exc, PermissionError):
        reason = "permission denied"
    return f"cannot write {path}: {reason}"


def export_trace(trace: Trace, fmt_: str, out_path: str | Path) -> Path:
    """Write `trace` as npz, csv (a folder), md or py at out_path; return the path written.

    Files are replaced atomically if they exist. Raises ExportError (one line)
    when out_path's folder does not exist, is not writable, or out_path is of
    the wrong kind (a folder for a file format, a file for csv).
    """
    if fmt_ not in FORMATS:
        raise ExportError(f"unknown export format {fmt_!r} (expected one of {', '.join(FORMATS)})")
    path = Path(out_path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise ExportError(f"cannot write {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise ExportError(f"cannot write {path}: {parent} is not a folder")
    try:
        if fmt_ == "csv":
            if path.exists() and not path.is_dir():
                raise ExportError(f"cannot write {path}: it is a file, and csv export writes a folder")
            path.mkdir(exist_ok=True)
            for name, text in to_csv_files(trace).items():
                _atomic_write(path / name, lambda fh, t=text: fh.write(t), binary=False)
            return path
        if path.is_dir():
            raise ExportError(f"cannot write {path}: it is a folder")
        if fmt_ == "npz":
            arrays = {**trace_tensors(trace), "tokens": np.array(trace.tokens, dtype=str)}
            _atomic_write(path, lambda fh: np.savez(fh, **arrays), binary=True)
        elif fmt_ == "md":
            text = to_markdown(trace)
            _atomic_write(path, lambda fh: fh.write(text), binary=False)
        else:
            text = to_script(trace, path.name)
            _atomic_write(path, lambda fh: fh.write(text), binary=False)
    except OSError as exc:
        raise ExportError(_describe_os_error(path, exc)) from None
    return path


# --------------------------------------------------------------------------- command line


def _cmd_export(args) -> int:
    import sys

    from tui_attention.cli import UsageError, config_from_args
    from tui_attention.core.trace import compute

    fmt_ = args.format
    out = args.out
    if fmt_ is None:
        fmt_ = SUFFIXES.get(Path(out).suffix.lower())
        if fmt_ is None:
            raise UsageError(f"tui-attention export: give --format {{{','.join(FORMATS)}}} (cannot tell it from {out!r})")
    trace = compute(config_from_args(args))
    if out == "-":
        if fmt_ not in ("md", "py"):
            raise UsageError(f"tui-attention export: '-' (standard output) works for md and py, not {fmt_}")
        sys.stdout.write(to_markdown(trace) if fmt_ == "md" else to_script(trace))
        return 0
    try:
        written = export_trace(trace, fmt_, out)
    except ExportError as exc:
        raise UsageError(f"tui-attention export: {exc}") from None
    count = len(trace_tensors(trace))
    what = f"{count} CSV files in" if fmt_ == "csv" else f"{count} tensors to" if fmt_ in ("npz", "md") else "a NumPy script to"
    print(f"Wrote {what} {written}")
    return 0


def register(subparsers, shared) -> None:
    p = subparsers.add_parser(
        "export",
        parents=[shared],
        help="write every number of the trace as npz, csv, Markdown or a NumPy script",
        description="Write the trace of a scenario (the notebook's by default) for use elsewhere. "
        "npz: every tensor plus tokens, named as in `trace --format json`. "
        "csv: a folder with one CSV per matrix (created if needed). "
        "md: Markdown tables with shapes. "
        "py: a standalone NumPy script that recomputes and prints the same numbers. "
        "An existing OUT file (or the CSV files in an existing folder) is overwritten.",
    )
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="the format (default: from OUT's suffix .npz, .md or .py)")
    p.add_argument("out", metavar="OUT",
                   help="the file to write (a folder for csv); overwritten if it exists; '-' prints md or py")
    p.set_defaults(func=_cmd_export)
