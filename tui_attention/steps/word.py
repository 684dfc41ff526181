"""The per-word steps: query word i through one head, nine steps, each with its narration.

    embed    x_i = e_i + p_i
    query    q_i = x_i W_q
    keys     k_j = x_j W_k for every word j
    values   v_j = x_j W_v
    scores   q_i·k_j
    scale    s_ij / √d_k (or not)
    mask     later words -> -inf (or not)
    softmax  α_ij = exp(s_ij - max) / Σ exp(...)
    output   z_i = Σ_j α_ij v_j

`word_step(trace, i, k)` builds step k on its own: at 512 tokens a step formats
hundreds of lines, and the other eight can wait.

Titles, narration and the words in formula lines go through `_`, one whole
sentence per message; the formulas themselves are notation and are not translated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tui_attention.core.attention import softmax_denominator, weighted_sum
from tui_attention.core.config import Config
from tui_attention.core.scenario import build_config
from tui_attention.core.tensors import tensor
from tui_attention.core.trace import Trace
from tui_attention.i18n import _, ngettext

from .conceal import Said, Sentences
from .labels import score_labels, score_suffix
from .notation import (DEFAULT_DECIMALS, factor_decimals, fmt, fmt_vector, lines_readd, readds, shown, shown_all,
                       sub, sub2, unrounded, vector_columns)
from .step import RESULT_COLUMNS, WORD_STEP_KINDS, Cell, Step, VectorRow, passed_on, rows_around

MAX_TERMS = 6  # dot products longer than this show their first and last terms around an ellipsis
# Weights within this factor of each other (scores within ln 1.3) are "nearly uniform": a learner
# reads 0.18 to 0.22 among 5 words so (a factor 1.25, which a cut at 1.25 called "neither").
UNIFORM_RATIO = 1.3
SATURATED = 0.9  # a weight above this is a saturated softmax
ALMOST_NOTHING = 0.01  # the other weights of a saturated softmax are "less than 0.01" only when each is


def dot_terms(a: np.ndarray, b: np.ndarray, d: int) -> str:
    """'(a1)(b1) + (a2)(b2) + ...' with the middle elided for long vectors."""
    pairs = list(zip(a, b))
    if len(pairs) > MAX_TERMS:
        pairs = pairs[: MAX_TERMS - 2] + [None] + pairs[-2:]
    return " + ".join("…" if p is None else f"({fmt(p[0], d)})({fmt(p[1], d)})" for p in pairs)


def scale_lines(labels: list[str], scores: np.ndarray, divisor: float, results: np.ndarray, d: int,
                p: int) -> list[str]:
    """'s₁₂ / √3 = a / b = c' per label, the factors with p decimals (notation.factor_decimals)."""
    oks = lines_readd(shown_all(scores, p) / shown(divisor, p), results, d)
    return [unrounded(f"{label} = {fmt(s, p)} / {divisor:.{p}f} = {fmt(r, d)}", ok)
            for label, s, r, ok in zip(labels, scores, results, oks)]


def _name(trace: Trace, i: int) -> str:
    # The quotation marks are a translator's choice ('me', «me», „me“).
    token = trace.tokens[i]
    if trace.tokens.count(token) > 1:  # which 'a': say where it stands
        return _("'{token}' (word {number})").format(token=token, number=i + 1)
    return _("'{token}'").format(token=token)


@lru_cache(maxsize=1)
def _notebook_config() -> Config:
    return build_config(None)


def _notebook_note(trace: Trace, i: int, note: str) -> tuple[str, ...]:
    """`note` when the scenario is the notebook's own and the word is 'me', whose per-word cells the
    notebook prints (from an earlier run of it); nothing otherwise."""
    return (note,) if i == 0 and trace.config.same_as(_notebook_config()) else ()


def _same_word_same_vector(trace: Trace) -> bool:
    """Whether every repeated word has one embedding (always so for seeded embeddings)."""
    if trace.config.embeddings is None:
        return True
    first: dict[str, int] = {}
    return all(np.array_equal(trace.E[first.setdefault(token, j)], trace.E[j]) for j, token in enumerate(trace.tokens))


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
    cols = vector_columns(t.config.d_model)  # the entries fmt_vector shows
    if _same_word_same_vector(t):
        lookup = _("The embedding {e} is the vector the lookup table holds for {word}; the same word always "
                   "gets the same vector.")
    else:
        lookup = _("The embedding {e} is row {row} of this scenario's embedding table E, given for this "
                   "position: here a repeated word does not always get the same vector.")
    text = " ".join((
        lookup.format(e=f"e{I}", word=w.word, row=i + 1),
        _positions_sentence(t, f"p{I}"),
        _("Their sum {x} is what attention works on.").format(x=f"x{I}"),
        *_notebook_note(t, i, _("The notebook's own per-word printouts (In[13] to In[27]) come from an earlier run "
                                "of it; its Matrices section matches these numbers.")),
    ))
    return (
        _("Input of {word}: {formula}").format(word=w.word, formula=f"x{I} = e{I} + p{I}"),
        text,
        (f"e{I} = {fmt_vector(t.E[i], d)}", f"p{I} = {fmt_vector(t.P[i], d)}",
         # e and p are shown rounded: their shown sum can miss x's last digit, and says so.
         unrounded(f"x{I} = e{I} + p{I} = {fmt_vector(t.X[i], d)}",
                   readds(shown_all(t.E[i, cols], d) + shown_all(t.P[i, cols], d), t.X[i, cols], d))),
        (Cell("E", i), Cell("P", i)), (Cell("X", i),),
    )


def _query(w: _Word) -> tuple:
    t, i, d, I, h, c = w.trace, w.i, w.d, w.I, w.h, w.trace.config
    cols = range(min(c.d_k, 8))
    lines = [f"q{I} = x{I} W_q = {fmt_vector(h.Q[i], d)}"]
    p = factor_decimals(d)
    oks = lines_readd(shown_all(h.W_q[:, cols].T, p) @ shown_all(t.X[i], p), h.Q[i, cols], d)
    lines += [unrounded(f"q{I}[{col + 1}] = {dot_terms(t.X[i], h.W_q[:, col], p)} = {fmt(h.Q[i, col], d)}", ok)
              for col, ok in zip(cols, oks)]
    return (
        _("Query of {word}: {formula}").format(word=w.word, formula=f"q{I} = x{I} W_q"),
        _("W_q turns {x} (1x{d_model}) into the query {q} (1x{d_k}): what {word} is looking for. "
          "Each entry of {q} is the dot product of {x} with one column of W_q.").format(
            x=f"x{I}", q=f"q{I}", d_model=c.d_model, d_k=c.d_k, word=w.word),
        tuple(lines), (Cell("X", i), Cell("W_q")), (Cell("Q", i),),
    )


def _projection(w: _Word, name: str) -> tuple:
    """k_j = x_j W_k or v_j = x_j W_v for every word j (name "K" or "V")."""
    t, d, c = w.trace, w.d, w.trace.config
    rows = getattr(w.h, name)
    sym, weight = name.lower(), f"W_{name.lower()}"
    if name == "K":
        title = _("Keys of every word: {formula}").format(formula="k_j = x_j W_k")
        text = _("Every word j, {word} included, gets a key {formula} (1x{d_k}): what it offers to be "
                 "found by. The same W_k is used for every word; only x_j differs.").format(
            word=w.word, formula="k_j = x_j W_k", d_k=c.d_k)
    else:
        title = _("Values of every word: {formula}").format(formula="v_j = x_j W_v")
        text = _("Every word j also gets a value {formula} (1x{d_v}): what it hands over when attended to. "
                 "Keys decide how much attention a word gets; values are what is passed on.").format(
            formula="v_j = x_j W_v", d_v=c.d_v)
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
    p = factor_decimals(d)
    highest = _("The highest here is with {best} ({score}).").format(best=_name(t, best),
                                                                      score=fmt(h.scores[i, best], d))
    return (
        _("Similarity of {word} to each word: {formula}").format(word=w.word, formula=f"q{I}·k_j"),
        Sentences((
            _("The dot product {formula} is large when the query and the key point the same way, and it "
              "also grows with the length of each: it is not the cosine similarity. {word} gets one score per "
              "word, itself included.").format(formula=f"q{I}·k_j = |q{I}| |k_j| cos θ", word=w.word),
            # Names the word an argmax question asks for: held back while one is open.
            Said(highest, cells={("scores", w.head, i, best)}, facts={("argmax", w.head, i)}),
        )),
        tuple(unrounded(f"q{I}·k{sub(j + 1)} = {dot_terms(h.Q[i], h.K[j], p)} = {fmt(h.scores[i, j], d)}", ok)
              for j, ok in enumerate(lines_readd(shown_all(h.K, p) @ shown_all(h.Q[i], p), h.scores[i], d))),
        (Cell("Q", i), Cell("K")), (Cell("scores", i),),
    )


def _scale(w: _Word) -> tuple:
    t, i, d, h, c = w.trace, w.i, w.d, w.h, w.trace.config
    before, after = float(np.std(h.scores[i])), float(np.std(h.scaled[i]))
    if c.scale == "sqrt_dk":
        root = t.scale_divisor
        text = Sentences((
            _("Each score is divided by √d_k = √{d_k} = {root}. The variance of q·k grows with d_k, "
              "so without this the softmax saturates for large d_k.").format(d_k=c.d_k, root=f"{root:.{d}f}"),
            Said(_("Spread of the scores of {word}: std {before} before, {after} after.").format(
                word=w.word, before=f"{before:.{d}f}", after=f"{after:.{d}f}"),
                cells={("scores", w.head, i, None), ("scaled", w.head, i, None)}),
        ))
        lines = tuple(scale_lines([f"s{w.s(j)} / √{c.d_k}" for j in range(t.n)], h.scores[i], root, h.scaled[i], d,
                                  factor_decimals(d)))
    else:
        text = Sentences((
            _("No scaling here (scale = none), as in the notebook. The original Transformer divides by √d_k "
              "(press s) because the variance of q·k grows with d_k."),
            Said(_("Spread of these scores: std {before}; ÷√{d_k} would make it {after}.").format(
                before=f"{before:.{d}f}", d_k=c.d_k, after=f"{before / np.sqrt(c.d_k):.{d}f}"),
                cells={("scores", w.head, i, None)}),
        ))
        lines = (_("{scores} unchanged: no scaling (press s to divide by √d_k)").format(scores=f"s{sub(i + 1)}ⱼ"),)
    cells = passed_on(c, "scale", i)
    return (_("Scaling the scores"), text, lines, *cells)


def _mask(w: _Word) -> tuple:
    t, i, d, h, c = w.trace, w.i, w.d, w.h, w.trace.config
    if c.mask == "causal":
        hidden = t.n - 1 - i
        text = " ".join((
            _("Causal mask: {word} may only look at itself and earlier words, as a decoder must. "
              "Later words get -inf (not a large negative number), so exp(-inf) = 0 exactly.").format(word=w.word),
            # "word(s)" in both forms keeps the English as it was; a catalogue gives each form its own.
            ngettext("{hidden} word(s) are hidden from {word}.", "{hidden} word(s) are hidden from {word}.",
                     hidden).format(hidden=hidden, word=w.word)
            if hidden else _("{word} is last, so nothing is hidden.").format(word=w.word),
        ))
        later = _("{score}  masked: comes later")
        lines = tuple(later.format(score=f"s{w.s(j)} = {fmt(h.logits[i, j], d)}") if j > i
                      else f"s{w.s(j)} = {fmt(h.logits[i, j], d)}" for j in range(t.n))
    else:
        text = _("No mask: {word} may attend to every word, before and after it, as in an encoder. "
                 "Press c for a causal mask, which hides later words with -inf.").format(word=w.word)
        lines = (_("{scores} unchanged: no mask (press c for a causal mask)").format(scores=f"s{sub(i + 1)}ⱼ"),)
    return (_("Masking"), text, lines, *passed_on(c, "mask", i))


def _softmax_lines(w: _Word, top: float, total: float) -> list[str]:
    """max and Σ, then one α line per word: the scores and max with factor_decimals, Σ and α as results."""
    t, i, d, h = w.trace, w.i, w.d, w.h
    row = h.logits[i]
    finite = np.isfinite(row)

    p = factor_decimals(d)
    again = np.exp(shown_all(row[finite], p) - shown(top, p))
    alphas = np.zeros(t.n)  # exp(-inf) / Σ = 0 exactly
    alphas[finite] = again / shown(total, d)
    # Σ is the result of the first line (d decimals) and is printed the same in every α line below it.
    ok = (readds(again.sum(), total, d), *lines_readd(alphas, h.weights[i], d))
    # Each line gives its weight away, and the first the row's max and Σ: held back whole while a
    # question hides a weight of the row (a hidden score hides its row of A, giveaways.py), so that
    # no line shows a hidden row's zeros or its order.
    row_cells = {("weights", w.head, i, None)}
    shown_total = f"{total:.{d}f}"  # formatted once: every α line divides by it
    out = [Said(unrounded(f"max = {fmt(top, p)}   Σ_j exp(s{sub(i + 1)}ⱼ - max) = {shown_total}", ok[0]),
                cells=row_cells, instead=f"max = ?   Σ_j exp(s{sub(i + 1)}ⱼ - max) = ?")]
    minus_top = f" - ({fmt(top, p)})) / {shown_total} = "
    for j in range(t.n):
        if finite[j]:
            line = unrounded(f"α{w.s(j)} = exp({fmt(row[j], p)}{minus_top}{fmt(h.weights[i, j], d)}", ok[j + 1])
        else:
            line = f"α{w.s(j)} = exp(-inf) / {shown_total} = {fmt(0.0, d)}"
        out.append(Said(line, cells={("weights", w.head, i, j)}, instead=f"α{w.s(j)} = ?"))
    return out


def _softmax_signs(w: _Word, masked: int, top: float) -> tuple[str, ...]:
    """The weights sum to 1; masked words get 0; the visible ones are positive unless exp() underflows."""
    row, weights = w.h.logits[w.i], w.h.weights[w.i]
    visible = np.isfinite(row)
    zero = visible & (weights == 0.0)
    alpha = f"α{sub(w.i + 1)}ⱼ"
    if masked:
        turns = ngettext(
            "The softmax turns the scores of {word}, along its row, into weights {alpha} that sum to 1; "
            "the {masked} masked word(s) get exactly 0.",
            "The softmax turns the scores of {word}, along its row, into weights {alpha} that sum to 1; "
            "the {masked} masked word(s) get exactly 0.", masked)
    elif zero.any():
        turns = _("The softmax turns the scores of {word}, along its row, into weights {alpha} that sum to 1.")
    else:
        turns = _("The softmax turns the scores of {word}, along its row, into weights {alpha} that sum to 1 "
                  "and are all positive.")
    text = turns.format(word=w.word, alpha=alpha, masked=masked)
    if not zero.any():
        return (text,)
    count = int(zero.sum())
    gap = top - float(np.max(row[zero]))
    return text, Said(ngettext(
        "{count} weight it can see is exactly 0, not just small: that score is {gap} or more below the "
        "maximum, and exp(s - max) / Σ underflows to 0 in float64.",
        "{count} weights it can see are exactly 0, not just small: those scores are {gap} or more below the "
        "maximum, and exp(s - max) / Σ underflows to 0 in float64.", count).format(
            count=count, gap=fmt(gap, w.d).lstrip("+")), cells=_row_of_weights(w))


def _row_of_weights(w: _Word) -> set:
    """What a sentence about the weights of word i lets a learner work out: its row of A and of
    what the softmax reads."""
    return {("weights", w.head, w.i, None), ("logits", w.head, w.i, None)}


def _softmax_verdict(w: _Word) -> Said:
    """Near-uniform, saturated or neither, judged against 1/(words it can see), with the reason;
    it names the word attended to most, and so is held back by an open question on that row."""
    return Said(_verdict(w), cells=_row_of_weights(w), facts={("argmax", w.head, w.i)})


def _verdict(w: _Word) -> str:
    t, d, row = w.trace, w.d, w.h.logits[w.i]
    visible = np.isfinite(row)
    seen, scores = w.h.weights[w.i][visible], row[visible]
    top = int(np.argmax(w.h.weights[w.i]))
    top_word, top_weight = _name(t, top), fmt(w.h.weights[w.i, top], d)
    if seen.size == 1:
        return _("{word} can only see itself, so its one weight is 1.").format(word=w.word)
    if float(seen.max()) > SATURATED:
        lead = fmt(float(scores.max() - np.sort(scores)[-2]), d).lstrip("+")
        others = np.delete(seen, int(np.argmax(seen)))
        if float(others.max()) < ALMOST_NOTHING:
            return _("The softmax has saturated: {top} gets {weight} and each other word less than {small}, "
                     "because its score is {lead} above the next highest.").format(
                top=top_word, weight=top_weight, small=f"{ALMOST_NOTHING:g}", lead=lead)
        # Not "almost nothing": a 9% weight is not. Say what the others get.
        return ngettext(
            "The softmax has saturated: {top} gets {weight} and the other word it sees gets {rest}, because its "
            "score is {lead} above the next highest.",
            "The softmax has saturated: {top} gets {weight} and the {count} other words it sees share {rest}, "
            "because its score is {lead} above the next highest.", others.size).format(
            top=top_word, weight=top_weight, count=others.size, rest=fmt(float(others.sum()), d), lead=lead)
    uniform = fmt(1 / seen.size, d)
    if float(seen.min()) > 0 and float(seen.max() / seen.min()) <= UNIFORM_RATIO:
        span = float(scores.max() - scores.min())
        return _("{word} attends most to {top} ({weight}), but only just: its scores span only {span}, so its "
                 "weights stay within a factor {ratio} (= exp({span})) of each other, nearly uniform "
                 "(1/{n} = {uniform}).").format(
            word=w.word, top=top_word, weight=top_weight, span=f"{span:.{d}f}", ratio=f"{np.exp(span):.{d}f}",
            n=seen.size, uniform=uniform)
    return _("{word} attends most to {top} ({weight}); its weights range from {low} to {high}: neither nearly "
             "uniform (1/{n} = {uniform}) nor saturated.").format(
        word=w.word, top=top_word, weight=top_weight, low=fmt(seen.min(), d), high=fmt(seen.max(), d), n=seen.size,
        uniform=uniform)


def _softmax(w: _Word) -> tuple:
    t, i, h = w.trace, w.i, w.h
    row = h.logits[i]
    finite = np.isfinite(row)
    top, total = softmax_denominator(row)  # the diagonal is never masked: a finite entry
    text = Sentences((
        *_softmax_signs(w, int((~finite).sum()), top),
        _("Subtracting the row's maximum first keeps exp() from overflowing and changes nothing."),
        _softmax_verdict(w),
        *_notebook_note(t, i, _("The notebook's own printout of these weights (In[24]) comes from an earlier run "
                                "of it; its Matrices section matches these numbers.")),
    ))
    return (
        _("Softmax: attention weights of {word}").format(word=w.word), text,
        tuple(_softmax_lines(w, top, total)), (Cell("logits", i),), (Cell("weights", i),),
    )


def _output(w: _Word) -> tuple:
    t, i, d, I, h = w.trace, w.i, w.d, w.I, w.h
    products = h.weights[i][:, None] * h.V
    z_loop = weighted_sum(h.weights[i], h.V)
    cols = vector_columns(t.config.d_v)  # a learner can only redo the entries on screen
    p = factor_decimals(d)
    oks = lines_readd(shown_all(h.weights[i], p)[:, None] * shown_all(h.V[:, cols], p), products[:, cols], d)
    # α_ij v_j gives α_ij away (divide by v_j, on screen), and the products together give z_i
    # (add them up): each is held back while a question hides either.
    lines = [Said(unrounded(f"α{w.s(j)}·v{sub(j + 1)} = {fmt(h.weights[i, j], p)} × {fmt_vector(h.V[j], p)} = "
                            f"{fmt_vector(products[j], d)}", ok),
                  cells={("weights", w.head, i, j), ("output", w.head, i, None)},
                  instead=f"α{w.s(j)}·v{sub(j + 1)} = ?")
             for j, ok in enumerate(oks)]
    # z adds the products as printed above; when those do not re-add, z says so.
    z_ok = readds(shown_all(products[:, cols], d).sum(axis=0), z_loop[cols], d)
    lines.append(unrounded(f"z{I} = Σ_j α{sub(i + 1)}ⱼ v_j = {fmt_vector(z_loop, d)}", z_ok))
    if t.mask is not None:
        informed = _("It is the new representation of {word}, informed by the words it may see (itself and the "
                     "earlier ones).")
    else:
        informed = _("It is the new representation of {word}, informed by the whole sentence.")
    text = " ".join((
        _("{z} is the weighted sum of the values, using the attention weights of {word}.").format(z=f"z{I}",
                                                                                                 word=w.word),
        informed.format(word=w.word),
        _("It equals row {row} of A V in the matrix view.").format(row=i + 1),
    ))
    return (
        _("Output of {word}: {formula}").format(word=w.word, formula=f"z{I} = Σ_j α{sub(i + 1)}ⱼ v_j"),
        text,
        tuple(lines), (Cell("weights", i), Cell("V")), (Cell("output", i),), tuple(z_loop),
    )


def _positions_sentence(trace: Trace, p: str) -> str:
    """The sentence on the position vector `p` (p₁), one whole message per kind of positions."""
    kind, masked = trace.config.positions_kind, trace.config.mask == "causal"
    if kind == "table" and masked:
        text = _("With the causal mask a word sees itself and the words before it, but attention still cannot "
                 "tell the order of those words, so the position vector {p} (here a hand-written table, as in "
                 "the notebook; the original Transformer uses sinusoids) is added.")
    elif kind == "table":
        text = _("Attention alone cannot see word order, so the position vector {p} (here a hand-written table, "
                 "as in the notebook; the original Transformer uses sinusoids) is added.")
    elif kind == "sinusoidal" and masked:
        text = _("With the causal mask a word sees itself and the words before it, but attention still cannot "
                 "tell the order of those words, so the position vector {p} (sinusoidal, as in Vaswani et al. "
                 "2017, counted from 0) is added.")
    elif kind == "sinusoidal":
        text = _("Attention alone cannot see word order, so the position vector {p} (sinusoidal, as in Vaswani "
                 "et al. 2017, counted from 0) is added.")
    elif masked:
        # A causal mask lets word i see words 1..i: its output depends on its place even without p.
        text = _("This scenario adds no position vector ({p} = 0): only the causal mask, which lets a word see "
                 "itself and the words before it, makes its output depend on where it stands; the order of "
                 "those words stays invisible.")
    else:
        text = _("Attention alone cannot see word order, and this scenario adds no position vector ({p} = 0), "
                 "so word order is invisible to it.")
    return text.format(p=p)


WORD_BUILDERS = (_embed, _query, _keys, _values, _scores, _scale, _mask, _softmax, _output)


# The step each Results value first appears at: the scores, the weights and z_i at their steps; what
# the softmax reads ("logits") at the mask step, or at the scale step when scaling is on and no mask
# follows (then it is the scaled scores already). With both on, "scaled" marks the scale step on:
# the scaled scores exist there, the masked -inf only from the mask step.
def _filled(trace: Trace, index: int) -> frozenset[str]:
    scaled, masked = trace.config.scale == "sqrt_dk", trace.config.mask == "causal"
    first = {"scores": "scores", "logits": "scale" if scaled and not masked else "mask", "weights": "softmax",
             "output": "output"}
    filled = {col for col in RESULT_COLUMNS if index >= WORD_STEP_KINDS.index(first[col])}
    if scaled and index >= WORD_STEP_KINDS.index("scale"):
        filled.add("scaled")
    return frozenset(filled)


_USES_EVERY_WORD = ("keys", "values", "scores", "softmax", "output")
# Under a causal mask the softmax gives the later words exactly 0: from there on they are not used.
_USES_ONLY_EARLIER_WORDS_WHEN_CAUSAL = ("softmax", "output")


def _vectors(trace: Trace, i: int, head: int, reads: tuple[Cell, ...],
             writes: tuple[Cell, ...], seen: int) -> tuple[tuple[VectorRow, ...], tuple[str, ...]]:
    """The rows a step reads and writes, per token; a whole matrix shows the rows around word i.

    A whole-matrix read next to a whole-matrix write (x_j -> k_j) would double the rows: only
    the result is shown. A whole-matrix read takes rows 0..seen-1 only: under a causal mask the
    output reads v_j for j <= i, the later words' weights being exactly 0.
    """
    rows: list[VectorRow] = []
    notes: list[str] = []
    whole_write = any(c.row is None for c in writes)
    both = set(reads) & set(writes)  # passed on unchanged (a switch that is off): one row, not two
    for role, cells in (("read", reads), ("written", writes)):
        for cell in cells:
            t = tensor(cell.matrix)
            if t.rows != "token" or (role == "read" and (cell in both or cell.row is None and whole_write)):
                continue
            m = t.of(trace, head)
            rows_read = seen if role == "read" else trace.n
            shown = [cell.row] if cell.row is not None else list(rows_around(rows_read, i))
            for r in shown:
                kind = "read-query" if role == "read" and cell.row is None and r == i else role
                kind = "read-written" if cell in both else kind
                label = f"{t.row_symbol}{sub(r + 1)}{score_suffix(cell.matrix, trace.config)}"
                rows.append(VectorRow(label, f"1x{m.shape[1]}", m[r], kind, cell.matrix, r, m.shape[0]))
            if cell in both:
                notes.append(_("{symbol}: read · written, unchanged").format(
                    symbol=f"{t.row_symbol}{sub(cell.row + 1) if cell.row is not None else ''}"
                           f"{score_suffix(cell.matrix, trace.config)}"))
            if cell.row is None and rows_read < trace.n:
                notes.append(_("{symbol}: rows {first}-{last} of {n}; the later words are masked "
                               "(weight 0)").format(symbol=t.row_symbol, first=shown[0] + 1,
                                                    last=shown[-1] + 1, n=trace.n))
            elif cell.row is None and len(shown) < trace.n:
                notes.append(_("{symbol}: rows {first}-{last} of {n}").format(
                    symbol=t.row_symbol, first=shown[0] + 1, last=shown[-1] + 1, n=trace.n))
    return tuple(rows), tuple(notes)


def word_step(trace: Trace, i: int, index: int, head: int = 0, decimals: int = DEFAULT_DECIMALS) -> Step:
    """Step `index` (0..8) of query word i (0-based) through head `head`, built on its own."""
    if not 0 <= i < trace.n:
        raise IndexError(f"word {i} out of range 0..{trace.n - 1}")
    kind = WORD_STEP_KINDS[index]
    title, text, formula, reads, writes, *result = WORD_BUILDERS[index](_Word(trace, i, head, decimals))
    last = i if trace.config.mask == "causal" and kind in _USES_ONLY_EARLIER_WORDS_WHEN_CAUSAL else trace.n - 1
    used = frozenset(j for j in range(last + 1) if j != i) if kind in _USES_EVERY_WORD else frozenset()
    vectors, notes = _vectors(trace, i, head, reads, writes, last + 1)
    return Step(kind, "walkthrough", index, len(WORD_BUILDERS), title, text, formula, reads, writes,
                word=i, head=head, result=result[0] if result else (),
                weight_sum=float(trace.heads[head].weights[i].sum()), used_words=used,
                filled=_filled(trace, index), score_labels=score_labels(trace.config),
                vectors=vectors, vector_notes=notes)


def word_steps(trace: Trace, i: int, head: int = 0, decimals: int = DEFAULT_DECIMALS) -> list[Step]:
    """The 9 steps of query word i (0-based) through head `head`."""
    return [word_step(trace, i, k, head, decimals) for k in range(len(WORD_BUILDERS))]
