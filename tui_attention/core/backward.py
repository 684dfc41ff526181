"""The backward pass of one attention head with a readout, one function per equation.

The forward pass it differentiates (see `learning.forward`), for a batch of b
sequences of n tokens:

    X = E[tokens] + P                          (b, n, d_model)
    Q = X W_q    K = X W_k    V = X W_v        (b, n, d_k), (b, n, d_k), (b, n, d_v)
    S = Q Kᵀ                                   (b, n, n)
    S' = S / c        c = √d_k or 1            (b, n, n)
    S'' = S' with -inf where masked            (b, n, n)
    A = softmax(S'') along each row            (b, n, n)
    Z = A V                                    (b, n, d_v)
    Y = Z W_out                                (b, n, vocab)   the logits
    L = -(1/N) Σ_{(b,i) with a target} log softmax(Y[b, i])[target[b, i]]

Each function below takes the gradient of L with respect to one tensor's output
("upstream", written dT for ∂L/∂T) and returns the gradient for its inputs, in
the order the chain rule reaches them:

    dY -> dW_out, dZ -> dA, dV -> dS'' -> dS' -> dS -> dQ, dK -> dW_q, dW_k, dW_v -> dX -> dE

Every array is float64; batched shapes carry a leading b.
"""

from __future__ import annotations

import numpy as np

from .attention import scale_factor


def _t(m: np.ndarray) -> np.ndarray:
    """The transpose of the last two axes (each sequence's matrix), not of the batch axis."""
    return np.swapaxes(m, -1, -2)


def linear(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x W for a batch: (b, n, d) @ (d, c) -> (b, n, c), done as one 2-D product
    (NumPy's stacked matmul is several times slower at these sizes)."""
    return (x.reshape(-1, x.shape[-1]) @ w).reshape(*x.shape[:-1], w.shape[-1])


def grad_logits(probs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """dY = (softmax(Y) - onehot(target)) / N at positions with a target, 0 elsewhere.

    probs:   (b, n, vocab) softmax(Y) over the vocabulary
    targets: (b, n) int, -1 = no target;  N = number of targets (the loss is their mean)
    returns  (b, n, vocab)
    """
    has = targets >= 0
    onehot = np.arange(probs.shape[-1]) == targets[..., None]  # all False where targets = -1
    return (probs - onehot) * (has[..., None] / max(int(has.sum()), 1))


def grad_w_out(z: np.ndarray, d_logits: np.ndarray) -> np.ndarray:
    """dW_out = Σ_b Z_bᵀ dY_b:  (d_v, b·n) @ (b·n, vocab) -> (d_v, vocab)."""
    return z.reshape(-1, z.shape[-1]).T @ d_logits.reshape(-1, d_logits.shape[-1])


def grad_z(d_logits: np.ndarray, w_out: np.ndarray) -> np.ndarray:
    """dZ = dY W_outᵀ:  (b, n, vocab) @ (vocab, d_v) -> (b, n, d_v)."""
    return linear(d_logits, w_out.T)


def grad_a(d_z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """dA = dZ Vᵀ, dA[i, j] = dz_i · v_j:  (b, n, d_v) @ (b, d_v, n) -> (b, n, n)."""
    return d_z @ _t(v)


def grad_v(a: np.ndarray, d_z: np.ndarray) -> np.ndarray:
    """dV = Aᵀ dZ, dv_j = Σ_i A[i, j] dz_i:  (b, n, n) @ (b, n, d_v) -> (b, n, d_v)."""
    return _t(a) @ d_z


def softmax_backward(a: np.ndarray, d_a: np.ndarray) -> np.ndarray:
    """dS'' = A ⊙ (dA - rowsum(A ⊙ dA)):  (b, n, n), (b, n, n) -> (b, n, n).

    From ∂A[i, j]/∂S''[i, k] = A[i, j] (δ_jk - A[i, k]): a row's weights sum to 1, so
    raising one score takes weight from the others; adding a constant to dA's row
    changes nothing. Masked cells have A = 0 and so get exactly 0.
    """
    return a * (d_a - (a * d_a).sum(axis=-1, keepdims=True))


def mask_backward(d_s: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """dS' = dS'' where not masked, 0 where masked (S'' there is the constant -inf).

    d_s: (b, n, n);  mask: (n, n) bool, True = masked, or None.  Returns (b, n, n).
    """
    if mask is None:
        return d_s
    return np.where(mask, 0.0, d_s)


def scale_backward(d_s: np.ndarray, scale: str, d_k: int) -> np.ndarray:
    """dS = dS' / c, with c = √d_k for "sqrt_dk" and 1 for "none" (S' = S / c).  Shape kept."""
    c = scale_factor(scale, d_k)
    return d_s / c if c != 1.0 else d_s


def grad_q(d_s: np.ndarray, k: np.ndarray) -> np.ndarray:
    """dQ = dS K, dq_i = Σ_j dS[i, j] k_j:  (b, n, n) @ (b, n, d_k) -> (b, n, d_k)."""
    return d_s @ k


def grad_k(d_s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """dK = dSᵀ Q, dk_j = Σ_i dS[i, j] q_i:  (b, n, n) @ (b, n, d_k) -> (b, n, d_k)."""
    return _t(d_s) @ q


def grad_projection(x: np.ndarray, d_out: np.ndarray) -> np.ndarray:
    """dW = Σ_b X_bᵀ dOut_b for Out = X W:  (d_model, b·n) @ (b·n, d) -> (d_model, d)."""
    return x.reshape(-1, x.shape[-1]).T @ d_out.reshape(-1, d_out.shape[-1])


def grad_w_q(x: np.ndarray, d_q: np.ndarray) -> np.ndarray:
    """dW_q = Σ_b X_bᵀ dQ_b:  (d_model, b·n) @ (b·n, d_k) -> (d_model, d_k)."""
    return grad_projection(x, d_q)


def grad_w_k(x: np.ndarray, d_k: np.ndarray) -> np.ndarray:
    """dW_k = Σ_b X_bᵀ dK_b:  (d_model, b·n) @ (b·n, d_k) -> (d_model, d_k)."""
    return grad_projection(x, d_k)


def grad_w_v(x: np.ndarray, d_v: np.ndarray) -> np.ndarray:
    """dW_v = Σ_b X_bᵀ dV_b:  (d_model, b·n) @ (b·n, d_v) -> (d_model, d_v)."""
    return grad_projection(x, d_v)


def grad_x(d_q: np.ndarray, d_k: np.ndarray, d_v: np.ndarray,
           w_q: np.ndarray, w_k: np.ndarray, w_v: np.ndarray) -> np.ndarray:
    """dX = dQ W_qᵀ + dK W_kᵀ + dV W_vᵀ:  X feeds all three projections.  -> (b, n, d_model)."""
    return linear(d_q, w_q.T) + linear(d_k, w_k.T) + linear(d_v, w_v.T)


def grad_e(d_x: np.ndarray, tokens: np.ndarray, vocab: int) -> np.ndarray:
    """dE[w] = Σ_{(b, i): tokens[b, i] = w} dX[b, i]  (X = E[tokens] + P, P is fixed).

    d_x: (b, n, d_model);  tokens: (b, n) int rows of E.  Returns (vocab, d_model): a
    word that appears twice collects both positions' gradients, one absent gets 0.
    """
    d = d_x.shape[-1]
    # One bincount over (word, column) pairs: a scatter-add, much faster than np.add.at.
    index = (tokens.reshape(-1, 1) * d + np.arange(d)).reshape(-1)
    return np.bincount(index, weights=d_x.reshape(-1), minlength=vocab * d).reshape(vocab, d)
