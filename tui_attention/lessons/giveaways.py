"""What an open question must not show: its answer, and the cells that would give it away.

    numeric "Q[1,1]"            the cell Q[1,1] and its value
    numeric "sum(exp(S[1]))"    the value, wherever a number rounds to it
    choice  "argmax(A[1])"      row 1 of A and of every stage of the scores (the order of
                                the scores is the order of the weights), and the fact itself:
                                no sentence may name the word that scores highest in row 1
    any     hides = ["S[1]"]    cells the lesson names itself, instead of the cell rules above
                                (the value of a numeric answer, and an argmax's fact, stay
                                hidden either way)

Four rules widen what is hidden, whoever named the cells:
    a score, at any stage, is hidden with its row of A: the softmax gives it back from the
        weights (α_ij / α_ik = exp(s_ij - s_ik), or α_ij = exp(s_ij - max) / Σ on the softmax
        step's own lines), so the row's weights are hidden, and its Σ_j exp(s_ij - max);
    a row that sums to 1 (A) or has mean 0 and variance ~1 (norm_1, norm_2): one cell is
        1 - Σ of the others away, so the whole row is hidden (and the Σ line, the bars, and
        every line that prints numbers derived from the row);
    a row of A is hidden with its output z_i = Σ_j α_ij v_j: with the values on screen, z_i
        gives the weights back wherever the words a row sees are few (z₂ = α₂₁ v₁ + (1 - α₂₁) v₂
        under a causal mask);
    a row of Z is hidden with that word's rows of the block after attention (concat W_o,
        X + proj, the layer norms, the feed-forward's): proj_i = concat_i W_o, with W_o and
        the rest of concat_i on screen, gives a hidden z_i cell back by one division, and
        each later row is computed from that word's row alone;
    a score passed on unchanged to a later stage (no scaling, no mask): hidden there too.

The panes draw hidden cells as "?" and no text prints a hidden value or states a hidden fact
(`steps.conceal`).
"""

from __future__ import annotations

import re

import numpy as np

from tui_attention.core.attention import softmax_denominator
from tui_attention.core.tensors import tensor
from tui_attention.core.trace import Trace
from tui_attention.steps.conceal import Concealed
from tui_attention.steps.notation import DEFAULT_DECIMALS

from .model import Question
from .refs import TENSOR_NAMES, RefError, cells_of, evaluate, parse_ref

SCORE_STAGES = ("scores", "scaled", "logits", "weights")


def _selection(ref_node):
    """The tensor reference a question's answer is, or takes argmax/argmin of."""
    if ref_node.op == "tensor":
        return ref_node
    if ref_node.op == "call" and ref_node.value in ("argmax", "argmin") and ref_node.args[0].op == "tensor":
        return ref_node.args[0]
    return None


ROW_NORMALISED = ("weights", "norm_1", "norm_2")  # any cell follows from the rest of its row
PASSED_ON = ("scores", "scaled", "logits")  # stages of the scores a switched-off step passes on unchanged


def _same_number_elsewhere(cells, trace: Trace) -> set[tuple[str, int, int, int]]:
    """The same cell at the other stages of the scores, where it holds the same number: with
    scaling off, `scaled` is `scores`; with the mask off (or left of the diagonal) `logits` is
    `scaled`. A pane showing that stage would show the hidden number."""
    out = set()
    for key, h, r, c in cells:
        if key in PASSED_ON:
            value = tensor(key).of(trace, h)[r, c]
            out |= {(other, h, r, c) for other in PASSED_ON if tensor(other).of(trace, h)[r, c] == value}
    return out


def _whole_rows(cells, trace: Trace) -> set[tuple[str, int, int, int]]:
    """Every cell of the rows of a row-normalised tensor that `cells` touch."""
    out = set()
    for key, h, r, _c in cells:
        if key in ROW_NORMALISED:
            out |= {(key, h, r, c) for c in range(tensor(key).of(trace, h).shape[1])}
    return out


def _softmax_of_scores(cells, trace: Trace) -> tuple[set[tuple[str, int, int, int]], list[float]]:
    """The rows of A of every row of the scores (at any stage) or of A that `cells` touch, and
    each such row's Σ_j exp(s_ij - max) as the softmax step prints it."""
    out: set[tuple[str, int, int, int]] = set()
    sums: list[float] = []
    for h, r in {(h, r) for key, h, r, _c in cells if key in SCORE_STAGES}:
        logits = tensor("logits").of(trace, h)[r]
        out |= {("weights", h, r, c) for c in range(logits.shape[0])}
        if (parts := softmax_denominator(logits)) is not None:
            sums.append(parts[1])
    return out, sums


def _outputs_of_weights(cells, trace: Trace) -> set[tuple[str, int, int, int]]:
    """Every cell of output row z_i of each hidden row i of A (same head)."""
    d_v = trace.config.d_v
    return {("output", h, r, c) for key, h, r, _c in cells if key == "weights" for c in range(d_v)}


# The block's tensors with one row per word, each computed from that word's row of concat(Z).
AFTER_ATTENTION = ("projection", "residual_1", "norm_1", "ffn_hidden", "ffn_activation", "ffn_output",
                   "residual_2", "norm_2")


def _block_rows_of_outputs(cells, trace: Trace) -> set[tuple[str, int, int, int]]:
    """Every cell of the block's rows i after attention, for each hidden row i of Z (any head);
    recorded as head 0's, as `cells_of` records a tensor of the whole trace."""
    rows = {r for key, _h, r, _c in cells if key == "output"}
    if not rows:
        return set()
    return {(key, 0, r, c) for key in AFTER_ATTENTION for r in rows
            for c in range(tensor(key).of(trace).shape[1])}


def _facts(node, argument: str, trace: Trace, head: int) -> frozenset:
    """("argmax", head, row) for argmax/argmin of rows of the scores or weights: no sentence
    may name the word a row scores highest while the question asks which it is."""
    if node.op != "call" or TENSOR_NAMES[node.args[0].value].key not in SCORE_STAGES:
        return frozenset()
    try:
        cells = cells_of(argument, trace, head)
    except RefError:
        return frozenset()
    return frozenset(("argmax", h, r) for _k, h, r, _c in cells)


def concealed(question: Question, trace: Trace, head: int = 0, before: bool = False) -> Concealed:
    """The cells, numbers and facts `question` hides on `trace` (the page's), head `head` (0-based).

    before: for a page before the question's. The numbers of its hidden cells are hidden in
    texts only where printed with 4 decimals or more (`fine_values`), and not at all if they print
    as zero (a masked weight, a saturated one): every +0.0000 of the page, and its two-digit
    summaries of other rows, would go, and say nothing of the answer (which stays hidden)."""
    refs = list(question.hides)
    values: list[float] = []
    facts: frozenset = frozenset()
    if question.answer:
        node = parse_ref(question.answer)
        selected = _selection(node)
        if selected is not None and selected is not node:
            facts = _facts(node, question.answer[question.answer.index("(") + 1:-1], trace, head)
        picked = None if question.hides else _selection(node)
        if picked is not None:
            argument = question.answer if picked is node else question.answer[question.answer.index("(") + 1:-1]
            refs.append(argument)
            if TENSOR_NAMES[picked.value].key in SCORE_STAGES and picked is not node:
                # argmax of a row of the weights is argmax of its scores, at every stage (same head)
                suffix = re.match(r"\s*[A-Za-z_]+(.*)$", argument).group(1)
                refs += [f"{stage}{suffix}" for stage in SCORE_STAGES]
        if question.kind == "numeric":
            values.append(float(evaluate(question.answer, trace)))
    cells: set[tuple[str, int, int, int]] = set()
    for ref in refs:
        try:
            cells.update(cells_of(ref, trace, head))
        except RefError:
            continue
    weights, sums = _softmax_of_scores(cells, trace)
    cells |= weights
    cells |= _whole_rows(cells, trace)
    cells |= _same_number_elsewhere(cells, trace)
    cells |= _outputs_of_weights(cells, trace)
    cells |= _block_rows_of_outputs(cells, trace)
    values += sums
    fine: list[float] = []
    # The block's rows hidden for a hidden z are held back by their cells (their lines are `Said`):
    # their numbers, ReLU's zeros among them, must not blank the same numbers printed elsewhere.
    for key, h, r, c in cells - _block_rows_of_outputs(cells, trace):
        value = float(tensor(key).of(trace, h)[r, c])
        if not before:
            values.append(value)
        elif round(value, DEFAULT_DECIMALS) != 0:
            fine.append(value)
    return Concealed(frozenset(cells), tuple(v for v in values if np.isfinite(v)), facts,
                     tuple(v for v in fine if np.isfinite(v)), for_later=before)
