"""The py export: a standalone NumPy script holding the inputs at full precision, which
recomputes and prints the attention weights, Z and the block's outputs, named as in
`tui-attention trace`. Its only import is numpy."""

from __future__ import annotations

import numpy as np

from tui_attention.core.block import LAYER_NORM_EPS
from tui_attention.core.serialize import config_summary
from tui_attention.core.trace import Trace


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
