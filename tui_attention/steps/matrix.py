"""The matrix steps: the same computation as whole matrices, softmax(Q Kᵀ) V, then the rest of
the encoder block (output projection, residuals and layer norm, feed-forward).

    x  qkv  qkt  scale  mask  softmax  av  [concat]  w_o  add_norm_1  ffn  add_norm_2

Titles and narration go through `_`; a title that is only a formula ("Z = A V  (5x3)")
is notation and stays as it is.
"""

from __future__ import annotations

import numpy as np

from tui_attention.core.attention import weighted_sum
from tui_attention.core.trace import Trace
from tui_attention.i18n import _

from .labels import score_labels
from .notation import DEFAULT_DECIMALS, fmt, fmt_vector
from .step import Cell, Step


def score_spread(trace: Trace, head: int) -> tuple[float, float]:
    """Standard deviation of the unmasked scores before and after scaling."""
    h = trace.heads[head]
    keep = ~trace.mask if trace.mask is not None else np.ones_like(h.scores, dtype=bool)
    return float(np.std(h.scores[keep])), float(np.std(h.scaled[keep]))


def _shape(a: np.ndarray) -> str:
    return "x".join(str(s) for s in a.shape)


def matrix_steps(trace: Trace, head: int = 0, decimals: int = DEFAULT_DECIMALS, word: int = 0) -> list[Step]:
    """The matrix form of the same computation, then the rest of the encoder block, with word
    `word` (0-based) as the highlighted row and its z computed the per-word way as the check."""
    d = decimals
    c = trace.config
    h = trace.heads[head]
    b = trace.block
    before, after = score_spread(trace, head)
    steps: list[tuple] = [
        ("x", f"X = E + P  ({_shape(trace.X)})",
         _("Stack every word's input x_i as a row: X is n x d_model = {shape}. Row i of X is the x_i "
           "of the step-through.").format(shape=_shape(trace.X)),
         (f"X[1] = {fmt_vector(trace.X[0], d)}",), (Cell("E"), Cell("P")), (Cell("X"),)),
        ("qkv", "Q = X W_q,  K = X W_k,  V = X W_v",
         _("One matrix product per projection replaces the per-word loop: Q and K are {qk_shape}, "
           "V is {v_shape}. Row i of Q is q_i.").format(qk_shape=_shape(h.Q), v_shape=_shape(h.V)),
         (f"Q[1] = {fmt_vector(h.Q[0], d)}", f"K[1] = {fmt_vector(h.K[0], d)}", f"V[1] = {fmt_vector(h.V[0], d)}"),
         (Cell("X"), Cell("W_q"), Cell("W_k"), Cell("W_v")), (Cell("Q"), Cell("K"), Cell("V"))),
        ("qkt", f"S = Q Kᵀ  ({_shape(h.scores)})",
         _("Every query against every key at once: S[i, j] = q_i·k_j. Row i holds word i's similarities."),
         (f"S[1,2] = q₁·k₂ = {fmt(h.scores[0, min(1, trace.n - 1)], d)}",), (Cell("Q"), Cell("K")), (Cell("scores"),)),
        ("scale", _("Scaling: {formula}").format(formula="S / √d_k") if c.scale == "sqrt_dk" else _("Scaling: off"),
         (_("Divide every score by √d_k = √{d_k}. Std of the scores: {before} before, {after} after.")
          if c.scale == "sqrt_dk" else
          _("No scaling, as in the notebook (press s for ÷√d_k). Std of the scores: {before}.")).format(
             d_k=c.d_k, before=f"{before:.{d}f}", after=f"{after:.{d}f}"),
         (_("divisor = {divisor}").format(divisor=f"{trace.scale_divisor:.{d}f}"),), (Cell("scores"),),
         (Cell("scaled"),)),
        ("mask", _("Causal mask") if c.mask == "causal" else _("Mask: off"),
         (_("Cells above the diagonal (a word looking at a later word) become -inf, so their weights are 0.")
          if c.mask == "causal" else _("No mask: every word sees every word (press c for a causal mask).")),
         (_("masked cells: {count}").format(count=int(trace.mask.sum()) if trace.mask is not None else 0),),
         (Cell("scaled"),), (Cell("logits"),)),
        ("softmax", _("{formula}, row by row").format(formula="A = softmax(S)"),
         _("The softmax runs along each row: every query's weights over the keys sum to 1. Columns do not."),
         (_("row sums: {sums}").format(sums=fmt_vector(h.weights.sum(axis=1), d)),
          f"A[1,1] = {fmt(h.weights[0, 0], d)}"),
         (Cell("logits"),), (Cell("weights"),)),
        ("av", f"Z = A V  ({_shape(h.output)})",
         _("One product gives every word's output: row i of A V is z_i from the step-through."),
         (f"Z[1] = {fmt_vector(h.output[0], d)}",), (Cell("weights"), Cell("V")), (Cell("output"),)),
    ]
    if c.heads > 1:
        steps.append(("concat", _("Concatenate {heads} heads  ({shape})").format(heads=c.heads,
                                                                                  shape=_shape(trace.attention)),
                      _("Each head has its own W_q, W_k, W_v and attends in its own way. Their outputs are "
                        "placed side by side: n x heads·d_v = {shape}.").format(shape=_shape(trace.attention)),
                      (f"concat[1] = {fmt_vector(trace.attention[0], d)}",), (Cell("output"),), (Cell("attention"),)))
    steps += [
        ("w_o", _("Output projection: {formula}  ({shape})").format(formula="concat(Z₁..Z_h) W_o",
                                                                     shape=_shape(b.projection)),
         _("W_o ({shape}) maps the concatenated head outputs back to d_model = {d_model}, so the "
           "result can be added to X.").format(shape=_shape(b.W_o), d_model=c.d_model),
         (f"proj[1] = {fmt_vector(b.projection[0], d)}",), (Cell("attention"), Cell("W_o")), (Cell("projection"),)),
        ("add_norm_1", _("Residual and layer norm: {formula}").format(formula="LayerNorm(X + proj)"),
         _("The residual connection adds the input back, so the block learns a change to X. Layer norm then "
           "rescales each row to mean 0 and variance 1."),
         (f"X[1] + proj[1] = {fmt_vector(b.residual_1[0], d)}", f"norm1[1] = {fmt_vector(b.norm_1[0], d)}"),
         (Cell("X"), Cell("projection")), (Cell("norm_1"),)),
        ("ffn", _("Feed-forward: {formula}  (d_ff = {d_ff})").format(formula="ReLU(y W_1 + b_1) W_2 + b_2",
                                                                     d_ff=c.d_ff),
         _("The same two-layer network is applied to each position separately: widen to d_ff = {d_ff}, "
           "ReLU, and back to d_model = {d_model}.").format(d_ff=c.d_ff, d_model=c.d_model),
         (f"hidden[1] = {fmt_vector(b.ffn_hidden[0], d)}", f"ReLU = {fmt_vector(b.ffn_activation[0], d)}",
          f"ffn[1] = {fmt_vector(b.ffn_output[0], d)}"),
         (Cell("norm_1"), Cell("W_1"), Cell("b_1"), Cell("W_2"), Cell("b_2")), (Cell("ffn_output"),)),
        ("add_norm_2", _("Residual and layer norm: the block's output"),
         _("Add the feed-forward output to its input and normalise again. This is the encoder block's output, "
           "one d_model vector per word, ready for the next block."),
         (f"out[1] = {fmt_vector(b.norm_2[0], d)}",), (Cell("norm_1"), Cell("ffn_output")), (Cell("norm_2"),)),
    ]
    total = len(steps)
    z_loop = weighted_sum(h.weights[word], h.V)
    gap = float(np.max(np.abs(h.output[word] - z_loop)))
    labels = score_labels(c)
    return [Step(kind, "matrix", k, total, title, text, formula, reads, writes, word=word, head=head,
                 result=tuple(z_loop), result_gap=gap, score_labels=labels)
            for k, (kind, title, text, formula, reads, writes) in enumerate(steps)]
