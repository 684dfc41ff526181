"""The Weights pane: W_q, W_k, W_v, with the matrix (and column) being multiplied highlighted."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from tui_attention.core.trace import Trace
from tui_attention.i18n import _
from tui_attention.steps.conceal import HIDDEN, NOTHING, Concealed
from tui_attention.steps.step import WEIGHT_KEYS, Step

from .render import cells, col_window, grid, label, plain
from .one_frame import OneFrame

class WeightsPane(OneFrame, Static):
    DEFAULT_CSS = """
    WeightsPane { border: round $primary; padding: 0 1; height: auto; }
    """

    def show(self, trace: Trace, step: Step, decimals: int, edited: frozenset = frozenset(), rows: int = 7,
             hidden: Concealed = NOTHING) -> None:
        """W_q, W_k, W_v: the one being multiplied, its first `rows` rows; idle, their shapes."""
        if self.unchanged(trace, step.head, step.multiplies, decimals, edited, rows, hidden):
            return
        head = trace.heads[step.head]
        active = step.multiplies
        if not active:
            shapes = "  ".join(f"{n} {getattr(head, n).shape[0]}x{getattr(head, n).shape[1]}" for n in WEIGHT_KEYS)
            self.border_title = plain(_("Weights"))
            self.set_class(True, "-idle")
            self.border_subtitle = plain(_("used in steps 2-4"))
            self.update(Text(shapes, style="bold", no_wrap=True, overflow="ellipsis"))
            return
        self.set_class(False, "-idle")
        self.border_subtitle = plain("")
        shown = [n for n in WEIGHT_KEYS if n in active]
        parts = []
        for name in shown:
            w = getattr(head, name)
            on = name in active
            table = grid()
            matrix = f"{name}  {w.shape[0]}x{w.shape[1]}"
            table.title = _("{matrix}  (multiplying)").format(matrix=matrix) if on else matrix
            table.title_style = "bold reverse" if on else "bold"
            table.title_justify = "left"
            # At least as wide as its title: at 2 or 3 decimals the grid is narrower than
            # "W_q  4x3  (multiplying)", which wrapped to two lines the layout had not planned
            # (the box lost its bottom border under the next pane).
            table.min_width = cell_len(table.title)
            cols = col_window(w.shape[1])
            table.add_column("", no_wrap=True, style="dim")
            for c in cols:
                table.add_column(str(c + 1) if c is not None else "", justify="right", no_wrap=True)
            for r in range(min(rows, w.shape[0])):
                row = [HIDDEN if c is not None and hidden.cell(name, step.head, r, c) else v
                       for v, c in zip(cells(w[r], decimals, cols), cols)]
                row = [v + ("*" if (name, r, c) in edited else "") for v, c in zip(row, cols)]
                table.add_row(label(str(r + 1)), *row, style="bold" if on else "dim")
            if rows < w.shape[0]:
                table.caption = _("rows 1-{k} of {n}").format(k=rows, n=w.shape[0])
                table.caption_style = "dim italic"
                table.caption_justify = "left"
            parts.append(table)
        self.border_title = plain(_("Weights") if trace.config.heads == 1 else
                                  _("Weights (head {head}/{heads})").format(head=step.head + 1,
                                                                           heads=trace.config.heads))
        self.update(Group(*parts))
