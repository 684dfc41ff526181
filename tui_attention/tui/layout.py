"""How the step-through shares the screen: the step's text first, the panes in what is left.

The rule, at every size from 80x24 up: the step's title, narration and formula are on
screen without scrolling; the panes get the rest, and where a pane cannot show all its
rows it shows the rows around the current word (a pane with no room for one row is
hidden). Pure arithmetic on line counts, so it is tested without Textual; the panes
render to exactly these budgets.

    ┌ status (1) ─────────────────────────────┐
    │ tokens (3: one line of words)            │
    │ middle: [vectors / weights] [results]    │  <- middle_height, rows per pane
    │ narration: title, text, formula          │  <- at least narration_height
    └ footer (1) ─────────────────────────────┘
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from rich.cells import cell_len

TOKENS_HEIGHT = 3  # a border above and below one line of words
BORDERS = 2
MIN_MIDDLE = 6  # below this the panes show nothing useful: the formula is windowed instead
                # (and never less than the Results pane with one word row)
MAX_WEIGHT_ROWS = 7  # the Weights pane shows W's first rows (d_model can be 1024)
MAX_RESULT_ROWS = 11  # the Results pane shows the words around the query word


@dataclass(frozen=True)
class Plan:
    """Budgets for one step at one size (all in terminal lines)."""

    formula_lines: int  # formula lines the narration shows (its window around the query word)
    narration_height: int  # what the narration needs, borders included
    middle_height: int  # the panes' row, borders included
    vector_rows: int  # rows of the Vectors pane (0: hidden)
    weight_rows: int  # W rows of the Weights pane (0 with multiplies: hidden; idle pane: 1 line)
    show_weights: bool
    result_rows: int  # word rows of the Results table


def weights_height(rows: int, d_model: int, active: bool) -> int:
    """Lines of the Weights pane: title and header lines, rows, a 'rows 1-7 of N' note."""
    if not active:
        return BORDERS + 1
    return BORDERS + 2 + rows + (1 if rows < d_model else 0)


def vectors_height(rows: int, notes: int) -> int:
    return BORDERS + rows + notes


def results_height(rows: int, n: int, weights_filled: bool) -> int:
    """Lines of the Results pane: header, word rows, Σα, z ('words a-b of n' is in its border)."""
    return BORDERS + 1 + rows + (1 if weights_filled else 0) + 1


def plan_walkthrough(
    height: int,
    *,
    narration_lines: int,
    formula_heights: Callable[[int], int],
    formula_count: int,
    vectors: int,
    vector_notes: int,
    multiplies: bool,
    d_model: int,
    n: int,
    weights_filled: bool,
    left_column: bool,
    results_column: bool = True,
) -> Plan:
    """The budgets for a view `height` lines tall (status and footer excluded).

    narration_lines: the narration paragraph, wrapped to the pane's width
    formula_heights(k): lines taken by a formula window of k lines, wrapped
    vectors, vector_notes: the Step's Vector rows and notes
    left_column, results_column: whether the Vectors and Weights, and the Results, are shown
    (beside a lesson on a narrow screen there is room for one of the two)
    """
    room = height - TOKENS_HEIGHT
    # The text wins: the whole paragraph, then as many formula lines as leave the panes
    # their smallest useful size.
    min_middle = max(MIN_MIDDLE, results_height(1, n, weights_filled) if results_column else 0)
    formula_room = room - BORDERS - narration_lines - min_middle
    k = formula_count
    while k > 1 and formula_heights(k) > formula_room:
        k -= 1
    narration = BORDERS + narration_lines + (formula_heights(k) if k else 0)
    space = max(room - narration, 0)

    weight_need = weights_height(min(d_model, MAX_WEIGHT_ROWS), d_model, multiplies) if left_column else 0
    vector_need = vectors_height(vectors, vector_notes) if left_column and vectors else 0
    result_need = results_height(min(n, MAX_RESULT_ROWS), n, weights_filled) if results_column else 0
    middle = min(space, max(weight_need + vector_need, result_need))

    # Left column: the W being multiplied keeps its rows; an idle W pane (only shapes) goes
    # first; the Vectors pane takes what is left, cut to the rows around the query word
    # (one note line says so), or hides when not one row fits.
    weight_rows, show_weights = min(d_model, MAX_WEIGHT_ROWS), left_column
    vector_rows = vectors if left_column else 0
    if left_column and weight_need + vector_need > middle:
        if not multiplies:
            show_weights, weight_need = False, 0
        else:
            weight_rows = max(1, min(weight_rows, middle - weights_height(0, d_model, True)))
            weight_need = weights_height(weight_rows, d_model, True)
        if vector_need > middle - weight_need:
            cut_note = 0 if vector_notes else 1  # a cut adds a note where there was none
            vector_rows = max(0, middle - weight_need - BORDERS - vector_notes - cut_note)
    result_rows = min(n, MAX_RESULT_ROWS)
    while result_rows > 1 and results_height(result_rows, n, weights_filled) > middle:
        result_rows -= 1
    return Plan(k, narration, middle, max(vector_rows, 0), weight_rows, show_weights, result_rows)


def window(count: int, centre: int, size: int) -> range:
    """`size` consecutive indices of 0..count-1 around `centre`, shifted to stay inside."""
    size = max(0, min(count, size))
    start = max(0, min(centre - (size - 1) // 2, count - size))
    return range(start, start + size)


def token_line(tokens: Sequence[str], query: int, width: int) -> range:
    """The words around the query word that fit on one line of `width` cells, each written as
    ' 3 word ' plus two spaces, with room kept for an ellipsis at either end."""
    cost = [cell_len(f" {i + 1} {t} ") + 2 for i, t in enumerate(tokens)]
    lo = hi = query
    used, room = cost[query], width - 4  # "… " before and after
    grew = True
    while grew:
        grew = False
        if hi + 1 < len(tokens) and used + cost[hi + 1] <= room:
            hi += 1
            used += cost[hi]
            grew = True
        if lo > 0 and used + cost[lo - 1] <= room:
            lo -= 1
            used += cost[lo]
            grew = True
    return range(lo, hi + 1)
