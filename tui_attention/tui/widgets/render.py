"""Small Rich builders shared by the panes: signed fixed-decimal cells, block-glyph bars, windows.

Panes format what the Trace holds; they never compute attention themselves.
"""

from __future__ import annotations

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.table import Table
from rich.text import Text
from textual.content import Content

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


def cells(vector: np.ndarray, decimals: int, cols: list[int | None]) -> list[str]:
    return [fmt(vector[c], decimals) if c is not None else "…" for c in cols]


def label(text: str, style: str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def plain(text: str) -> Content:
    """Text shown as it is: a title or message that holds a word of the sentence, a file name or
    an error must never be read as Textual markup ("[b]" in a token is two letters in brackets)."""
    return Content(text)


def fit_cells(text: str, cells: int) -> str:
    """`text` in at most `cells` terminal cells, an ellipsis marking a cut (wide characters count two)."""
    if cell_len(text) <= cells:
        return text
    return set_cell_size(text, max(0, cells - 1)).rstrip() + "…"
