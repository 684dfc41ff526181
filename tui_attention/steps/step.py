"""A Step: plain data for one moment of the computation, with every decision a pane needs.

A screen renders a Step and never redoes its arithmetic or decides what to
show: the Step names the cells it reads and writes (by tensor-registry key),
carries its title, narration and formula with live values, and says which
words it uses, which Results columns are filled, how the scores are labelled
and which rows the Vectors pane shows.

Two sequences exist (see `word` and `matrix`):

  per query word i   embed, query, keys, values, scores, scale, mask, softmax, output
  matrix form        x, qkv, qkt, scale, mask, softmax, av, [concat], w_o, add_norm_1, ffn, add_norm_2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tui_attention.core.tensors import tensor
from tui_attention.i18n import _

WORD_STEP_KINDS = ("embed", "query", "keys", "values", "scores", "scale", "mask", "softmax", "output")
MATRIX_STEP_KINDS = ("x", "qkv", "qkt", "scale", "mask", "softmax", "av", "concat", "w_o", "add_norm_1", "ffn",
                     "add_norm_2")
RESULT_COLUMNS = ("scores", "logits", "weights", "output")
WEIGHT_KEYS = ("W_q", "W_k", "W_v")
# The word steps whose formula has one line per word j (the others: lines of the query word only).
PER_WORD_LINES = ("keys", "values", "scores", "softmax", "output")


def rows_around(n: int, centre: int, radius: int = 5) -> range:
    """The rows centre-radius .. centre+radius, shifted to stay inside 0..n-1: what a pane shows
    of a matrix too tall for it, around the current word."""
    size = min(n, 2 * radius + 1)
    start = max(0, min(centre - radius, n - size))
    return range(start, start + size)


def passed_on(config, kind: str, row: int | None = None) -> tuple[tuple["Cell", ...], tuple["Cell", ...]]:
    """(reads, writes) of the scale or mask step, row `row` (None: every row).

    Switched on, the step reads one stage of the scores and writes the next (scores -> scaled,
    scaled -> logits). Switched off, the next stage holds the same numbers: the step reads and
    writes that one tensor, and the panes show it once ("read · written"), not the same row twice.
    """
    before, after = {"scale": ("scores", "scaled"), "mask": ("scaled", "logits")}[kind]
    on = config.scale == "sqrt_dk" if kind == "scale" else config.mask == "causal"
    return (Cell(before if on else after, row),), (Cell(after, row),)


def matrix_step_kinds(heads: int) -> tuple[str, ...]:
    """The matrix steps for `heads` heads (concat only when there is more than one)."""
    return tuple(k for k in MATRIX_STEP_KINDS if k != "concat" or heads > 1)


@dataclass(frozen=True)
class Cell:
    """A region of a tensor (a registry key): a cell, a whole row (col None), a whole column
    (row None) or all of it."""

    matrix: str
    row: int | None = None
    col: int | None = None

    @property
    def symbol(self) -> str:
        """The matrix on screen ("S" for scores, scaled and logits alike)."""
        return tensor(self.matrix).symbol


@dataclass(frozen=True, eq=False)
class VectorRow:
    """One line of the Vectors pane: `label` (q₁, s₂/√d), its shape, the values and its role.

    role: "read", "read-query" (the query word's row of a whole-matrix read), "written", or
          "read-written" (a row the step passes on unchanged, shown once).
    """

    label: str
    shape: str
    values: np.ndarray
    role: str
    key: str = ""  # the tensor (registry key) and row the values come from
    row: int = -1
    count: int = 0  # the rows that tensor has (n), of which a pane may show only some


@dataclass(frozen=True, eq=False)
class Step:
    """One step of either view.

    reads, writes:  the cells it uses and produces
    word:           the 0-based query word (the row highlighted everywhere)
    result:         z_word computed the per-word way (the loop sum_j alpha_j v_j)
    weight_sum:     Σ_j α_word,j, the row sum the softmax guarantees to be 1
    result_gap:     max |(A V)[word] - result|: the matrix form and the loop agree (matrix steps)
    used_words:     other words the step uses (marked in the Tokens pane)
    filled:         the Results columns that have a value at this step (RESULT_COLUMNS), plus
                    "scaled" from the scale step when scaling is on: the column of what the
                    softmax reads shows the scaled scores until the mask step adds -inf
    score_labels:   registry key -> how that stage of the scores is written ("s", "s/√d", "s/√d+M")
    vectors:        the Vectors pane's rows, and notes on rows or columns left out
    """

    kind: str
    view: str  # "walkthrough" | "matrix"
    index: int  # 0-based within its sequence
    total: int
    title: str
    narration: str
    formula: tuple[str, ...]
    reads: tuple[Cell, ...]
    writes: tuple[Cell, ...]
    word: int = 0
    head: int = 0
    result: tuple[float, ...] = ()
    weight_sum: float = 0.0
    result_gap: float = 0.0
    used_words: frozenset[int] = frozenset()
    filled: frozenset[str] = frozenset()
    score_labels: tuple[tuple[str, str], ...] = ()
    vectors: tuple[VectorRow, ...] = ()
    vector_notes: tuple[str, ...] = ()

    @property
    def multiplies(self) -> tuple[str, ...]:
        """The weight matrices (W_q, W_k, W_v) this step multiplies by."""
        return tuple(c.matrix for c in self.reads if c.matrix in WEIGHT_KEYS)

    @property
    def touched(self) -> frozenset[str]:
        """The symbols of every matrix the step reads or writes (the matrix view accents them)."""
        return frozenset(c.symbol for c in self.reads + self.writes)

    @property
    def window_anchor(self) -> int:
        """The formula line a window is centred on: the query word's, in a step that writes one
        line per word j; the first, in one that writes the lines of the query word (q_i and its
        entries)."""
        return self.word if self.kind in PER_WORD_LINES else 0

    def formula_parts(self) -> tuple[list[str], list[str], list[str]]:
        """(head, body, tail) of the formula: a window shows the head and the tail whole (softmax
        keeps its header line, output its closing sum) and a run of the body's lines."""
        lines = list(self.formula)
        head = lines[:1] if self.kind == "softmax" else []
        tail = lines[-1:] if self.kind == "output" else []
        return head, lines[len(head): len(lines) - len(tail)], tail

    def formula_window(self, max_lines: int, shift: int = 0) -> list[str]:
        """The formula lines; when there are more than `max_lines`, the head and the tail
        (`formula_parts`), a note saying which lines, and the body's lines around the query word
        (moved `shift` lines on)."""
        if len(self.formula) <= max_lines:
            return list(self.formula)
        head, body, tail = self.formula_parts()
        per_word = self.kind in PER_WORD_LINES
        start = max(0, min(self.window_anchor + shift - max_lines // 2, len(body) - max_lines))
        shown = body[start:start + max_lines]
        if len(shown) == 1:  # "words 2-2" reads as a typo
            note = _("(the line for word {first} of {n})") if per_word else _("(line {first} of {n})")
        elif per_word:
            note = _("(lines for words {first}-{last} of {n})")
        else:
            note = _("(lines {first}-{last} of {n})")
        return head + [note.format(first=start + 1, last=start + len(shown), n=len(body))] + shown + tail

    def score_label(self, key: str) -> str:
        """How the scores at stage `key` (scores, scaled, logits) are written: "s", "s/√d", "s/√d+M"."""
        return dict(self.score_labels).get(key, "s")
