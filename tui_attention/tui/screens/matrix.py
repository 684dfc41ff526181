"""The matrix view: every matrix at once, softmax(Q Kᵀ) V, linked to the step-through.

The current query word's row is highlighted in every matrix; the matrices the
current matrix step reads or writes are marked; a check line shows that row i
of A V equals the step-through's z_i.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from tui_attention.core.editing import EDITABLE
from tui_attention.core.tensors import axis_size, tensor
from tui_attention.i18n import _
from tui_attention.steps.labels import score_grid_label
from tui_attention.steps.notation import fmt_vector, sub
from tui_attention.steps.state import TutorState
from tui_attention.tui.widgets.matrix_grid import MatrixGrid

# (tensor-registry key, row of the layout); each grid is "grid-<symbol>": grid-S shows the scores
# the softmax reads. Arranged so that at 120x40 the default scenario's S, A and Z are all in view.
LAYOUT = (
    ("X", "qk"), ("Q", "qk"), ("K", "qk"),
    ("W_q", "weights"), ("W_k", "weights"), ("W_v", "weights"),
    ("logits", "attn"), ("weights", "attn"),
    ("V", "out"), ("output", "out"),
    ("E", "inputs"), ("P", "inputs"),
    ("attention", "block"), ("W_o", "block"), ("projection", "block"),
    ("norm_1", "block2"), ("ffn_output", "block2"), ("norm_2", "block2"),
)
ROWS = ("qk", "weights", "attn", "out", "inputs", "block", "block2")
GRIDS = tuple((tensor(key).symbol, tensor(key), row) for key, row in LAYOUT)
WORD_ROWS = {symbol for symbol, t, where in GRIDS if t.rows == "token"}


def short_labels(tokens: tuple[str, ...], width: int = 7) -> list[str]:
    return [f"{i + 1} {t}"[:width] for i, t in enumerate(tokens)]


class MatrixView(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    MatrixView { height: 1fr; }
    MatrixView #matrix-narration { height: 5; border: round $accent; padding: 0 1; }
    MatrixView #matrix-check { height: auto; width: 1fr; min-width: 20; padding: 1 1; }
    MatrixView .matrix-row { height: auto; width: auto; }
    MatrixView #heads-row { height: auto; display: none; }
    MatrixView.-all-heads #heads-row { display: block; }
    MatrixView MatrixGrid { margin: 0 1 0 0; }
    MatrixView .matrix-row.-fit { layout: vertical; width: 100%; }
    MatrixView .matrix-row.-fit MatrixGrid { width: auto; max-width: 100%; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._data_key: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="matrix-narration")
        for row in ROWS:
            with Horizontal(classes="matrix-row", id=f"row-{row}"):
                for gid, t, where in GRIDS:
                    if where == row:
                        yield MatrixGrid(label=_(t.title), id=f"grid-{gid}", show_cursor=gid in EDITABLE)
                if row == "out":
                    yield Static(id="matrix-check")
            if row == "attn":
                yield Horizontal(id="heads-row")

    def grid(self, gid: str) -> MatrixGrid:
        return self.query_one(f"#grid-{gid}", MatrixGrid)

    def show(self, state: TutorState) -> None:
        trace, d, h = state.trace, state.decimals, state.head
        key = (id(trace), d, h)
        if key != self._data_key:
            self._fill(state)
            self._data_key = key
        self._fill_heads(state)
        step = state.current_matrix
        touched = step.touched
        for gid, *_rest in GRIDS:
            g = self.grid(gid)
            self._mark_active(g, gid in touched)
            g.highlight_row = state.word if gid in WORD_ROWS else None
            if gid in EDITABLE:
                g.marked = {(r, c) for (m, r, c) in state.edited if m == gid}
        self.grid("S").highlight_row = state.word
        for gid in WORD_ROWS:
            self.grid(gid).scroll_to_row(state.word)
        self._scroll_to_step(step)
        narration = Text()
        narration.append(step.narration)
        if step.formula:
            narration.append("\n" + "   ".join(step.formula), style="bold")
        box = self.query_one("#matrix-narration", Static)
        box.border_title = step.title
        box.border_subtitle = _("matrix step {step}/{steps}").format(step=step.index + 1, steps=step.total)
        box.update(narration)
        self._check(state, step)

    def _scroll_to_step(self, step) -> None:
        """Bring the matrices the step reads into view (a step highlights, it never hides)."""
        key = (step.kind, step.index)
        if getattr(self, "_scrolled_for", None) == key:
            return
        self._scrolled_for = key
        order = [gid for gid, *_rest in GRIDS]
        names = [c.symbol for c in step.writes + step.reads]
        shown = [n for n in names if n in order]
        if shown:
            first = min(shown, key=lambda n: ROWS.index(next(r for g, t, r in GRIDS if g == n)))
            self.call_after_refresh(self.scroll_to_widget, self.grid(first), animate=False)

    def _mark_active(self, grid: MatrixGrid, active: bool) -> None:
        """Accent the border of a matrix the current step uses. Inline styles, because toggling a
        class restyles every grid's component classes (about 5 ms a grid)."""
        if getattr(grid, "_active", None) == active:
            return
        grid._active = active
        if active:
            accent = self.app.current_theme.accent or "yellow"
            grid.styles.border = ("round", accent)
            grid.styles.border_title_color = accent
            grid.styles.border_title_style = "bold"
        else:
            grid.styles.clear_rule("border")
            grid.styles.clear_rule("border_title_color")
            grid.styles.clear_rule("border_title_style")

    def active_grids(self) -> set[str]:
        return {gid for gid, *_rest in GRIDS if getattr(self.grid(gid), "_active", False)}

    def _check(self, state: TutorState, step) -> None:
        i = state.word
        head = state.trace.heads[state.head]
        z_i = step.result  # the step-through's z_i, computed its own way: the loop sum_j alpha_ij v_j
        self.query_one("#matrix-check", Static).update(Text.assemble(
            (_("Check: row {row} of A V").format(row=i + 1) + "\n", "bold"),
            f"{fmt_vector(head.output[i], state.decimals)}\n",
            (_("equals the step-through's {z}").format(z="z" + sub(i + 1)) + "\n", "bold"),
            f"{fmt_vector(z_i, state.decimals)}\n",
            _("largest difference {gap}").format(gap=f"{step.result_gap:.1e}"),
        ))

    def _fill(self, state: TutorState) -> None:
        t, d = state.trace, state.decimals
        words = short_labels(t.tokens)

        def numbers(axis: str) -> list[str]:
            return [str(k + 1) for k in range(axis_size(t, axis))]

        for gid, tensor_, where in GRIDS:
            rows = words if tensor_.rows == "token" else numbers(tensor_.rows)
            grid = self.grid(gid)
            grid.set_data(tensor_.of(t, state.head), rows, numbers(tensor_.cols), decimals=d,
                          heat=tensor_.key == "weights", masked=t.mask if tensor_.cols == "token" else None)
            # A title with words ("E (embeddings)") is translated once the registry marks it; a formula is kept.
            title = score_grid_label(t.config) if tensor_.key == "logits" else _(tensor_.title)
            if tensor_.scope == "head" and t.config.heads > 1:
                title = _("{title} (head {head}/{heads})").format(title=title, head=state.head + 1,
                                                                   heads=t.config.heads)
            grid.label = title
        self._fit_rows()

    def _fit_rows(self) -> None:
        """A row whose matrices are wider than the view is stacked, one matrix per line, each at most
        the view's width and scrolling inside it, so no grid is laid out thousands of cells wide."""
        room = self.scrollable_content_region.width or self.app.size.width - 2
        for row in self.query(".matrix-row"):
            grids = list(row.query(MatrixGrid))
            # each grid: its lines plus a border on either side; a one-cell gap between grids
            wanted = sum(g.virtual_size.width + 2 for g in grids) + len(grids) - 1
            row.set_class(wanted > room, "-fit")

    def _fill_heads(self, state: TutorState) -> None:
        t = state.trace
        show = state.all_heads and t.config.heads > 1
        self.set_class(show, "-all-heads")
        row = self.query_one("#heads-row", Horizontal)
        if not show:
            if row.children:
                row.remove_children()
            return
        grids = list(row.query(MatrixGrid))
        if len(grids) != t.config.heads:
            row.remove_children()
            grids = [MatrixGrid(label=_("A head {head}").format(head=k + 1), id=f"grid-A-head-{k}")
                     for k in range(t.config.heads)]
            row.mount(*grids)
            row.add_class("matrix-row")
        labels = short_labels(t.tokens)
        for k, g in enumerate(grids):
            g.set_data(t.heads[k].weights, labels, [str(c + 1) for c in range(t.n)], decimals=state.decimals,
                       heat=True, masked=t.mask)
            g.highlight_row = state.word

    def on_matrix_grid_cell_selected(self, event: MatrixGrid.CellSelected) -> None:
        event.stop()
        self.screen.prompt_cell_edit((event.grid.id or "").removeprefix("grid-"), event.row, event.col, event.value)

    def page(self, direction: int) -> None:
        focused = self.app.focused
        if isinstance(focused, MatrixGrid):
            focused.action_page_down() if direction > 0 else focused.action_page_up()
        else:
            self.scroll_relative(y=direction * max(1, self.size.height - 2), animate=False)
