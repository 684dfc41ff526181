"""Positional encodings P: one d_model-vector per position, added to E.

X = E + P, so that the same word at two places has two different inputs.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def sinusoidal(n: int, d_model: int) -> np.ndarray:
    """Vaswani et al. (2017), positions counted from 0.  Shape (n, d_model).

    P[pos, 2i]   = sin(pos / 10000^(2i / d_model))
    P[pos, 2i+1] = cos(pos / 10000^(2i / d_model))
    """
    pos = np.arange(n, dtype=np.float64)[:, None]
    two_i = np.arange(0, d_model, 2, dtype=np.float64)[None, :]
    angle = pos / np.power(10000.0, two_i / d_model)
    table = np.zeros((n, d_model))
    table[:, 0::2] = np.sin(angle)
    table[:, 1::2] = np.cos(angle[:, : d_model // 2])
    table.setflags(write=False)  # cached and shared
    return table


def no_positions(n: int, d_model: int) -> np.ndarray:
    """P = 0: attention alone cannot tell word order apart.  Shape (n, d_model)."""
    return np.zeros((n, d_model))
