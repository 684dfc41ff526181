"""What an open question hides: cells of the trace, numbers and facts, until it is answered.

Predict, then reveal: while a lesson's question is open, no pane, grid, formula or title
may show its answer. A `Concealed` names the cells to draw as "?", the numbers that no
text may print, at any precision (the answer at the question's 2 decimals or at the
screen's 4 are the same give-away), and the facts no sentence may state (which word a row
scores highest). Panes ask `cell(...)`; texts go through `text(...)`.

A number can be hidden wherever it is printed; a word cannot (the token "inteligencia" is
in every pane). So the step layer says what each sentence and formula line gives away
beyond the numbers it prints (`Said`: the cells it lets a learner work out, the facts it
states) and builds a narration as `Sentences`; `text()` holds back, whole, each one that
gives away what the open question asks, by its subject and not only by its number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tui_attention.i18n import _

HIDDEN = "?"
MIN_DECIMALS = 2  # a number printed with fewer decimals (a shape, a count) is never taken for the answer
FINE_DECIMALS = 4  # the screen's default precision: where `fine_values` are hidden
_NUMBER_RE = re.compile(r"[+-]?\d+\.(\d+)(?:e[+-]?\d+)?")


Fact = tuple  # ("argmax", head, row): which word of row `row` of head `head` scores (and weighs) most


class Said(str):
    """A sentence or formula line, with what it gives away beyond the numbers it prints.

    cells:   (key, head, row, col) a learner could work out from it, row or col None for all:
             "α₁₂·v₂ = [...]" gives α₁₂ (divide by v₂); "row sums: [...]" every row of A
    facts:   what it states, as `Fact`s: "The highest here is with 'inteligencia'" states
             ("argmax", head, 0)
    instead: what to print while it is held back (default: a short note saying so)
    """

    cells: frozenset
    facts: frozenset
    instead: str | None

    def __new__(cls, text: str, cells=(), facts=(), instead: str | None = None) -> "Said":
        said = super().__new__(cls, text)
        said.cells, said.facts, said.instead = frozenset(cells), frozenset(facts), instead
        return said


class Sentences(str):
    """Sentences joined by a space (empty ones left out), each a str or a `Said`, kept apart so
    that `Concealed.text` can hold back one and keep the others."""

    parts: tuple[str, ...]

    def __new__(cls, parts) -> "Sentences":
        parts = tuple(p for p in parts if p)
        text = super().__new__(cls, " ".join(parts))
        text.parts = parts
        return text


def held_back(for_later: bool = False) -> str:
    """What a held-back sentence says instead: for the question on screen, or for one to come."""
    return _("(held back for a question to come)") if for_later else _("(held back until you answer)")


@dataclass(frozen=True)
class Concealed:
    """cells: (tensor key, head, row, col); values: numbers not to print anywhere; facts: `Fact`s
    no sentence may state."""

    cells: frozenset[tuple[str, int, int, int]] = frozenset()
    values: tuple[float, ...] = ()
    facts: frozenset[Fact] = frozenset()
    # Numbers hidden only where printed with FINE_DECIMALS or more: a later question's cells, on
    # the pages before it, where a two-digit summary of another row ("less than 0.01") says nothing.
    fine_values: tuple[float, ...] = ()
    # Hidden for questions of later pages only: a held-back sentence says so, not "until you answer".
    for_later: bool = False

    @staticmethod
    def union(parts) -> "Concealed":
        """Everything any of `parts` hides (NOTHING for none)."""
        parts = list(parts)
        if not parts:
            return NOTHING
        return Concealed(frozenset().union(*(p.cells for p in parts)),
                         tuple(v for p in parts for v in p.values),
                         frozenset().union(*(p.facts for p in parts)),
                         tuple(v for p in parts for v in p.fine_values),
                         all(p.for_later for p in parts))

    def cell(self, key: str, head: int, row: int, col: int) -> bool:
        return (key, head, row, col) in self.cells

    def any_cell(self, key: str, head: int, row: int | None = None, col: int | None = None) -> bool:
        """Whether any hidden cell of `key` (head `head`) lies in `row` and `col` (None: any)."""
        return any(k == key and h == head and (row is None or r == row) and (col is None or c == col)
                   for k, h, r, c in self.cells)

    def gives_away(self, said: str) -> bool:
        """Whether `said` (a `Said`) states a hidden fact or lets a hidden cell be worked out."""
        if not isinstance(said, Said):
            return False
        return bool(said.facts & self.facts) or any(self.any_cell(*cell) for cell in said.cells)

    def mask(self, key: str, head: int, shape: tuple[int, ...]) -> np.ndarray | None:
        """A boolean array of `shape`, True where a cell of `key` (head `head`) is hidden; None if none is."""
        hits = [(r, c) for (k, h, r, c) in self.cells if k == key and h == head]
        if not hits or len(shape) != 2:
            return None
        out = np.zeros(shape, dtype=bool)
        for r, c in hits:
            if r < shape[0] and c < shape[1]:
                out[r, c] = True
        return out

    def concat_mask(self, heads: int, d_v: int, rows: int) -> np.ndarray | None:
        """`mask` of concat(Z_1..Z_h), (rows, heads·d_v): a hidden cell of head h's output Z is
        hidden in head h's columns of the concatenation too (with one head, concat is Z)."""
        parts = [self.mask("output", h, (rows, d_v)) for h in range(heads)]
        if all(part is None for part in parts):
            return None
        return np.hstack([np.zeros((rows, d_v), dtype=bool) if part is None else part for part in parts])

    def text(self, text: str) -> str:
        """`text` with each sentence that gives the answer away held back (`Said`, `Sentences`) and
        every printed number that rounds from a hidden value replaced by "?"."""
        if isinstance(text, Sentences) and (self.cells or self.facts):
            return " ".join(self.text(part) for part in text.parts)
        if self.gives_away(text):
            return text.instead if text.instead is not None else held_back(self.for_later)
        if not self.values and not self.fine_values:
            return text

        def one(m: re.Match[str]) -> str:
            printed = m.group(0)
            places = len(m.group(1))
            if places < MIN_DECIMALS or "e" in printed:
                return printed
            value = float(printed)
            hidden = self.values + (self.fine_values if places >= FINE_DECIMALS else ())
            if any(np.isfinite(v) and round(v, places) == value for v in hidden):
                return HIDDEN.rjust(len(printed))
            return printed

        return _NUMBER_RE.sub(one, text)

    def lines(self, lines) -> list[str]:
        return [self.text(line) for line in lines]


NOTHING = Concealed()
