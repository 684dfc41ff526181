"""The rest of a Transformer encoder block (post-norm, as in Vaswani et al. 2017).

    Y1 = LayerNorm(X + concat(Z_1..Z_h) W_o)
    Y2 = LayerNorm(Y1 + FFN(Y1)),  FFN(y) = ReLU(y W_1 + b_1) W_2 + b_2
"""

from __future__ import annotations

import numpy as np

LAYER_NORM_EPS = 1e-5


def concat_heads(outputs: list[np.ndarray]) -> np.ndarray:
    """[Z_1 | Z_2 | ... | Z_h]: h x (n, d_v) -> (n, h*d_v)."""
    return np.concatenate(outputs, axis=-1)


def output_projection(concat: np.ndarray, w_o: np.ndarray) -> np.ndarray:
    """concat W_o: (n, h*d_v) @ (h*d_v, d_model) -> (n, d_model)."""
    return concat @ w_o


def residual(x: np.ndarray, sublayer_out: np.ndarray) -> np.ndarray:
    """x + sublayer(x): both (n, d_model)."""
    return x + sublayer_out


def layer_norm(x: np.ndarray, eps: float = LAYER_NORM_EPS) -> np.ndarray:
    """(x - mean(x)) / sqrt(var(x) + eps) over each row (gain 1, bias 0).  Shape kept."""
    centred = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(centred * centred, axis=-1, keepdims=True)  # what x.var() computes, without a second centring
    return centred / np.sqrt(var + eps)


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x), element-wise."""
    return np.maximum(x, 0.0)


def feed_forward(y: np.ndarray, w_1: np.ndarray, b_1: np.ndarray, w_2: np.ndarray, b_2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Position-wise FFN.  Returns (hidden, activation, output):

    hidden = y W_1 + b_1      (n, d_model) @ (d_model, d_ff) -> (n, d_ff)
    activation = ReLU(hidden) (n, d_ff)
    output = activation W_2 + b_2  (n, d_ff) @ (d_ff, d_model) -> (n, d_model)
    """
    hidden = y @ w_1 + b_1
    activation = relu(hidden)
    return hidden, activation, activation @ w_2 + b_2
