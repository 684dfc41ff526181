"""Small Rich builders shared by the panes: signed fixed-decimal cells, block-glyph bars, windows.

Panes format what the Trace holds; they never compute attention themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from rich._wrap import divide_line
from rich.cells import cell_len, set_cell_size
from rich.console import Console, Group
from rich.control import strip_control_codes
from rich.segment import Segment
from rich.table import Table
from rich.text import Span, Text
from textual._context import active_app
from textual.cache import LRUCache
from textual.content import Content
from textual.strip import Strip
from textual.visual import Visual

from tui_attention.steps.notation import fmt

BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, cells: int) -> str:
    """A left-aligned bar of block glyphs, 1/8-cell resolution: readable without colour."""
    eighths = int(round(max(0.0, min(1.0, fraction)) * cells * 8))
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(cells)


def col_window(d: int, limit: int = 8) -> list[int | None]:
    """Columns to show of a d-wide row: all, or limit entries: the first limit-3, None for the gap, the last 2."""
    if d <= limit:
        return list(range(d))
    return list(range(max(1, limit - 3))) + [None] + [d - 2, d - 1]


def grid(show_header: bool = True) -> Table:
    return Table(box=None, show_header=show_header, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")


@dataclass(frozen=True)
class Column:
    """A column of a `text_table`: header, "left" or "right", a style for its cells, and the
    width bounds (the widest cell sets the width, within [min_width, max_width])."""

    header: str = ""
    justify: str = "left"
    style: str = ""
    min_width: int = 0
    max_width: int | None = None


def text_table(columns: Sequence[Column], rows: Sequence[tuple[Sequence[str | Text], str]],
               show_header: bool = True) -> Text:
    """Rows of cells in aligned columns, one space apart, as a single Text of one line per row.

    What `grid()` draws for short cells that fit, at a fraction of the cost: no measuring pass
    and no wrapping, and its height is its number of lines, so a pane that holds it can be
    measured without rendering. rows: (cells, row style). A cell wider than its column is cut
    with an ellipsis (a number never is: its column is as wide as its widest number).
    """
    def width_of(cell: str | Text) -> int:
        return cell.cell_len if isinstance(cell, Text) else cell_len(cell)

    widths = []
    for c, col in enumerate(columns):
        w = max([col.min_width, cell_len(col.header) if show_header else 0, *(width_of(r[0][c]) for r in rows)])
        widths.append(min(w, col.max_width) if col.max_width is not None else w)

    def line(cells: Sequence[str | Text], style: str, header: bool) -> Text:
        # The spans a line of Text pieces would hold (each padded, the gap after it, the column's
        # style over both), built as strings and spans: Text.append and stylize for each cell
        # cost five times as much, on every key that shows new numbers.
        plain: list[str] = []
        spans: list[Span] = []
        at = 0
        last = len(columns) - 1
        for c, (cell, col, w) in enumerate(zip(cells, columns, widths)):
            if isinstance(cell, Text):
                text, own, cell_spans, n = cell.plain, cell.style, cell.spans, cell.cell_len
            else:
                text = strip_control_codes(cell)
                own, cell_spans, n = "", (), cell_len(text)
            if n > w:  # cut, keeping the cell's own style but not its spans
                text, cell_spans = fit_cells(text, w), ()
                n = cell_len(text)
            pad = " " * (w - n)
            gap = " " if c < last else ""
            if col.justify == "right":
                piece = pad + text + gap
                if text:  # (appending an empty Text adds neither its style nor its spans)
                    shift = at + len(pad)
                    if own:  # the cell's own style covers its text, not the padding before it
                        spans.append(Span(shift, shift + len(text), own))
                    spans.extend(Span(a + shift, b + shift, st) for a, b, st in cell_spans)
            else:
                piece = text + pad + gap
                if own:  # the cell's own style covers its text, its padding and the gap
                    spans.append(Span(at, at + len(piece), own))
                spans.extend(Span(a + at, b + at, st) for a, b, st in cell_spans)
            end = at + len(piece)
            if not header and col.style and end > at:
                spans.append(Span(at, end, col.style))
            plain.append(piece)
            at = end
        return Text("".join(plain), style=style, no_wrap=True, overflow="crop", end="", spans=spans)

    lines = [line([Text(col.header) for col in columns], "bold", True)] if show_header else []
    lines += [line(cells, style or "", False) for cells, style in rows]
    return Text("\n", no_wrap=True, overflow="crop").join(lines)


def cells(vector: np.ndarray, decimals: int, cols: list[int | None]) -> list[str]:
    return [fmt(vector[c], decimals) if c is not None else "…" for c in cols]


def label(text: str, style: str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def plain(text: str) -> Content:
    """Text shown as it is: a title or message that holds a word of the sentence, a file name or
    an error must never be read as Textual markup ("[b]" in a token is two letters in brackets)."""
    return Content(text)


def wrapped_height(text: str, width: int, console: Console) -> int:
    """len(Text(text).wrap(console, width)): the lines `text` takes wrapped to `width` cells,
    counted from Rich's own line breaking without building the wrapped lines (the step-through
    measures every formula line on every key)."""
    if "\t" in text:  # Text.wrap expands tabs first
        return len(Text(text).wrap(console, width))
    return sum(len(divide_line(line, width, fold=True)) + 1 for line in text.split("\n"))


def fits(text: str, cells: int) -> bool:
    """cell_len(text) <= cells, without measuring each character when the text is short enough
    that it would fit were every character wide (two cells): a formula line is measured on
    every key, and most are well under the width."""
    return 2 * len(text) <= cells or cell_len(text) <= cells


def fit_cells(text: str, cells: int) -> str:
    """`text` in at most `cells` terminal cells, an ellipsis marking a cut (wide characters count two)."""
    if fits(text, cells):
        return text
    return set_cell_size(text, max(0, cells - 1)).rstrip() + "…"


# Widths a drawing is kept at: a pane kept for a later show is measured at its old width, then
# drawn at the width the layout gives it (the Results where the panes stack, or stop stacking).
KEPT_WIDTHS = 2


def _lines_of(text: Text, console: Console, width: int) -> list[Text]:
    """text.wrap(console, width) with the Text's tab size (Text.__rich_console__'s call). A Text
    whose every line fits `width`, with no tab and no justification, is only split into its
    lines: Rich's line breaking finds no break in a line that fits, and cutting, stripping
    and justifying leave such a line as it is (most formula lines fit; breaking each costs
    more than drawing it)."""
    plain = text.plain
    if (text.justify in (None, "default") and "\t" not in plain
            and all(len(line) <= width and fits(line, width) for line in plain.split("\n"))):
        return list(text.split("\n", allow_blank=True))
    return text.wrap(console, width, tab_size=(console.tab_size if text.tab_size is None else text.tab_size) or 8)


class RichLines(Visual):
    """Rich Texts drawn a line at a time: each Text wrapped (or, no_wrap, cut) by Rich's own
    `Text.wrap`, and each line rendered on the widget's base style. What a Group of the Texts
    (or the one Text) draws, run for run and style for style, made without the passes Textual
    makes over them: a Group goes through Rich's console and is split into lines again, and a
    Text is converted to Textual's Content and wrapped by it (2 to 5 times the time, for a
    pane's 5 to 25 lines). Printed (a test, an export), it is that Group.

    For panes drawn from a Group until now: like a Group, and unlike Content, it does not
    mark each cell's offset, which the mouse's text selection reads.
    """

    def __init__(self, *texts: Text) -> None:
        if any(text.end != "\n" for text in texts):
            # In a Group a Text ending in "" runs on into the next one's first line.
            raise ValueError("RichLines draws Texts that end their last line (end='\\n')")
        self.texts = texts
        self._wrapped: LRUCache = LRUCache(KEPT_WIDTHS)  # width -> its lines

    def __rich__(self) -> Group | Text:
        return self.texts[0] if len(self.texts) == 1 else Group(*self.texts)

    def lines(self, width: int) -> list[Text]:
        """The lines at `width` cells, each Text wrapped (or cut) as Rich does (Text.__rich_console__)."""
        lines = self._wrapped.get(width)
        if lines is None:
            console = active_app.get().console
            lines = [line for text in self.texts for line in _lines_of(text, console, width)]
            self._wrapped.set(width, lines)
        return lines

    def get_optimal_width(self, rules, container_width: int) -> int:
        return max((cell_len(line) for text in self.texts for line in text.plain.split("\n")), default=0)

    def get_height(self, rules, width: int) -> int:
        return len(self.lines(width))

    def render_strips(self, width: int, height: int | None, style, options) -> list[Strip]:
        console = active_app.get().console
        base = style.rich_style
        strips = []
        for line in self.lines(width)[:height]:
            if line.spans or not line.style:
                segments = line.render(console)
            else:  # Text.render leaves out the style of a Text without spans (a Group's join makes it one)
                segments = [Segment(line.plain, console.get_style(line.style))]
            strips.append(Strip(list(Segment.apply_style(segments, base))))
        return strips
