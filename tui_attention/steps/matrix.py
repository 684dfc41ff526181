"""The matrix steps: the same computation as whole matrices, softmax(Q Kᵀ) V, then the rest of
the encoder block (output projection, residuals and layer norm, feed-forward).

    x  qkv  qkt  scale  mask  softmax  av  [concat]  w_o  add_norm_1  ffn  add_norm_2

Titles and narration go through `_`; a title that is only a formula ("Z = A V  (5x3)")
is notation and stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tui_attention.core.attention import weighted_sum
from tui_attention.core.block import LAYER_NORM_EPS
from tui_attention.core.config import Config
from tui_attention.core.trace import Trace
from tui_attention.i18n import _

from .labels import score_labels, score_suffix
from .notation import DEFAULT_DECIMALS, factor_decimals, fmt, fmt_vector, sub
from .conceal import Said, Sentences
from .step import Cell, Step, passed_on
from .word import scale_lines


def score_spread(trace: Trace, head: int) -> tuple[float, float]:
    """Standard deviation of the unmasked scores before and after scaling."""
    h = trace.heads[head]
    # Reduced with `where=` rather than over the kept scores gathered by a boolean index:
    # half the time at 512 words, where every switch builds the matrix steps again.
    if trace.mask is None:
        return float(np.std(h.scores)), float(np.std(h.scaled))
    keep = ~trace.mask
    return float(np.std(h.scores, where=keep)), float(np.std(h.scaled, where=keep))


def _shape(a: np.ndarray) -> str:
    return "x".join(str(s) for s in a.shape)


def example_column(word: int, n: int) -> int:
    """The key the matrix formulas follow for row `word`: the next word, the previous one for the
    last word, the word itself when it is alone."""
    return word + 1 if word + 1 < n else max(word - 1, 0)


def _layer_norm(c: Config) -> str:
    """What layer norm does here: per row, over d_model numbers, with γ = 1, β = 0 and ε."""
    if c.d_model == 1:
        return _("Layer norm works on each row's own d_model = 1 number, which is its own mean, so every "
                 "output is 0 (gain γ = 1 and bias β = 0 here).")
    return _("Layer norm then rescales each row over its own d_model = {d_model} numbers (not across words) to "
             "mean 0 and variance var/(var + ε), just under 1 (ε = {eps}); a trained model's learned gain γ and "
             "bias β are 1 and 0 here.").format(d_model=c.d_model, eps=f"{LAYER_NORM_EPS:g}")


def matrix_steps(trace: Trace, head: int = 0, decimals: int = DEFAULT_DECIMALS, word: int = 0) -> "MatrixSteps":
    """The matrix form of the same computation, then the rest of the encoder block, with word
    `word` (0-based) as the highlighted row and its z computed the per-word way as the check."""
    d = decimals
    c = trace.config
    h = trace.heads[head]
    before, after = score_spread(trace, head)
    i, j = word, example_column(word, trace.n)
    r, k = i + 1, j + 1  # as the learner reads them
    cell = f"S[{r},{k}]"
    if c.scale == "sqrt_dk":
        scale_formula = tuple(scale_lines([f"{cell} / √{c.d_k}"], h.scores[i, j:j + 1], trace.scale_divisor,
                                          h.scaled[i, j:j + 1], d, factor_decimals(d)))
    else:
        scale_formula = (_("{scores} unchanged: no scaling (press s to divide by √d_k)").format(
            scores=f"{cell} = {fmt(h.scaled[i, j], d)}"),)
    read = f"{cell}{score_suffix('scaled', c)} = {fmt(h.scaled[i, j], d)}"  # what the mask reads
    if c.mask == "causal":
        example = (_("{cell} becomes -inf: {j} > {i}") if j > i else _("{cell} stays: {j} ≤ {i}")).format(
            cell=read, i=r, j=k)
        mask_formula = (_("S[i,j] for j > i becomes -inf"), example,
                        _("masked cells: {count}").format(count=int(trace.mask.sum())))
    else:
        mask_formula = (_("{scores} unchanged: no mask (press c for a causal mask)").format(scores=read),)
    steps: list[tuple] = [
        ("x", f"X = E + P  ({_shape(trace.X)})",
         _("Stack every word's input x_i as a row: X is n x d_model = {shape}. Row i of X is the x_i "
           "of the step-through.").format(shape=_shape(trace.X)),
         (f"X[{r}] = {fmt_vector(trace.X[i], d)}",), (Cell("E"), Cell("P")), (Cell("X"),)),
        ("qkv", "Q = X W_q,  K = X W_k,  V = X W_v",
         _("One matrix product per projection replaces the per-word loop: Q and K are {qk_shape}, "
           "V is {v_shape}. Row i of Q is q_i.").format(qk_shape=_shape(h.Q), v_shape=_shape(h.V)),
         (f"Q[{r}] = {fmt_vector(h.Q[i], d)}", f"K[{r}] = {fmt_vector(h.K[i], d)}",
          f"V[{r}] = {fmt_vector(h.V[i], d)}"),
         (Cell("X"), Cell("W_q"), Cell("W_k"), Cell("W_v")), (Cell("Q"), Cell("K"), Cell("V"))),
        ("qkt", f"S = Q Kᵀ  ({_shape(h.scores)})",
         _("Every query against every key at once: S[i, j] = q_i·k_j, the raw scores before any scaling or "
           "mask. Row i holds word i's similarities."),
         (f"{cell} = q{sub(r)}·k{sub(k)} = {fmt(h.scores[i, j], d)}",), (Cell("Q"), Cell("K")), (Cell("scores"),)),
        ("scale", _("Scaling: {formula}").format(formula="S / √d_k") if c.scale == "sqrt_dk" else _("Scaling: off"),
         Sentences((
             _("Divide every score by √d_k = √{d_k}.").format(d_k=c.d_k) if c.scale == "sqrt_dk" else
             _("No scaling, as in the notebook (press s for ÷√d_k)."),
             # the spread of every score: held back while a question hides one
             Said((_("Std of the scores: {before} before, {after} after.") if c.scale == "sqrt_dk" else
                   _("Std of the scores: {before}.")).format(before=f"{before:.{d}f}", after=f"{after:.{d}f}"),
                  cells={("scores", head, None, None), ("scaled", head, None, None)}),
         )),
         scale_formula, *passed_on(c, "scale")),
        ("mask", _("Causal mask") if c.mask == "causal" else _("Mask: off"),
         (_("Cells above the diagonal (a word looking at a later word) become -inf, so their weights are 0.")
          if c.mask == "causal" else _("No mask: every word sees every word (press c for a causal mask).")),
         mask_formula, *passed_on(c, "mask")),
        ("softmax", _("{formula}, row by row").format(formula="A = softmax(S)"),
         _("The softmax runs along each row: every query's weights over the keys sum to 1. Columns do not."),
         # 1 - the sum of the others would give a hidden weight: held back with its row
         (Said(_("row sums: {sums}").format(sums=fmt_vector(h.weights.sum(axis=1), d)),
               cells={("weights", head, None, None)}),
          f"A[{r},{k}] = {fmt(h.weights[i, j], d)}"),
         (Cell("logits"),), (Cell("weights"),)),
        ("av", f"Z = A V  ({_shape(h.output)})",
         _("One product gives every word's output: row i of A V is z_i from the step-through."),
         (f"Z[{r}] = {fmt_vector(h.output[i], d)}",), (Cell("weights"), Cell("V")), (Cell("output"),)),
    ]
    if c.heads > 1:
        steps.append(("concat", _("Concatenate {heads} heads  ({shape})").format(heads=c.heads,
                                                                                  shape=_shape(trace.attention)),
                      _("Each head has its own W_q, W_k, W_v and attends in its own way. Their outputs are "
                        "placed side by side: n x heads·d_v = {shape}.").format(shape=_shape(trace.attention)),
                      (f"concat[{r}] = {fmt_vector(trace.attention[i], d)}",), (Cell("output"),),
                      (Cell("attention"),)))
    def row_line(key: str, name: str, values: np.ndarray) -> Said:
        # Row i of a matrix of the block: held back whole while a question hides a cell of it
        # (the block's matrices are no head's: their cells are recorded as head 0's).
        return Said(f"{name} = {fmt_vector(values[i], d)}", cells={(key, 0, i, None)}, instead=f"{name} = ?")

    def block_entries() -> list[tuple]:
        b = trace.block
        return [
        ("w_o", _("Output projection: {formula}  ({shape})").format(formula="concat(Z₁..Z_h) W_o",
                                                                     shape=_shape(b.projection)),
         _("W_o ({shape}) maps the concatenated head outputs back to d_model = {d_model}, so the "
           "result can be added to X.").format(shape=_shape(b.W_o), d_model=c.d_model),
         (row_line("projection", f"proj[{r}]", b.projection),), (Cell("attention"), Cell("W_o")), (Cell("projection"),)),
        ("add_norm_1", _("Residual and layer norm: {formula}").format(formula="LayerNorm(X + proj)"),
         " ".join((_("The residual connection adds the input back, so the block learns a change to X."),
                   _layer_norm(c))),
         (row_line("residual_1", f"X[{r}] + proj[{r}]", b.residual_1), row_line("norm_1", f"norm1[{r}]", b.norm_1)),
         (Cell("X"), Cell("projection")), (Cell("norm_1"),)),
        ("ffn", _("Feed-forward: {formula}  (d_ff = {d_ff})").format(formula="ReLU(y W_1 + b_1) W_2 + b_2",
                                                                     d_ff=c.d_ff),
         _("The same two-layer network is applied to each position separately: widen to d_ff = {d_ff}, "
           "ReLU, and back to d_model = {d_model}.").format(d_ff=c.d_ff, d_model=c.d_model),
         (row_line("ffn_hidden", f"hidden[{r}]", b.ffn_hidden), row_line("ffn_activation", "ReLU", b.ffn_activation),
          row_line("ffn_output", f"ffn[{r}]", b.ffn_output)),
         (Cell("norm_1"), Cell("W_1"), Cell("b_1"), Cell("W_2"), Cell("b_2")), (Cell("ffn_output"),)),
        ("add_norm_2", _("Residual and layer norm: the block's output"),
         " ".join((_("Add the feed-forward output to its input and normalise again."), _layer_norm(c),
                   _("This is the encoder block's output, one d_model vector per word, ready for the next block."))),
         (row_line("norm_2", f"out[{r}]", b.norm_2),), (Cell("norm_1"), Cell("ffn_output")), (Cell("norm_2"),)),
        ]
    z_loop = weighted_sum(h.weights[word], h.V)
    gap = float(np.max(np.abs(h.output[word] - z_loop)))
    labels = score_labels(c)
    total = len(steps) + BLOCK_STEPS

    def built(entries: list[tuple], first: int) -> list[Step]:
        return [Step(kind, "matrix", first + k, total, title, text, formula, reads, writes, word=word, head=head,
                     result=tuple(z_loop), result_gap=gap, score_labels=labels)
                for k, (kind, title, text, formula, reads, writes) in enumerate(entries)]

    return MatrixSteps(built(steps, 0), lambda: built(block_entries(), len(steps)))


BLOCK_STEPS = 4  # w_o, add_norm_1, ffn, add_norm_2


class MatrixSteps(Sequence):
    """The matrix view's steps: the attention steps built at once, the block's four (W_o, the
    residuals and layer norms, the FFN) when one of them is first asked for, since they read
    Trace.block, which a 512 x 1024 trace computes in six 512 x 1024 arrays."""

    def __init__(self, attention: list[Step], block: Callable[[], list[Step]]) -> None:
        self._steps, self._block = attention, block
        self._total = len(attention) + BLOCK_STEPS

    def __len__(self) -> int:
        return self._total

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[k] for k in range(*index.indices(self._total))]
        if index < 0:
            index += self._total
        if not 0 <= index < self._total:
            raise IndexError(index)
        if index >= len(self._steps) and self._block is not None:
            self._steps = self._steps + self._block()
            self._block = None
        return self._steps[index]
