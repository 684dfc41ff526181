"""Walkthrough steps: plain data built from a Trace, rendered by the screens.

A `Step` names the cells it reads and writes and carries its formula with live
values, so a screen never redoes the arithmetic. Three sequences exist:

  word_steps(trace, i)   per query word i: embed, query, keys, values, scores,
                         scale, mask, softmax, output (always 9 steps)
  matrix_steps(trace)    x, qkv, qkt, scale, mask, softmax, av, [concat], w_o,
                         add_norm_1, ffn, add_norm_2
  walkthrough(trace)     every word's steps, then the matrix steps
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .numbers import DEFAULT_DECIMALS, fmt, fmt_vector, sub, sub2
from .trace import Trace

WORD_STEP_KINDS = ("embed", "query", "keys", "values", "scores", "scale", "mask", "softmax", "output")
MATRIX_STEP_KINDS = ("x", "qkv", "qkt", "scale", "mask", "softmax", "av", "concat", "w_o", "add_norm_1", "ffn", "add_norm_2")
MAX_TERMS = 6  # dot products longer than this show their first and last terms around an ellipsis


@dataclass(frozen=True)
class Cell:
    """A region of a named matrix: a cell, a whole row (col None), a whole column (row None) or all."""

    matrix: str  # E P X W_q W_k W_v Q K V S A Z W_o ...
    row: int | None = None
    col: int | None = None


@dataclass(frozen=True)
class Step:
    kind: str
    view: str  # "walkthrough" | "matrix"
    index: int  # 0-based within its sequence
    total: int
    title: str
    narration: str
    formula: tuple[str, ...]
    reads: tuple[Cell, ...]
    writes: tuple[Cell, ...]
    word: int | None = None  # 0-based query word for walkthrough steps
    head: int = 0
    result: tuple[float, ...] = ()  # the vector this step produces, computed the per-word way

    @property
    def counter(self) -> str:
        return f"step {self.index + 1}/{self.total}"


def matrix_step_kinds(heads: int) -> tuple[str, ...]:
    return tuple(k for k in MATRIX_STEP_KINDS if k != "concat" or heads > 1)


def dot_terms(a: np.ndarray, b: np.ndarray, d: int) -> str:
    """'(a1)(b1) + (a2)(b2) + ...' with the middle elided for long vectors."""
    pairs = list(zip(a, b))
    if len(pairs) > MAX_TERMS:
        pairs = pairs[: MAX_TERMS - 2] + [None] + pairs[-2:]
    return " + ".join("…" if p is None else f"({fmt(p[0], d)})({fmt(p[1], d)})" for p in pairs)


def score_spread(trace: Trace, head: int) -> tuple[float, float]:
    """Standard deviation of the unmasked scores before and after scaling."""
    h = trace.heads[head]
    keep = ~trace.mask if trace.mask is not None else np.ones_like(h.scores, dtype=bool)
    return float(np.std(h.scores[keep])), float(np.std(h.scaled[keep]))


def weighted_sum(alpha: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z = sum_j alpha_j v_j, written as the notebook's loop: (n,) and (n, d_v) -> (d_v,)."""
    z = np.zeros(v.shape[1])
    for a_j, v_j in zip(alpha, v):
        z = z + a_j * v_j
    return z


def _name(trace: Trace, i: int) -> str:
    return f"'{trace.tokens[i]}'"


@dataclass(frozen=True)
class _Word:
    """What every per-word step builder needs: the trace, query word i, head and decimals."""

    trace: Trace
    i: int
    head: int
    d: int

    @property
    def h(self):
        return self.trace.heads[self.head]

    @property
    def I(self) -> str:  # noqa: E743 - the subscript of the query word
        return sub(self.i + 1)

    @property
    def word(self) -> str:
        return _name(self.trace, self.i)

    def s(self, j: int) -> str:
        return sub2(self.i + 1, j + 1, self.trace.n)


def _embed(w: _Word) -> tuple:
    t, i, d, I = w.trace, w.i, w.d, w.I
    return (
        f"Input of {w.word}: x{I} = e{I} + p{I}",
        f"The embedding e{I} is the vector the lookup table holds for {w.word}; the same word always gets "
        f"the same vector. Attention alone cannot see word order, so the position vector p{I} "
        f"({_positions_note(t)}) is added. Their sum x{I} is what attention works on.",
        (f"e{I} = {fmt_vector(t.E[i], d)}", f"p{I} = {fmt_vector(t.P[i], d)}",
         f"x{I} = e{I} + p{I} = {fmt_vector(t.X[i], d)}"),
        (Cell("E", i), Cell("P", i)), (Cell("X", i),),
    )


def _query(w: _Word) -> tuple:
    t, i, d, I, h, c = w.trace, w.i, w.d, w.I, w.h, w.trace.config
    lines = [f"q{I} = x{I} W_q = {fmt_vector(h.Q[i], d)}"]
    lines += [f"q{I}[{col + 1}] = {dot_terms(t.X[i], h.W_q[:, col], d)} = {fmt(h.Q[i, col], d)}"
              for col in range(min(c.d_k, 8))]
    return (
        f"Query of {w.word}: q{I} = x{I} W_q",
        f"W_q turns x{I} (1x{c.d_model}) into the query q{I} (1x{c.d_k}): what {w.word} is looking for. "
        f"Each entry of q{I} is the dot product of x{I} with one column of W_q.",
        tuple(lines), (Cell("X", i), Cell("W_q")), (Cell("Q", i),),
    )


def _projection(w: _Word, name: str) -> tuple:
    """k_j = x_j W_k or v_j = x_j W_v for every word j (name "K" or "V")."""
    t, d, c = w.trace, w.d, w.trace.config
    rows = getattr(w.h, name)
    sym, weight = name.lower(), f"W_{name.lower()}"
    if name == "K":
        title = "Keys of every word: k_j = x_j W_k"
        text = (f"Every word j, {w.word} included, gets a key k_j = x_j W_k (1x{c.d_k}): what it offers to be "
                f"found by. The same W_k is used for every word; only x_j differs.")
    else:
        title = "Values of every word: v_j = x_j W_v"
        text = (f"Every word j also gets a value v_j = x_j W_v (1x{c.d_v}): what it hands over when attended to. "
                f"Keys decide how much attention a word gets; values are what is passed on.")
    lines = tuple(f"{sym}{sub(j + 1)} = x{sub(j + 1)} {weight} = {fmt_vector(rows[j], d)}   {t.tokens[j]}"
                  for j in range(t.n))
    return title, text, lines, (Cell("X"), Cell(weight)), (Cell(name),)


def _keys(w: _Word) -> tuple:
    return _projection(w, "K")


def _values(w: _Word) -> tuple:
    return _projection(w, "V")


def _scores(w: _Word) -> tuple:
    t, i, d, I, h = w.trace, w.i, w.d, w.I, w.h
    best = int(np.argmax(h.scores[i]))
    return (
        f"Similarity of {w.word} to each word: q{I}·k_j",
        f"The dot product q{I}·k_j is large when the query and the key point the same way. "
        f"{w.word} gets one score per word, itself included. The highest here is with "
        f"{_name(t, best)} ({fmt(h.scores[i, best], d)}).",
        tuple(f"q{I}·k{sub(j + 1)} = {dot_terms(h.Q[i], h.K[j], d)} = {fmt(h.scores[i, j], d)}" for j in range(t.n)),
        (Cell("Q", i), Cell("K")), (Cell("S", i),),
    )


def _scale(w: _Word) -> tuple:
    t, i, d, h, c = w.trace, w.i, w.d, w.h, w.trace.config
    before, after = float(np.std(h.scores[i])), float(np.std(h.scaled[i]))
    if c.scale == "sqrt_dk":
        root = t.scale_divisor
        text = (
            f"Each score is divided by √d_k = √{c.d_k} = {root:.{d}f}. The variance of q·k grows with d_k, "
            f"so without this the softmax saturates for large d_k. Spread of {w.word}'s scores: "
            f"std {before:.{d}f} before, {after:.{d}f} after.")
        lines = tuple(f"s{w.s(j)} / √{c.d_k} = {fmt(h.scores[i, j], d)} / {root:.{d}f} = {fmt(h.scaled[i, j], d)}"
                      for j in range(t.n))
    else:
        text = (
            f"No scaling here (scale = none), as in the notebook. The original Transformer divides by √d_k "
            f"(press s) because the variance of q·k grows with d_k. Spread of these scores: std {before:.{d}f}; "
            f"÷√{c.d_k} would make it {before / np.sqrt(c.d_k):.{d}f}.")
        lines = tuple(f"s{w.s(j)} = {fmt(h.scaled[i, j], d)}  (unscaled)" for j in range(t.n))
    return ("Scaling the scores", text, lines, (Cell("S", i),), (Cell("S_scaled", i),))


def _mask(w: _Word) -> tuple:
    t, i, d, h, c = w.trace, w.i, w.d, w.h, w.trace.config
    if c.mask == "causal":
        hidden = t.n - 1 - i
        text = (
            f"Causal mask: {w.word} may only look at itself and earlier words, as a decoder must. "
            f"Later words get -inf (not a large negative number), so exp(-inf) = 0 exactly. "
            + (f"{hidden} word(s) are hidden from {w.word}." if hidden else f"{w.word} is last, so nothing is hidden."))
        lines = tuple(f"s{w.s(j)} = {fmt(h.logits[i, j], d)}" + ("  masked: comes later" if j > i else "")
                      for j in range(t.n))
    else:
        text = (f"No mask: {w.word} may attend to every word, before and after it, as in an encoder. "
                f"Press c for a causal mask, which hides later words with -inf.")
        lines = tuple(f"s{w.s(j)} = {fmt(h.logits[i, j], d)}" for j in range(t.n))
    return ("Masking", text, lines, (Cell("S_scaled", i),), (Cell("S_masked", i),))


def _softmax(w: _Word) -> tuple:
    t, i, d, h = w.trace, w.i, w.d, w.h
    row = h.logits[i]
    finite = np.isfinite(row)
    top = float(np.max(row[finite]))
    total = float(np.sum(np.exp(row[finite] - top)))
    amax = int(np.argmax(h.weights[i]))
    lines = [f"max = {fmt(top, d)}   Σ_j exp(s{sub(i + 1)}ⱼ - max) = {total:.{d}f}"]
    for j in range(t.n):
        if finite[j]:
            lines.append(f"α{w.s(j)} = exp({fmt(row[j], d)} - ({fmt(top, d)})) / {total:.{d}f} = {fmt(h.weights[i, j], d)}")
        else:
            lines.append(f"α{w.s(j)} = exp(-inf) / {total:.{d}f} = {fmt(0.0, d)}")
    seen = h.weights[i][finite]
    # The spread of the weights as printed, so that the sentence agrees with the numbers on screen.
    spread = round(float(seen.max()), d) - round(float(seen.min()), d)
    masked = int((~finite).sum())
    text = (f"The softmax turns the scores of {w.word}, along its row, into weights α{sub(i + 1)}ⱼ that sum to 1"
            + (f"; the {masked} masked word(s) get exactly 0" if masked else " and are all positive") + ". "
            "Subtracting the row's maximum first keeps exp() from overflowing and changes nothing. ")
    if seen.size == 1:
        text += f"{w.word} can only see itself, so its one weight is 1."
    elif float(seen.max()) > 0.9:
        text += (f"The softmax has saturated: {_name(t, amax)} gets {fmt(h.weights[i, amax], d)} and the rest almost "
                 f"nothing, because the scores are far apart (std {float(np.std(row[finite])):.{d}f}).")
    else:
        text += f"{w.word} attends most to {_name(t, amax)} ({fmt(h.weights[i, amax], d)})"
        text += (f"; the weights it can see differ by only {spread:.{d}f}, nearly uniform, because the scores are "
                 f"small and close together." if spread < 0.1 else ".")
    return (
        f"Softmax: attention weights of {w.word}", text,
        tuple(lines), (Cell("S_masked", i),), (Cell("A", i),),
    )


def _output(w: _Word) -> tuple:
    t, i, d, I, h = w.trace, w.i, w.d, w.I, w.h
    lines = [f"α{w.s(j)}·v{sub(j + 1)} = {fmt(h.weights[i, j], d)} × {fmt_vector(h.V[j], d)} = "
             f"{fmt_vector(h.weights[i, j] * h.V[j], d)}" for j in range(t.n)]
    z_loop = weighted_sum(h.weights[i], h.V)
    lines.append(f"z{I} = Σ_j α{sub(i + 1)}ⱼ v_j = {fmt_vector(z_loop, d)}")
    return (
        f"Output of {w.word}: z{I} = Σ_j α{sub(i + 1)}ⱼ v_j",
        f"z{I} is the weighted sum of the values, using the attention weights of {w.word}. It is the "
        f"new representation of {w.word}, informed by "
        + ("the words it may see (itself and the earlier ones)" if t.mask is not None else "the whole sentence")
        + f". It equals row {i + 1} of A V in the matrix view.",
        tuple(lines), (Cell("A", i), Cell("V")), (Cell("Z", i),), tuple(z_loop),
    )


WORD_BUILDERS = (_embed, _query, _keys, _values, _scores, _scale, _mask, _softmax, _output)


def word_step(trace: Trace, i: int, index: int, head: int = 0, decimals: int = DEFAULT_DECIMALS) -> Step:
    """Step `index` (0..8) of query word i (0-based) through head `head`, built on its own."""
    if not 0 <= i < trace.n:
        raise IndexError(f"word {i} out of range 0..{trace.n - 1}")
    title, text, formula, reads, writes, *result = WORD_BUILDERS[index](_Word(trace, i, head, decimals))
    return Step(WORD_STEP_KINDS[index], "walkthrough", index, len(WORD_BUILDERS), title, text, formula, reads,
                writes, word=i, head=head, result=result[0] if result else ())


def word_steps(trace: Trace, i: int, head: int = 0, decimals: int = DEFAULT_DECIMALS) -> list[Step]:
    """The 9 steps of query word i (0-based) through head `head`."""
    return [word_step(trace, i, k, head, decimals) for k in range(len(WORD_BUILDERS))]


def _positions_note(trace: Trace) -> str:
    kind = trace.config.positions_kind
    if kind == "table":
        return "here a hand-written table, as in the notebook; the original Transformer uses sinusoids"
    if kind == "sinusoidal":
        return "sinusoidal, as in Vaswani et al. 2017, counted from 0"
    return "none here, so word order is invisible"


def _shape(a: np.ndarray) -> str:
    return "x".join(str(s) for s in a.shape)


def matrix_steps(trace: Trace, head: int = 0, decimals: int = DEFAULT_DECIMALS) -> list[Step]:
    """The matrix form of the same computation, then the rest of the encoder block."""
    d = decimals
    c = trace.config
    h = trace.heads[head]
    b = trace.block
    before, after = score_spread(trace, head)
    steps: list[tuple] = [
        ("x", f"X = E + P  ({_shape(trace.X)})",
         f"Stack every word's input x_i as a row: X is n x d_model = {_shape(trace.X)}. Row i of X is the x_i "
         f"of the step-through.",
         (f"X[1] = {fmt_vector(trace.X[0], d)}",), (Cell("E"), Cell("P")), (Cell("X"),)),
        ("qkv", "Q = X W_q,  K = X W_k,  V = X W_v",
         f"One matrix product per projection replaces the per-word loop: Q and K are {_shape(h.Q)}, "
         f"V is {_shape(h.V)}. Row i of Q is q_i.",
         (f"Q[1] = {fmt_vector(h.Q[0], d)}", f"K[1] = {fmt_vector(h.K[0], d)}", f"V[1] = {fmt_vector(h.V[0], d)}"),
         (Cell("X"), Cell("W_q"), Cell("W_k"), Cell("W_v")), (Cell("Q"), Cell("K"), Cell("V"))),
        ("qkt", f"S = Q Kᵀ  ({_shape(h.scores)})",
         "Every query against every key at once: S[i, j] = q_i·k_j. Row i holds word i's similarities.",
         (f"S[1,2] = q₁·k₂ = {fmt(h.scores[0, min(1, trace.n - 1)], d)}",), (Cell("Q"), Cell("K")), (Cell("S"),)),
        ("scale", "Scaling: S / √d_k" if c.scale == "sqrt_dk" else "Scaling: off",
         (f"Divide every score by √d_k = √{c.d_k}. Std of the scores: {before:.{d}f} before, {after:.{d}f} after."
          if c.scale == "sqrt_dk" else
          f"No scaling, as in the notebook (press s for ÷√d_k). Std of the scores: {before:.{d}f}."),
         (f"divisor = {trace.scale_divisor:.{d}f}",), (Cell("S"),), (Cell("S"),)),
        ("mask", "Causal mask" if c.mask == "causal" else "Mask: off",
         ("Cells above the diagonal (a word looking at a later word) become -inf, so their weights are 0."
          if c.mask == "causal" else "No mask: every word sees every word (press c for a causal mask)."),
         (f"masked cells: {int(trace.mask.sum()) if trace.mask is not None else 0}",), (Cell("S"),), (Cell("S"),)),
        ("softmax", "A = softmax(S), row by row",
         "The softmax runs along each row: every query's weights over the keys sum to 1. Columns do not.",
         (f"row sums: {fmt_vector(h.weights.sum(axis=1), d)}", f"A[1,1] = {fmt(h.weights[0, 0], d)}"),
         (Cell("S"),), (Cell("A"),)),
        ("av", f"Z = A V  ({_shape(h.output)})",
         "One product gives every word's output: row i of A V is z_i from the step-through.",
         (f"Z[1] = {fmt_vector(h.output[0], d)}",), (Cell("A"), Cell("V")), (Cell("Z"),)),
    ]
    if c.heads > 1:
        steps.append(("concat", f"Concatenate {c.heads} heads  ({_shape(trace.attention)})",
                      f"Each head has its own W_q, W_k, W_v and attends in its own way. Their outputs are "
                      f"placed side by side: n x heads·d_v = {_shape(trace.attention)}.",
                      (f"concat[1] = {fmt_vector(trace.attention[0], d)}",), (Cell("Z"),), (Cell("concat"),)))
    steps += [
        ("w_o", f"Output projection: concat(Z₁..Z_h) W_o  ({_shape(b.projection)})",
         f"W_o ({_shape(b.W_o)}) maps the concatenated head outputs back to d_model = {c.d_model}, so the "
         f"result can be added to X.",
         (f"proj[1] = {fmt_vector(b.projection[0], d)}",), (Cell("concat"), Cell("W_o")), (Cell("proj"),)),
        ("add_norm_1", "Residual and layer norm: LayerNorm(X + proj)",
         "The residual connection adds the input back, so the block learns a change to X. Layer norm then "
         "rescales each row to mean 0 and variance 1.",
         (f"X[1] + proj[1] = {fmt_vector(b.residual_1[0], d)}", f"norm1[1] = {fmt_vector(b.norm_1[0], d)}"),
         (Cell("X"), Cell("proj")), (Cell("norm1"),)),
        ("ffn", f"Feed-forward: ReLU(y W_1 + b_1) W_2 + b_2  (d_ff = {c.d_ff})",
         f"The same two-layer network is applied to each position separately: widen to d_ff = {c.d_ff}, "
         f"ReLU, and back to d_model = {c.d_model}.",
         (f"hidden[1] = {fmt_vector(b.ffn_hidden[0], d)}", f"ReLU = {fmt_vector(b.ffn_activation[0], d)}",
          f"ffn[1] = {fmt_vector(b.ffn_output[0], d)}"),
         (Cell("norm1"),), (Cell("ffn"),)),
        ("add_norm_2", "Residual and layer norm: the block's output",
         "Add the feed-forward output to its input and normalise again. This is the encoder block's output, "
         "one d_model vector per word, ready for the next block.",
         (f"out[1] = {fmt_vector(b.norm_2[0], d)}",), (Cell("norm1"), Cell("ffn")), (Cell("out"),)),
    ]
    total = len(steps)
    return [Step(kind, "matrix", k, total, title, text, formula, reads, writes, head=head)
            for k, (kind, title, text, formula, reads, writes) in enumerate(steps)]


def walkthrough(trace: Trace, head: int = 0, decimals: int = DEFAULT_DECIMALS) -> list[Step]:
    """Every word's steps in order, then the matrix steps and the rest of the block."""
    out: list[Step] = []
    for i in range(trace.n):
        out += word_steps(trace, i, head, decimals)
    return out + matrix_steps(trace, head, decimals)
