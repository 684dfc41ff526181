"""Scaled dot-product attention, one function per equation (one head).

    Q = X W_q    K = X W_k    V = X W_v
    S = Q K^T   (optionally / sqrt(d_k), optionally causally masked)
    A = softmax(S) along each row
    Z = A V

`weighted_sum` is Z's row i written as the notebook's loop, so that the
step-through can show it was computed the other way and still agrees.
"""

from __future__ import annotations

import numpy as np


def project(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """X W: (n, d_model) @ (d_model, d_k) -> (n, d_k)."""
    return x @ w


def scores(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """S = Q K^T, S[i, j] = q_i . k_j: (n, d_k) @ (d_k, n) -> (n, n)."""
    return q @ k.T


def scale_factor(scale: str, d_k: int) -> float:
    """The divisor of the scores: 1 for "none", sqrt(d_k) for "sqrt_dk"."""
    return float(np.sqrt(d_k)) if scale == "sqrt_dk" else 1.0


def scale_scores(s: np.ndarray, scale: str, d_k: int) -> np.ndarray:
    """S / sqrt(d_k) when scale == "sqrt_dk", else S itself (the trace's arrays are read-only, so
    the unscaled stage shares S's memory: 2 MiB at 512 words).  Shape kept, input not mutated."""
    return s / scale_factor(scale, d_k) if scale == "sqrt_dk" else s


def causal_mask(n: int) -> np.ndarray:
    """M[i, j] = True where j > i: word i may not look at later words.  Shape (n, n)."""
    return np.triu(np.ones((n, n), dtype=bool), k=1)


def apply_mask(s: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """S with masked cells set to -inf (not a large negative number), so exp() gives exactly 0.
    Without a mask, S itself (read-only in the trace, so shared rather than copied)."""
    if mask is None:
        return s
    return np.where(mask, -np.inf, s)


def softmax(s: np.ndarray) -> np.ndarray:
    """A[i, j] = exp(S[i, j] - max_j S[i, :]) / sum_j exp(S[i, j] - max_j S[i, :]).

    Along the last axis (each row sums to 1). Subtracting the row maximum keeps
    exp() from overflowing and does not change the result. The input is never
    modified, and -inf cells get exactly 0. A row that is entirely -inf has no
    valid key; it gets all zeros rather than NaN.
    """
    s = np.asarray(s, dtype=np.float64)
    row_max = np.max(s, axis=-1, keepdims=True)
    row_max[~np.isfinite(row_max)] = 0.0
    e = np.subtract(s, row_max)
    np.exp(e, out=e)  # in place: at 512 words each pass over a new array costs as much as exp
    total = e.sum(axis=-1, keepdims=True)
    if (total > 0).all():
        e /= total
        return e
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def softmax_denominator(row: np.ndarray) -> tuple[float, float] | None:
    """(m, Σ_j exp(row_j - m)) for one row of logits, shape (n,): m the largest finite entry,
    the shift `softmax` subtracts, and the sum it divides by (a -inf entry adds exp(-inf) = 0).
    None for a row with no finite entry."""
    finite = row[np.isfinite(row)]
    if not finite.size:
        return None
    top = float(np.max(finite))
    return top, float(np.sum(np.exp(finite - top)))


def attend(a: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Z = A V, z_i = sum_j A[i, j] v_j: (n, n) @ (n, d_v) -> (n, d_v)."""
    return a @ v


def weighted_sum(alpha: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z = sum_j alpha_j v_j as a loop over j: (n,) and (n, d_v) -> (d_v,)."""
    z = np.zeros(v.shape[1])
    for a_j, v_j in zip(alpha, v):
        z = z + a_j * v_j
    return z
