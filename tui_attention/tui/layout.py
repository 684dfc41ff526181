"""How the step-through shares the screen: the step's text first, the panes in what is left.

The rule, at every size from 80x24 up: the step's title and the query word's formula line
are always on screen, and so is the whole narration paragraph where there is room; from the
scores on, the Results show the words around the query word (all of a sentence of up to
SMALL_N words) before the formula shows more lines. Short of room, the formula window
shrinks first, then the paragraph keeps MIN_PARAGRAPH lines and scrolls inside its box
(its border says pgdn shows the rest), then the Results rows give way. Every pane keeps
its border: a pane with no room for one row is hidden. Pure arithmetic on line counts, so
it is tested without Textual; the panes render to exactly these budgets.

    ┌ status (1) ─────────────────────────────┐
    │ tokens (3: one line of words)            │
    │ middle: [vectors / weights] [results]    │  <- middle_height, rows per pane
    │ narration: title, text, formula          │  <- narration_height
    └ footer (1) ─────────────────────────────┘

When a step's Vector rows are wider than their half of the screen (s₁ and α₁ at steps 6-8)
and the lines are there, the Vectors pane goes above the Results instead (`stacked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from rich.cells import cell_len

CHROME = 2  # the status line above the views and the footer below them
LESSON_PANEL_WIDTH = 36  # the lesson panel beside the views (screens/lessons.py)
TOKENS_HEIGHT = 3  # a border above and below one line of words
BORDERS = 2
MIN_MIDDLE = 6  # below this the panes show nothing useful: the formula is windowed instead
                # (and never less than the Results pane with one word row)
MAX_WEIGHT_ROWS = 7  # the Weights pane shows W's first rows (d_model can be 1024)
MAX_RESULT_ROWS = 11  # the Results pane shows the words around the query word
SMALL_N = 5  # from the scores on, the Results show this many words (all of a short sentence) before
             # the formula shows more than the query word's line
MIN_PARAGRAPH = 3  # a narration paragraph cut for room keeps at least these lines (it scrolls)
LEFT_MIN_WIDTH = 42  # app.tcss: #left { min-width: 42 }


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
    paragraph_lines: int = 0  # lines of the narration paragraph shown (fewer than it has: it scrolls)
    stacked: bool = False  # the Vectors pane above the Results, each the whole width


def weights_height(rows: int, d_model: int, active: bool) -> int:
    """Lines of the Weights pane: title and header lines, rows, a 'rows 1-7 of N' note."""
    if not active:
        return BORDERS + 1
    return BORDERS + 2 + rows + (1 if rows < d_model else 0)


def vectors_height(rows: int, notes: int) -> int:
    return BORDERS + rows + notes


def results_height(rows: int, n: int, weights_filled: bool, z_lines: int = 1) -> int:
    """Lines of the Results pane: header, word rows, Σα, z ('words a-b of n' is in its border);
    z takes `z_lines` where its numbers wrap (many decimals in a narrow pane)."""
    return BORDERS + 1 + rows + (1 if weights_filled else 0) + z_lines


def left_width(width: int) -> int:
    """Cells of the Vectors and Weights column beside the Results (app.tcss: 1fr each, at least 42)."""
    return max(LEFT_MIN_WIDTH, width // 2)


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
    results_first: bool = False,
    width: int = 0,
    vectors_width: int = 0,
    z_lines: int = 1,
) -> Plan:
    """The budgets for a view `height` lines tall and `width` wide (status and footer excluded).

    narration_lines: the narration paragraph, wrapped to the pane's width
    formula_heights(k): lines taken by the tallest formula window of k lines (pgdn shows each), wrapped
    vectors, vector_notes: the Step's Vector rows and notes
    left_column, results_column: whether the Vectors and Weights, and the Results, are shown
    (beside a lesson on a narrow screen there is room for one of the two)
    results_first: the step fills the Results table (scores onwards): its rows of the words
    around the query word, up to SMALL_N, come before a longer formula and the whole paragraph
    vectors_width: cells the widest Vector row needs, borders included
    z_lines: lines the Results pane's z line takes, wrapped

    What gives way, first to last: formula lines beyond the query word's (a window that pgdn
    moves), then the paragraph beyond MIN_PARAGRAPH lines (it scrolls, and says so), then
    Results rows. The title and one formula window are always there.
    """
    room = height - TOKENS_HEIGHT
    wanted_results = min(n, SMALL_N) if results_first else 1
    results_need = results_height(wanted_results, n, weights_filled, z_lines) if results_column else 0
    min_middle = max(MIN_MIDDLE, results_need)

    def formula_fit(text_room: int, paragraph: int) -> int:
        """The most formula lines (at least 1) that fit beside the paragraph: a window of k lines
        is never shorter than one of k - 1, so a binary search finds it (a 512-word step has
        512 lines, each wrapped to measure it)."""
        if formula_count <= 1 or paragraph + formula_heights(formula_count) <= text_room:
            return formula_count
        low, high = 1, formula_count - 1  # fits(low) is assumed (the title and one line always show)
        while low < high:
            mid = (low + high + 1) // 2
            if paragraph + formula_heights(mid) <= text_room:
                low = mid
            else:
                high = mid - 1
        return low

    text_room = room - BORDERS - min_middle
    paragraph = narration_lines
    k = formula_fit(text_room, paragraph)
    first = formula_heights(k) if k else 0
    if paragraph + first > text_room:
        # The whole paragraph does not fit beside one formula window: it scrolls inside its box
        # (at least MIN_PARAGRAPH lines of it, the rest from the Results when even that is short).
        paragraph = max(min(MIN_PARAGRAPH, narration_lines), text_room - first)
    narration = BORDERS + paragraph + first
    space = max(room - narration, 0)

    # Steps 5-7 show one or two long rows (s₁, α₁) that the half-width Vectors pane cuts with
    # "…": when the screen has the lines, the Vectors pane goes above the Results, whole.
    stacked = False
    if left_column and results_column and not multiplies and vectors and width and \
            vectors_width > left_width(width) and paragraph == narration_lines and k == formula_count:
        stacked_need = vectors_height(vectors, vector_notes) + \
            results_height(min(n, SMALL_N), n, weights_filled, z_lines)
        stacked = stacked_need <= space

    weight_need = weights_height(min(d_model, MAX_WEIGHT_ROWS), d_model, multiplies) if left_column else 0
    vector_need = vectors_height(vectors, vector_notes) if left_column and vectors else 0
    result_need = results_height(min(n, MAX_RESULT_ROWS), n, weights_filled, z_lines) if results_column else 0
    if stacked:
        result_rows = min(n, MAX_RESULT_ROWS)
        while result_rows > SMALL_N and vector_need + results_height(result_rows, n, weights_filled, z_lines) > space:
            result_rows -= 1
        middle = vector_need + results_height(result_rows, n, weights_filled, z_lines)
        return Plan(k, narration, middle, vectors, 0, False, result_rows, paragraph, True)
    middle = min(space, max(weight_need + vector_need, result_need))

    # Left column: the W being multiplied keeps its rows; an idle W pane (only shapes) goes
    # first; the Vectors pane takes what is left, cut to the rows around the query word
    # (one note line says so), or hides when not one row fits.
    weight_rows, show_weights = min(d_model, MAX_WEIGHT_ROWS), left_column
    vector_rows = vectors if left_column else 0
    cut_note = 0
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
    while result_rows > 1 and results_height(result_rows, n, weights_filled, z_lines) > middle:
        result_rows -= 1

    # The panes may need fewer lines than they were offered (a pane hidden, a column shorter):
    # those lines go back to the text, the paragraph first, then formula lines.
    left_used = (weight_need if show_weights else 0) + \
        (vectors_height(vector_rows, vector_notes + cut_note) if vector_rows > 0 else 0)
    middle = max(left_used, results_height(result_rows, n, weights_filled, z_lines) if results_column else 0)
    extra = room - narration - middle
    while extra > 0:
        if paragraph < narration_lines:
            paragraph, extra = paragraph + 1, extra - 1
        elif k < formula_count and formula_heights(k + 1) - formula_heights(k) <= extra:
            extra -= formula_heights(k + 1) - formula_heights(k)
            k += 1
        else:
            break
    narration = BORDERS + paragraph + (formula_heights(k) if k else 0)
    # On the smallest screens (60x20) even MIN_PARAGRAPH lines and one Results row may not fit
    # beside a long formula line: the paragraph gives way down to one line, never a border.
    while narration + middle > room and paragraph > 1:
        paragraph, narration = paragraph - 1, narration - 1
    return Plan(k, narration, middle, max(vector_rows, 0), weight_rows, show_weights, result_rows, paragraph)


def views_size(screen_width: int, screen_height: int, lesson: bool) -> tuple[int, int]:
    """The room of the step-through and matrix views: the screen less the status line and the
    footer, and less the lesson panel while a lesson is open. Worked out from the screen, not
    read from the views: a view's own size lags a frame behind when the lesson panel opens or
    closes, and a plan made for the old size squeezes the panes until the next key."""
    return max(0, screen_width - (LESSON_PANEL_WIDTH if lesson else 0)), max(0, screen_height - CHROME)


def window(count: int, centre: int, size: int) -> range:
    """`size` consecutive indices of 0..count-1 around `centre`, shifted to stay inside."""
    size = max(0, min(count, size))
    start = max(0, min(centre - (size - 1) // 2, count - size))
    return range(start, start + size)


CONTEXT_ROWS = 2  # rows (or columns) kept in view on either side of the current word's, where there is room


def keep_in_view(at: int, first: int, size: int, count: int, context: int = CONTEXT_ROWS) -> int:
    """The first of `size` consecutive indices of 0..count-1 to show so that `at` is in view
    with `context` indices beside it (fewer where `size` has no room for them): `first`, the
    ones shown now, when they do that; otherwise the window around `at` (`window`).

    A learner moving word by word sees the highlight move through the rows in view, and the
    rows move, re-centred on the word, only when it would reach the last `context` rows
    (as an editor keeps lines around its cursor): the rows not moved are not drawn again.
    At the ends of 0..count-1 there is nothing beyond the word to show, and no scroll for it."""
    size = max(1, min(count, size))
    margin = max(0, min(context, (size - 1) // 2))
    first = max(0, min(first, count - size))
    low, high = first + margin, first + size - 1 - margin
    if (low <= at or first == 0) and (at <= high or first == count - size):
        return first
    return window(count, at, size).start


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


# --- the matrix view: which grids, on which lines, with how many rows --------------------------

GRID_CHROME = 3  # a grid's border (2) and its column header line
GRID_GAP = 1  # cells between two grids on a line
MIN_GRID_ROWS = 3  # a grid shows at least the current word's row and one either side
TWO_ROWS = 2  # ... or two rows, when that shows every grid of the step and three would not


@dataclass(frozen=True)
class GridBox:
    """One matrix grid to place: `width` cells with its frame (border and scrollbar), `rows` data
    rows. Grids of a lower `priority` are placed first; grids of another `group` (the heads strip,
    the step's scene) start a new line."""

    width: int
    rows: int
    priority: int = 0
    group: int = 0
    min_rows: int = MIN_GRID_ROWS


@dataclass(frozen=True)
class ScenePlan:
    """Where each grid goes: `lines` of grid indices; per grid its `widths` (cells), `rows` (data
    rows shown) and `heights` (lines, frame included); 0 for a grid left out."""

    lines: tuple[tuple[int, ...], ...]
    widths: tuple[int, ...]
    rows: tuple[int, ...]
    heights: tuple[int, ...]

    @property
    def dropped(self) -> tuple[int, ...]:
        return tuple(i for i, h in enumerate(self.heights) if not h)

    @property
    def height(self) -> int:
        return sum(max(self.heights[i] for i in line) for line in self.lines)


def grid_chrome(box: GridBox, width: int) -> int:
    """Lines a grid takes besides its rows: border and header, and a horizontal scrollbar when
    its columns are wider than the line (a grid with a header and no row is the thing to avoid)."""
    return GRID_CHROME + (1 if box.width > width - GRID_GAP else 0)


def pack_grids(boxes: Sequence[GridBox], chosen: Sequence[int], width: int) -> list[list[int]]:
    """The chosen grids in order, on lines no wider than `width`; a wider grid has a line of its own."""
    lines: list[list[int]] = []
    used = 0
    for i in chosen:
        need = min(boxes[i].width, width - GRID_GAP) + GRID_GAP
        if not lines or boxes[lines[-1][-1]].group != boxes[i].group or used + need > width:
            lines.append([])
            used = 0
        lines[-1].append(i)
        used += need
    return lines


def _line_height(boxes: Sequence[GridBox], line: Sequence[int], rows: int, width: int) -> int:
    return max(grid_chrome(boxes[i], width) + min(boxes[i].rows, rows) for i in line)


def _least_rows(boxes: Sequence[GridBox], line: Sequence[int], least: int | None = None) -> int:
    return max(min(boxes[i].rows, boxes[i].min_rows if least is None else min(least, boxes[i].min_rows))
               for i in line)


def _need(boxes: Sequence[GridBox], chosen: Sequence[int], width: int, least: int | None = None) -> int:
    return sum(_line_height(boxes, line, _least_rows(boxes, line, least), width)
               for line in pack_grids(boxes, chosen, width))


def plan_scene(boxes: Sequence[GridBox], width: int, height: int) -> ScenePlan:
    """Place the grids in `width` x `height`: every grid shown whole-bordered with at least its
    `min_rows` rows (the rows around the current word), or left out. Fewer grids with more rows
    beat many one-row grids: grids are taken in priority order while the lines they need still
    fit; the first always is (with fewer rows if it must). Only when every grid fits with
    TWO_ROWS rows (the word's and a neighbour's) are they all shown so. The lines left over go
    to the lines whose grids have rows cut, one at a time, in turn."""
    everything = list(range(len(boxes)))
    if _need(boxes, everything, width) > height and _need(boxes, everything, width, TWO_ROWS) <= height:
        chosen, least = everything, TWO_ROWS
    else:
        chosen, least = [], None
        for i in sorted(everything, key=lambda i: boxes[i].priority):
            trial = sorted([*chosen, i])
            if _need(boxes, trial, width) <= height or not chosen:
                chosen = trial
    lines = pack_grids(boxes, chosen, width)
    rows = [_least_rows(boxes, line, least) for line in lines]

    def total() -> int:
        return sum(_line_height(boxes, line, r, width) for line, r in zip(lines, rows))

    while total() > height and any(r > 1 for r in rows):  # only when the first grid alone is too tall
        k = max(range(len(rows)), key=lambda j: rows[j])
        rows[k] -= 1
    grew = True
    while grew:
        grew = False
        for k, line in enumerate(lines):
            if any(boxes[i].rows > rows[k] for i in line):
                rows[k] += 1
                if total() <= height:
                    grew = True
                else:
                    rows[k] -= 1
    widths, shown, heights = [0] * len(boxes), [0] * len(boxes), [0] * len(boxes)
    for line, r in zip(lines, rows):
        for i in line:
            widths[i] = min(boxes[i].width, width - GRID_GAP)
            shown[i] = min(boxes[i].rows, r)
            heights[i] = grid_chrome(boxes[i], width) + shown[i]
    return ScenePlan(tuple(tuple(line) for line in lines), tuple(widths), tuple(shown), tuple(heights))
