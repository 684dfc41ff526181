"""What an open question hides: cells of the trace and numbers, until it is answered.

Predict, then reveal: while a lesson's question is open, no pane, grid, formula or title
may show its answer. A `Concealed` names the cells to draw as "?" and the numbers that no
text may print, at any precision (the answer at the question's 2 decimals or at the
screen's 4 are the same give-away). Panes ask `cell(...)`; texts go through `text(...)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

HIDDEN = "?"
MIN_DECIMALS = 2  # a number printed with fewer decimals (a shape, a count) is never taken for the answer
_NUMBER_RE = re.compile(r"[+-]?\d+\.(\d+)(?:e[+-]?\d+)?")


@dataclass(frozen=True)
class Concealed:
    """cells: (tensor key, head, row, col); values: numbers not to print anywhere."""

    cells: frozenset[tuple[str, int, int, int]] = frozenset()
    values: tuple[float, ...] = ()

    def cell(self, key: str, head: int, row: int, col: int) -> bool:
        return (key, head, row, col) in self.cells

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

    def text(self, text: str) -> str:
        """`text` with every printed number that rounds from a hidden value replaced by "?"."""
        if not self.values:
            return text

        def one(m: re.Match[str]) -> str:
            printed = m.group(0)
            places = len(m.group(1))
            if places < MIN_DECIMALS or "e" in printed:
                return printed
            value = float(printed)
            if any(np.isfinite(v) and round(v, places) == value for v in self.values):
                return HIDDEN.rjust(len(printed))
            return printed

        return _NUMBER_RE.sub(one, text)

    def lines(self, lines) -> list[str]:
        return [self.text(line) for line in lines]


NOTHING = Concealed()
