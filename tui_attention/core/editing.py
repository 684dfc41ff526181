"""Editing one input cell: the matrix becomes explicit in the Config, then the Trace is recomputed.

Editable: E (embeddings), P (positions), W_q, W_k, W_v (per head).
"""

from __future__ import annotations

import math

import numpy as np

from tui_attention.i18n import _

from .config import Config, ConfigError
from .trace import Trace

EDITABLE = ("E", "P", "W_q", "W_k", "W_v")


def with_cell(config: Config, trace: Trace, matrix: str, row: int, col: int, value: float, head: int = 0) -> Config:
    """A new Config equal to `config` except matrix[row, col] = value (W_* of head `head`)."""
    if matrix not in EDITABLE:
        raise ConfigError(_("{matrix}: only {editable} can be edited").format(
            matrix=matrix, editable=", ".join(EDITABLE)))
    if not math.isfinite(value):
        raise ConfigError(_("{cell}: value must be a finite number, got {value!r}").format(
            cell=_cell(matrix, row, col), value=value))
    if matrix in ("E", "P"):
        current = (trace.E if matrix == "E" else trace.P).copy()
        _check(matrix, current, row, col)
        current[row, col] = value
        if matrix == "E":
            return config.replace(embeddings=current)
        return config.replace(positions_kind="table", positions=current)
    name = matrix.lower()
    stacked = np.stack([getattr(h, matrix) for h in trace.heads])
    _check(matrix, stacked[head], row, col)
    stacked[head, row, col] = value
    explicit = stacked[0] if config.heads == 1 else stacked
    return config.replace(weights={**config.weights, name: explicit})


def _check(matrix: str, a: np.ndarray, row: int, col: int) -> None:
    if not (0 <= row < a.shape[0] and 0 <= col < a.shape[1]):
        raise ConfigError(_("{cell}: outside its {rows}x{cols} shape").format(
            cell=_cell(matrix, row, col), rows=a.shape[0], cols=a.shape[1]))


def _cell(matrix: str, row: int, col: int) -> str:
    """W_q[1,2]: a cell as the learner sees it, 1-based."""
    return f"{matrix}[{row + 1},{col + 1}]"
