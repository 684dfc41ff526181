"""A virtual matrix grid built on Textual's Line API.

`MatrixGrid` draws a matrix (X, W_q, Q, K, V, S = Q K^T, A = softmax(S), Z = A V)
as a grid of fixed-decimal numbers with a fixed row header on the left and a
fixed column header line at the top. Only the lines and cells that are visible
are formatted, so a 512 x 1024 matrix costs no more to draw than a 5 x 5 one.

Layout of one line (content coordinates)::

    >1 me    │ +0.1234  -0.5678* +0.0000
    ^ marker   ^ slot = lead(1) + number(nw) + mark(1)

* Line 0 is the column header; it never scrolls vertically.
* The row-label area (``label_width`` cells) never scrolls horizontally.
* In heat mode the lead character of every slot is a block glyph (`▁`..`█`)
  whose height follows the value, so the heat map is readable without colour.
* ``*`` after a number marks a cell the learner edited; ``>`` before a row
  label marks the highlighted (query) row.

Rendered lines are kept in a bounded LRU cache per data row, keyed by
``(scroll_x, width)``; moving the highlighted row, the cursor or the marks only
drops the lines of the rows involved. ``lines_rendered`` counts cache misses
(lines actually built).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.color import Color
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_attention.i18n import _
from tui_attention.steps.notation import DEFAULT_DECIMALS, MAX_DECIMALS, MIN_DECIMALS, fmt, width
from tui_attention.tui.layout import keep_in_view

from .kept_lines import KeptScrollBars
from .render import plain

__all__ = ["MatrixGrid"]

HEAT_LEVELS = 5
"""Number of background shades (component classes matrix-grid--heat-1 .. -5)."""

HEAT_GLYPHS = " ▁▂▃▄▅▆▇█"
"""Lead glyph of a heat cell; index round(value * 8)."""

MAX_LABEL_WIDTH = 24
"""Row labels longer than this are truncated."""

_HEADER_ROW = -1
"""Line-cache key of the column header line."""

LINE_CACHE_SIZE = 512
"""Rendered lines kept per grid: several screens of a tall matrix, so scrolling back is free."""

STYLE_CACHE_SIZE = 256
"""Blended cell styles kept per grid (every combination of layers fits)."""


def measure(values: np.ndarray, row_labels: Sequence[str], decimals: int, heat: bool) -> tuple[int, int, int]:
    """(number width, cells per column, cells of the row-label area) of a grid of `values`:
    what it needs to show every column whole, known before the grid is built."""
    number_width = 4  # "-inf"
    if values.size:
        finite = np.isfinite(values)
        if finite.all():
            magnitude = float(np.abs(values).max())
        elif finite.any():
            magnitude = float(np.abs(values[finite]).max())
        else:
            magnitude = 0.0
        # fmt() rounds, so 9.99996 with 4 decimals prints as +10.0000.
        magnitude = round(magnitude, decimals)
        number_width = max(number_width, width(decimals, magnitude))
    # A heat grid leads each cell with a glyph; others use the trailing slot (space or *) as the gap.
    pitch = number_width + 1 + (1 if heat else 0)
    longest = _widest_label(tuple(row_labels))
    return number_width, pitch, min(MAX_LABEL_WIDTH, max(1, longest)) + 3  # marker, label, space, bar


@lru_cache(maxsize=32)
def _widest_label(labels: tuple[str, ...]) -> int:
    """Cells of the widest label (1 without labels): the same few label sets (a sentence's words,
    a matrix's numbered rows) are measured again on every set_data and scene plan."""
    return max((cell_len(label) for label in labels), default=1)


def natural_width(values: np.ndarray, row_labels: Sequence[str], decimals: int, heat: bool) -> int:
    """Cells of content a grid of `values` needs to show every column (its frame not included)."""
    _, pitch, label_width = measure(np.atleast_2d(values), row_labels, decimals, heat)
    return label_width + np.atleast_2d(values).shape[1] * pitch


def _heat_level(value: float) -> int:
    """Background shade 0..HEAT_LEVELS for a value in [0, 1] (clipped; non-finite -> 0)."""
    if not value >= 0.05:  # also catches nan
        return 0
    if value >= 1.0:
        return HEAT_LEVELS
    return min(HEAT_LEVELS, 1 + int(value * HEAT_LEVELS))


def _heat_glyph(value: float) -> str:
    if not value > 0.0:  # also catches nan
        return " "
    if value >= 1.0:
        return HEAT_GLYPHS[-1]
    return HEAT_GLYPHS[int(value * 8 + 0.5)]


def _same_cells(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Whether two optional boolean marks (masked, hidden cells) mark the same cells."""
    return a is b or (a is not None and b is not None and a.shape == b.shape and bool(np.array_equal(a, b)))


class MatrixGrid(KeptScrollBars, ScrollView, can_focus=True, inherit_bindings=False):
    """A scrollable, virtual grid of matrix values with fixed row and column headers."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", _("Cursor up"), show=False, id="matrix_grid.cursor_up"),
        Binding("down", "cursor_down", _("Cursor down"), show=False, id="matrix_grid.cursor_down"),
        Binding("left", "cursor_left", _("Cursor left"), show=False, id="matrix_grid.cursor_left"),
        Binding("right", "cursor_right", _("Cursor right"), show=False, id="matrix_grid.cursor_right"),
        Binding("enter", "select_cell", _("Edit cell"), id="matrix_grid.select_cell"),
        Binding("pageup", "page_up", _("Page up"), show=False, id="matrix_grid.page_up"),
        Binding("pagedown", "page_down", _("Page down"), show=False, id="matrix_grid.page_down"),
        Binding("ctrl+pageup", "page_left", _("Page left"), show=False, id="matrix_grid.page_left"),
        Binding("ctrl+pagedown", "page_right", _("Page right"), show=False, id="matrix_grid.page_right"),
        Binding("shift+up", "scroll_rows(-1)", _("Scroll up one row"), show=False, id="matrix_grid.scroll_row_up"),
        Binding("shift+down", "scroll_rows(1)", _("Scroll down one row"), show=False, id="matrix_grid.scroll_row_down"),
        Binding(
            "shift+left", "scroll_cols(-1)", _("Scroll left one column"), show=False, id="matrix_grid.scroll_col_left"
        ),
        Binding(
            "shift+right", "scroll_cols(1)", _("Scroll right one column"), show=False, id="matrix_grid.scroll_col_right"
        ),
        Binding("home", "top", _("Top"), show=False, id="matrix_grid.top"),
        Binding("end", "bottom", _("Bottom"), show=False, id="matrix_grid.bottom"),
    ]
    """
    | Key | Action |
    | :- | :- |
    | up / down / left / right | Move the cell cursor (or scroll one row / column when `show_cursor` is False). |
    | enter | Post `CellSelected` for the cursor cell (only when `show_cursor`). |
    | pageup / pagedown | Scroll (and move the cursor) one page up / down. |
    | ctrl+pageup / ctrl+pagedown | Scroll one page left / right. |
    | shift+up / shift+down | Scroll one row. |
    | shift+left / shift+right | Scroll one column. |
    | home / end | Top / bottom row. |
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "matrix-grid--header",
        "matrix-grid--row-label",
        "matrix-grid--row-label-highlight",
        "matrix-grid--cell",
        "matrix-grid--masked",
        "matrix-grid--highlight-row",
        "matrix-grid--marked",
        "matrix-grid--cursor",
        "matrix-grid--cursor-blurred",
        *(f"matrix-grid--heat-{level}" for level in range(1, HEAT_LEVELS + 1)),
    }
    """
    | Class | Description |
    | :- | :- |
    | `matrix-grid--header` | The column header line (and the corner above the row labels). |
    | `matrix-grid--row-label` | The fixed row labels on the left. |
    | `matrix-grid--row-label-highlight` | The row label of `highlight_row`. |
    | `matrix-grid--cell` | Every number cell (base layer). |
    | `matrix-grid--heat-1` .. `-5` | Heat shades for values in [0, 1] when `heat` is on. |
    | `matrix-grid--masked` | Masked cells and `-inf`. |
    | `matrix-grid--highlight-row` | Cells of `highlight_row`. |
    | `matrix-grid--marked` | Cells in `marked` (also shown with a `*`). |
    | `matrix-grid--cursor` | The cell cursor while the grid has focus. |
    | `matrix-grid--cursor-blurred` | The cell cursor while the grid does not have focus. |

    Cell layers are blended in the order cell, heat, masked, highlight-row,
    marked, cursor, so a translucent highlight background keeps the heat shade
    visible underneath.
    """

    DEFAULT_CSS = """
    MatrixGrid {
        height: auto;
        max-height: 50vh;
        width: auto;
        max-width: 100%;
        background: $surface;
        color: $foreground;
        border: round $border-blurred;
        border-title-color: $foreground-muted;
        scrollbar-size: 1 1;
        &:focus {
            border: round $border;
            border-title-color: $foreground;
        }
        & > .matrix-grid--header {
            background: $panel;
            color: $foreground;
            text-style: bold;
        }
        & > .matrix-grid--row-label {
            background: $panel;
            color: $foreground-muted;
        }
        & > .matrix-grid--row-label-highlight {
            background: $accent 40%;
            color: $foreground;
            text-style: bold;
        }
        & > .matrix-grid--cell {
            color: $foreground;
        }
        & > .matrix-grid--masked {
            color: $text-disabled;
        }
        & > .matrix-grid--highlight-row {
            background: $accent 25%;
            text-style: bold;
        }
        & > .matrix-grid--marked {
            text-style: underline;
        }
        & > .matrix-grid--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        & > .matrix-grid--cursor-blurred {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .matrix-grid--heat-1 { background: $primary 12%; }
        & > .matrix-grid--heat-2 { background: $primary 28%; }
        & > .matrix-grid--heat-3 { background: $primary 45%; }
        & > .matrix-grid--heat-4 { background: $primary 65%; color: auto 90%; }
        & > .matrix-grid--heat-5 { background: $primary 85%; color: auto 95%; }

        /* ANSI themes: alpha does not apply to the 16 colours, so pick them. */
        &:ansi {
            & > .matrix-grid--header { background: ansi_default; color: ansi_default; text-style: bold underline; }
            & > .matrix-grid--row-label { background: ansi_default; color: ansi_default; }
            & > .matrix-grid--row-label-highlight { background: ansi_default; text-style: bold reverse; }
            & > .matrix-grid--masked { color: ansi_bright_black; }
            & > .matrix-grid--highlight-row { background: ansi_default; text-style: bold; }
            & > .matrix-grid--cursor { background: ansi_default; color: ansi_default; text-style: bold reverse; }
            & > .matrix-grid--cursor-blurred { background: ansi_default; text-style: underline; }
            & > .matrix-grid--heat-1 { background: ansi_default; }
            & > .matrix-grid--heat-2 { background: ansi_bright_black; color: ansi_default; }
            & > .matrix-grid--heat-3 { background: ansi_blue; color: ansi_default; }
            & > .matrix-grid--heat-4 { background: ansi_bright_blue; color: ansi_black; }
            & > .matrix-grid--heat-5 { background: ansi_cyan; color: ansi_black; }
        }
    }
    """

    @dataclass
    class CellSelected(Message):
        """Posted when `enter` is pressed on the cursor cell (only while `show_cursor`)."""

        grid: MatrixGrid
        """The grid that posted the message."""
        row: int
        """0-based row index."""
        col: int
        """0-based column index."""
        value: float
        """The value in the cell."""

        @property
        def control(self) -> MatrixGrid:
            return self.grid

    highlight_row: reactive[int | None] = reactive(None, repaint=False)
    """Row (0-based) drawn highlighted, e.g. the current query word; None for none."""

    cursor: reactive[tuple[int, int]] = reactive((0, 0), repaint=False)
    """The cell cursor (row, col), 0-based; clamped to the data."""

    show_cursor: reactive[bool] = reactive(False, repaint=False)
    """Show the cell cursor and let the arrow keys move it (otherwise they scroll)."""

    def __init__(
        self,
        values: np.ndarray | None = None,
        row_labels: Sequence[str] | None = None,
        col_labels: Sequence[str] | None = None,
        *,
        label: str = "",
        decimals: int = DEFAULT_DECIMALS,
        heat: bool = False,
        masked: np.ndarray | None = None,
        show_cursor: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """
        Args:
            values: Optional initial data (see `set_data`).
            row_labels: Row labels (default "1", "2", ...).
            col_labels: Column labels (default "1", "2", ...).
            label: Matrix name shown in the border title, before the shape.
            decimals: Decimals shown (2..8).
            heat: Shade cells by value in [0, 1].
            masked: Optional boolean array, True for masked cells.
            show_cursor: Show a cell cursor moved by the arrow keys.
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._label = label
        self._values: np.ndarray = np.zeros((0, 0))
        self._row_labels: list[str] = []
        self._col_labels: list[str] = []
        self._masked: np.ndarray | None = None
        self._hidden: np.ndarray | None = None
        self._decimals = DEFAULT_DECIMALS
        self._heat = False
        self._number_width = 4
        self._label_width = 3
        self._pitch = 6
        self._marked: frozenset[tuple[int, int]] = frozenset()
        self._marked_rows: frozenset[int] = frozenset()
        # row (or _HEADER_ROW) -> (scroll_x, width, strip)
        self._line_cache: LRUCache[int, tuple[int, int, Strip]] = LRUCache(LINE_CACHE_SIZE)
        self._style_cache: LRUCache[tuple, Style] = LRUCache(STYLE_CACHE_SIZE)
        self.lines_rendered = 0
        """Number of lines built (line-cache misses) since creation; for tests and benchmarks."""
        self.set_reactive(MatrixGrid.show_cursor, show_cursor)
        self.set_data(
            np.zeros((0, 0)) if values is None else values,
            () if row_labels is None else row_labels,
            () if col_labels is None else col_labels,
            decimals=decimals,
            heat=heat,
            masked=masked,
        )

    # ------------------------------------------------------------------ data

    def set_data(
        self,
        values: np.ndarray,
        row_labels: Sequence[str],
        col_labels: Sequence[str],
        *,
        decimals: int = DEFAULT_DECIMALS,
        heat: bool = False,
        masked: np.ndarray | None = None,
        hidden: np.ndarray | None = None,
    ) -> None:
        """Replace the matrix.

        Args:
            values: 2-D float array (may contain -inf). Not copied: call `set_data`
                again after changing it in place.
            row_labels: One label per row; missing labels become "1", "2", ...
            col_labels: One label per column (truncated to the column width).
            decimals: Decimals shown, clamped to 2..8.
            heat: Shade cells by value in [0, 1] (attention weights).
            masked: Optional boolean array of the same shape; True cells are drawn
                as masked (dim). `-inf` values always show as `-inf`.
            hidden: Optional boolean array of the same shape; True cells show "?"
                (the answer of an open question).
        """
        array = np.asarray(values, dtype=float)
        if array.ndim != 2:
            array = np.atleast_2d(array)
            if array.ndim != 2:
                array = array.reshape(array.shape[0], -1)
        rows, cols = array.shape
        row_labels = self._fill_labels(row_labels, rows)
        col_labels = self._fill_labels(col_labels, cols)
        mask = np.asarray(masked, dtype=bool) if masked is not None else None
        mask = mask if mask is not None and mask.shape == array.shape else None
        hidden = hidden if hidden is not None and hidden.shape == array.shape else None
        decimals = int(min(MAX_DECIMALS, max(MIN_DECIMALS, decimals)))
        # The same read-only array (a trace's: a scale or mask switch keeps X, W, Q, K and V)
        # with the same labels and marks: the lines drawn stand. A writable one may have been
        # changed in place, which is why a caller gives it again.
        if (array is self._values and not array.flags.writeable and row_labels == self._row_labels
                and col_labels == self._col_labels and _same_cells(mask, self._masked)
                and _same_cells(hidden, self._hidden) and decimals == self._decimals and bool(heat) == self._heat):
            return
        old_shape = self._values.shape
        self._values = array
        self._row_labels = row_labels
        self._col_labels = col_labels
        self._masked = mask
        self._hidden = hidden
        self._decimals = decimals
        self._heat = bool(heat)
        self._measure()
        # Keep reactive state inside the new shape without firing watchers.
        if self.highlight_row is not None and not 0 <= self.highlight_row < rows:
            self.set_reactive(MatrixGrid.highlight_row, None)
        self.set_reactive(MatrixGrid.cursor, self._clamp_cell(self.cursor))
        self._update_title()
        self._line_cache.clear()
        self.virtual_size = Size(self._label_width + cols * self._pitch, rows + 1)
        if self.is_attached:
            self.refresh(layout=old_shape != array.shape)

    @staticmethod
    def _fill_labels(labels: Sequence[str], count: int) -> list[str]:
        out = [str(label) for label in list(labels)[:count]]
        out.extend(str(i + 1) for i in range(len(out), count))
        return out

    def _measure(self) -> None:
        """Column and label widths from the data (vectorised, no per-cell Python)."""
        self._number_width, self._pitch, self._label_width = measure(
            self._values, self._row_labels, self._decimals, self._heat)

    def _update_title(self) -> None:
        rows, cols = self._values.shape
        shape = f"{rows}x{cols}"
        self.border_title = plain(f"{self._label}  {shape}" if self._label else shape)

    @property
    def values(self) -> np.ndarray:
        """The matrix being shown, as given to `set_data` (not copied)."""
        return self._values

    @property
    def shape(self) -> tuple[int, int]:
        return self._values.shape  # type: ignore[return-value]

    @property
    def row_labels(self) -> list[str]:
        return list(self._row_labels)

    @property
    def col_labels(self) -> list[str]:
        return list(self._col_labels)

    @property
    def label(self) -> str:
        """Matrix name shown in the border title (the shape is appended)."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        if label != self._label:  # a new title draws the grid's box again
            self._label = label
            self._update_title()

    @property
    def decimals(self) -> int:
        return self._decimals

    @property
    def heat(self) -> bool:
        return self._heat

    @property
    def label_width(self) -> int:
        """Cells taken by the fixed row-label area (including the separator)."""
        return self._label_width

    @property
    def column_width(self) -> int:
        """Cells per column (lead + number + mark)."""
        return self._pitch

    @property
    def marked(self) -> frozenset[tuple[int, int]]:
        """Cells (row, col) the learner edited; assign a new set to change."""
        return self._marked

    @marked.setter
    def marked(self, cells: Iterable[tuple[int, int]]) -> None:
        new = frozenset((int(r), int(c)) for r, c in cells)
        if new == self._marked:
            return
        changed = {r for r, _ in new.symmetric_difference(self._marked)}
        self._marked = new
        self._marked_rows = frozenset(r for r, _ in new)
        self._invalidate_rows(changed)

    # ------------------------------------------------------------ reactives

    def validate_highlight_row(self, row: int | None) -> int | None:
        if row is None or not 0 <= row < self._values.shape[0]:
            return None
        return int(row)

    def validate_cursor(self, cell: tuple[int, int]) -> tuple[int, int]:
        return self._clamp_cell(cell)

    def _clamp_cell(self, cell: tuple[int, int]) -> tuple[int, int]:
        rows, cols = self._values.shape
        row, col = cell
        return (int(min(max(row, 0), max(rows - 1, 0))), int(min(max(col, 0), max(cols - 1, 0))))

    def watch_highlight_row(self, old: int | None, new: int | None) -> None:
        self._invalidate_rows((old, new))

    def watch_cursor(self, old: tuple[int, int], new: tuple[int, int]) -> None:
        if not self.show_cursor:
            return
        self._invalidate_rows((old[0], new[0]))
        self.scroll_to_cell(*new)

    def watch_show_cursor(self, show: bool) -> None:
        self._invalidate_rows((self.cursor[0],))
        if show:
            self.scroll_to_cell(*self.cursor)
        self.refresh_bindings()

    def watch_has_focus(self, has_focus: bool) -> None:
        super().watch_has_focus(has_focus)
        if self.show_cursor:
            self._invalidate_rows((self.cursor[0],))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cell":
            # Let enter fall through to the screen when there is no cursor.
            return self.show_cursor and bool(self._values.size)
        if action.startswith("cursor_") and not self.show_cursor:
            # Without a cursor, plain arrows belong to the app (next step / next word);
            # shift+arrows and page keys still scroll the grid.
            return False
        return True

    # -------------------------------------------------------------- caching

    def _invalidate_rows(self, rows: Iterable[int | None]) -> None:
        cache = self._line_cache
        for row in set(rows):
            if row is None:
                continue
            cache.discard(row)
            if self.is_attached:
                self.refresh_line(row + 1)

    def clear_cache(self, *, styles: bool = True) -> None:
        """Drop all cached lines (and, with styles=True, the composed styles) and redraw."""
        self._line_cache.clear()
        if styles:
            self._style_cache.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache.clear()
        self._line_cache.clear()
        self.refresh()

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.clear_cache())

    def _compose_style(self, names: tuple[str, ...]) -> Style:
        """Blend component-class layers over the widget's colours (alpha-aware)."""
        try:
            return self._style_cache[names]
        except KeyError:
            pass
        _, _, background, color = self.colors
        text_style = Style()
        for name in names:
            styles = self.get_component_styles(name)
            if styles.has_rule("background"):
                background = background + styles.background
            if styles.has_rule("color"):
                color = styles.color
            if styles.has_rule("auto_color") and styles.auto_color:
                color = background.get_contrast_text(styles.color.a)
            if styles.has_rule("text_style"):
                text_style += styles.text_style
        foreground: Color = background + color
        style = Style(color=foreground.rich_color, bgcolor=background.rich_color) + text_style
        self._style_cache[names] = style
        return style

    def _cell_style(self, level: int, masked: bool, hrow: bool, marked: bool, cursor: int) -> Style:
        key = (level, masked, hrow, marked, cursor)
        try:
            return self._style_cache[key]
        except KeyError:
            pass
        names = ["matrix-grid--cell"]
        if level:
            names.append(f"matrix-grid--heat-{level}")
        if masked:
            names.append("matrix-grid--masked")
        if hrow:
            names.append("matrix-grid--highlight-row")
        if marked:
            names.append("matrix-grid--marked")
        if cursor:
            names.append("matrix-grid--cursor" if cursor == 2 else "matrix-grid--cursor-blurred")
        style = self._compose_style(tuple(names))
        self._style_cache[key] = style
        return style

    # ------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if y == 0:
            row = _HEADER_ROW
        else:
            row = scroll_y + y - 1
            if row >= self._values.shape[0]:
                return Strip.blank(width, self._compose_style(("matrix-grid--cell",)))
        cached = self._line_cache.get(row)
        if cached is not None and cached[0] == scroll_x and cached[1] == width:
            return cached[2]
        self.lines_rendered += 1
        strip = self._render_header(scroll_x, width) if row == _HEADER_ROW else self._render_row(row, scroll_x, width)
        # Textual's LRUCache.set keeps an existing key's old value: drop the stale line first.
        self._line_cache.discard(row)
        self._line_cache[row] = (scroll_x, width, strip)
        return strip

    def _visible_columns(self, scroll_x: int, data_width: int) -> tuple[int, int, int]:
        """(first column, end column, crop offset into the first column)."""
        pitch = self._pitch
        cols = self._values.shape[1]
        first = min(scroll_x // pitch, cols)
        end = min(cols, (scroll_x + data_width + pitch - 1) // pitch)
        return first, end, scroll_x - first * pitch

    def _join(self, label: list[Segment], data: list[Segment], data_cells: int, crop: int, width: int) -> Strip:
        label_width = self._label_width
        if width <= label_width:
            return Strip(label, label_width).crop_extend(0, width, None)
        data_width = width - label_width
        blank = self._compose_style(("matrix-grid--cell",))
        data_strip = Strip(data, data_cells).crop_extend(crop, crop + data_width, blank)
        # A number cut at the right edge would read as a different number: blank it, mark the cut.
        cut = (crop + data_width) % self._pitch if crop + data_width < data_cells else 0
        if cut:
            data_strip = Strip.join([data_strip.crop(0, data_width - cut),
                                     Strip([Segment(" " * (cut - 1) + "…", blank)], cut)])
        # The same at the left edge, where a scroll that is not a whole number of columns starts.
        head = min(self._pitch - crop, data_width) if crop else 0
        if head > 0:
            data_strip = Strip.join([Strip([Segment("…" + " " * (head - 1), blank)], head),
                                     data_strip.crop(head, data_width)])
        return Strip([*label, *data_strip], width)

    def _render_header(self, scroll_x: int, width: int) -> Strip:
        label_width = self._label_width
        header_style = self._compose_style(("matrix-grid--header",))
        label = [Segment(" " * (label_width - 1) + "│", header_style)]
        first, end, crop = self._visible_columns(scroll_x, max(0, width - label_width))
        nw = self._number_width
        lead = " " if self._heat else ""
        text = "".join(f"{lead}{self._col_labels[col][:nw]:>{nw}} " for col in range(first, end))
        segments = [Segment(text, header_style)] if text else []
        return self._join(label, segments, (end - first) * self._pitch, crop, width)

    def _render_row(self, row: int, scroll_x: int, width: int) -> Strip:
        label_width = self._label_width
        highlighted = row == self.highlight_row
        label_names = ("matrix-grid--row-label", "matrix-grid--row-label-highlight") if highlighted else (
            "matrix-grid--row-label",
        )
        label_style = self._compose_style(label_names)
        text = set_cell_size(self._row_labels[row], label_width - 3)  # CJK and emoji take two cells
        label = [
            Segment(f"{'>' if highlighted else ' '}{text} ", label_style),
            Segment("│", self._compose_style(("matrix-grid--row-label",))),
        ]
        first, end, crop = self._visible_columns(scroll_x, max(0, width - label_width))
        if end <= first:
            return self._join(label, [], 0, 0, width)

        values = self._values[row, first:end].tolist()
        masked_row = self._masked[row, first:end].tolist() if self._masked is not None else None
        hidden_row = self._hidden[row, first:end].tolist() if self._hidden is not None else None
        decimals = self._decimals
        nw = self._number_width
        heat = self._heat
        marked = self._marked if row in self._marked_rows else ()
        cursor_col = -1
        cursor_kind = 0
        if self.show_cursor and self.cursor[0] == row:
            cursor_col = self.cursor[1]
            cursor_kind = 2 if self.has_focus else 1
        cell_style = self._cell_style

        segments: list[Segment] = []
        run: list[str] = []
        run_style: Style | None = None
        for index, value in enumerate(values):
            col = first + index
            number = "?" if hidden_row is not None and hidden_row[index] else fmt(value, decimals)
            is_masked = value == float("-inf") or (masked_row is not None and masked_row[index])
            is_marked = (row, col) in marked if marked else False
            if heat and number != "?":
                level = _heat_level(value)
                lead = _heat_glyph(value)
            elif heat:
                level, lead = 0, " "
            else:
                level = 0
                lead = ""
            style = cell_style(level, is_masked, highlighted, is_marked, cursor_kind if col == cursor_col else 0)
            text = f"{lead}{number:>{nw}}{'*' if is_marked else ' '}"
            if style is run_style:
                run.append(text)
            else:
                if run:
                    segments.append(Segment("".join(run), run_style))
                run = [text]
                run_style = style
        if run:
            segments.append(Segment("".join(run), run_style))
        return self._join(label, segments, (end - first) * self._pitch, crop, width)

    # ------------------------------------------------------------ scrolling

    @property
    def _viewport(self) -> Size:
        return self.scrollable_content_region.size

    def scroll_to_cell(self, row: int, col: int | None = None, *, animate: bool = False) -> None:
        """Scroll the least distance that shows cell (row, col) below the header and
        right of the row labels (col None: only scroll vertically)."""
        self._centre = None
        viewport = self._viewport
        if not self.is_attached or viewport.height < 2 or viewport.width <= self._label_width:
            # Not mounted or laid out yet: scroll once it has a size (see on_resize).
            self._pending_scroll = (row, col)
            return
        self._pending_scroll = None
        self._scroll_to_cell_now(row, col, viewport, animate)

    _pending_scroll: tuple[int, int | None] | None = None
    _centre: tuple[int, int | None] | None = None  # the cell scroll_around keeps in the middle
    _laid_out: tuple | None = None  # (size, virtual size, container size) at the last layout

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # ScrollView compares the virtual size the compositor passes, which is not the grid's own
        # (set_data sets that), so every layout of the screen would refresh the scrollbars and
        # draw a second frame for each key. Only a real change of size or content size counts.
        laid_out = (size, self.virtual_size, container_size)
        if laid_out == self._laid_out:
            return False
        self._laid_out = laid_out
        return super()._size_updated(size, virtual_size, container_size, layout)

    def on_resize(self) -> None:
        if self._centre is not None:
            self.scroll_around(*self._centre)  # a new height keeps the rows around the word
        elif self._pending_scroll is not None:
            self.scroll_to_cell(*self._pending_scroll)

    def scroll_around(self, row: int, col: int | None = None) -> None:
        """Scroll so that data row `row` is in view with the rows around it, and (col given)
        column `col` with the columns around it (`layout.keep_in_view`): the rows around the
        current word, and for S and A the columns around its own (the diagonal, which shows
        where a causal mask begins). Rows already in view stay where they are while the word
        has its context in view; otherwise the word's row moves to the middle, as far as the
        edges allow. Kept through resizes until another scroll."""
        self._centre = (row, col)
        viewport = self._viewport
        if not self.is_attached or viewport.height < 2 or viewport.width <= self._label_width:
            return  # scrolled once laid out (on_resize)
        rows, cols = self._values.shape
        scroll_x, scroll_y = self.scroll_offset
        y = keep_in_view(row, scroll_y, max(1, viewport.height - 1), rows)
        x = None
        if col is not None:
            across = max(1, (viewport.width - self._label_width) // self._pitch)
            # (A scroll that is not a whole number of columns, the mouse's, moves to one.)
            x = keep_in_view(col, scroll_x // self._pitch, across, cols) * self._pitch
        self.scroll_to(x, y, animate=False, immediate=True)

    def _scroll_to_cell_now(self, row: int, col: int | None, viewport: Size, animate: bool) -> None:
        scroll_x, scroll_y = self.scroll_offset
        new_x: int | None = None
        new_y: int | None = None
        rows_visible = viewport.height - 1
        if row < scroll_y:
            new_y = row
        elif row > scroll_y + rows_visible - 1:
            new_y = row - rows_visible + 1
        if col is not None:
            pitch = self._pitch
            data_width = viewport.width - self._label_width
            left, right = col * pitch, (col + 1) * pitch
            if left < scroll_x or pitch > data_width:
                new_x = left
            elif right > scroll_x + data_width:
                new_x = right - data_width
        if new_x is not None or new_y is not None:
            self.scroll_to(new_x, new_y, animate=animate, immediate=True)

    def scroll_to_row(self, row: int, *, animate: bool = False) -> None:
        """Keep data row `row` (0-based) in view, scrolling as little as possible."""
        self.scroll_to_cell(row, None, animate=animate)

    def _data_rows_visible(self) -> int:
        return max(1, self._viewport.height - 1)

    def action_cursor_up(self) -> None:
        self._move_or_scroll(-1, 0)

    def action_cursor_down(self) -> None:
        self._move_or_scroll(1, 0)

    def action_cursor_left(self) -> None:
        self._move_or_scroll(0, -1)

    def action_cursor_right(self) -> None:
        self._move_or_scroll(0, 1)

    def _move_or_scroll(self, d_row: int, d_col: int) -> None:
        if self.show_cursor:
            row, col = self.cursor
            self.cursor = (row + d_row, col + d_col)
        elif d_row:
            self.action_scroll_rows(d_row)
        else:
            self.action_scroll_cols(d_col)

    def action_select_cell(self) -> None:
        if not self.show_cursor or not self._values.size:
            return
        row, col = self.cursor
        self.post_message(self.CellSelected(self, row, col, float(self._values[row, col])))

    def action_scroll_rows(self, count: int) -> None:
        self.scroll_to(y=self.scroll_offset.y + count, animate=False, immediate=True)

    def action_scroll_cols(self, count: int) -> None:
        pitch = self._pitch
        x = (self.scroll_offset.x // pitch + count) * pitch
        self.scroll_to(x=max(0, x), animate=False, immediate=True)

    def action_page_up(self) -> None:
        self._page(-1)

    def action_page_down(self) -> None:
        self._page(1)

    def _page(self, direction: int) -> None:
        page = self._data_rows_visible()
        if self.show_cursor:
            row, col = self.cursor
            self.scroll_to(y=self.scroll_offset.y + direction * page, animate=False, immediate=True)
            self.cursor = (row + direction * page, col)
        else:
            self.scroll_to(y=self.scroll_offset.y + direction * page, animate=False, immediate=True)

    def action_page_left(self) -> None:
        self.scroll_to(x=self.scroll_offset.x - self._data_page_width(), animate=False, immediate=True)

    def action_page_right(self) -> None:
        self.scroll_to(x=self.scroll_offset.x + self._data_page_width(), animate=False, immediate=True)

    def _data_page_width(self) -> int:
        pitch = self._pitch
        columns = max(1, (self._viewport.width - self._label_width) // pitch)
        return columns * pitch

    def action_top(self) -> None:
        if self.show_cursor:
            self.cursor = (0, self.cursor[1])
        self.scroll_to(y=0, animate=False, immediate=True)

    def action_bottom(self) -> None:
        if self.show_cursor:
            self.cursor = (self._values.shape[0] - 1, self.cursor[1])
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    # ----------------------------------------------------------------- mouse

    def cell_at(self, x: int, y: int) -> tuple[int, int] | None:
        """The data cell at content offset (x, y) of the widget, or None."""
        if y < 1 or x < self._label_width:
            return None
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y - 1
        col = (scroll_x + x - self._label_width) // self._pitch
        rows, cols = self._values.shape
        if 0 <= row < rows and 0 <= col < cols:
            return row, col
        return None

    def on_click(self, event: events.Click) -> None:
        if not self.show_cursor:
            return
        offset = event.get_content_offset(self)
        if offset is None:
            return
        cell = self.cell_at(offset.x, offset.y)
        if cell is None:
            return
        self.cursor = cell
        if event.chain == 2:
            self.action_select_cell()
