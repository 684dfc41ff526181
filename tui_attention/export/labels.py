"""Row and column labels of an exported tensor: tokens for token axes, m1.. k1.. v1.. f1..
for the model's dimensions, h1v1.. for the concatenated heads (axes from the tensor registry)."""

from __future__ import annotations

import numpy as np

from tui_attention.core.tensors import tensor
from tui_attention.core.trace import Trace

PREFIXES = {"d_model": "m", "d_k": "k", "d_v": "v", "d_ff": "f"}


def axis_labels(trace: Trace, axis: str) -> list[str]:
    """The labels along `axis`: the tokens, h1v1.. for concat, or m1.. k1.. v1.. f1.."""
    c = trace.config
    if axis == "token":
        return list(trace.tokens)
    if axis == "concat":
        return [f"h{h + 1}v{j + 1}" for h in range(c.heads) for j in range(c.d_v)]
    size = {"d_model": c.d_model, "d_k": c.d_k, "d_v": c.d_v, "d_ff": c.d_ff}[axis]
    return [f"{PREFIXES[axis]}{j + 1}" for j in range(size)]


def short_key(name: str) -> str:
    """The registry key of a flat name: "heads.0.Q" -> "Q", "block.W_o" -> "W_o"."""
    return name.rsplit(".", 1)[-1]


def tensor_labels(trace: Trace, name: str) -> tuple[str, list[str], list[str]]:
    """(row axis name, row labels, column labels) of a `trace_tensors` entry.

    A 1-D tensor (a bias) is one row labelled by its name. The rows of a
    token x token matrix are the queries.
    """
    t = tensor(short_key(name))
    col_labels = axis_labels(trace, t.cols)
    if t.rows is None:
        return "", [name], col_labels
    row_axis = "query" if t.cols == "token" else t.rows
    return row_axis, axis_labels(trace, t.rows), col_labels


def as_rows(value: np.ndarray) -> np.ndarray:
    """A vector as one row; a matrix as it is."""
    return value.reshape(1, -1) if value.ndim == 1 else value
