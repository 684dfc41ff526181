"""The matrix view: softmax(Q Kᵀ) V as whole matrices, one equation per step.

Each matrix step shows its text at the top, always in view, and below it a scene: the
matrices the step reads, then those it writes (`Step.reads`, `Step.writes`), packed into
lines that fit the width. Where they do not all fit under the text, `layout.plan_scene`
decides: every grid keeps its whole border and at least the rows around the current word
(scrolled to keep that word's row in view, with the rows beside it); fewer grids with more rows beat many
one-row grids, so what the step writes stays and what it reads is left out, last first,
and the text's border names what was left out. A scene is built for its step and its
placement and kept; switching steps switches scenes. The query word's row is highlighted
in every matrix with one row per word; `g` adds every head's A on top.
"""

from __future__ import annotations

import weakref
from functools import lru_cache

import numpy as np
from rich.cells import set_cell_size
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.widgets import Static

from tui_attention.core.editing import EDITABLE
from tui_attention.core.tensors import Tensor, axis_size, tensor
from tui_attention.i18n import _
from tui_attention.steps.labels import score_grid_label
from tui_attention.steps.notation import fmt_vector, sub
from tui_attention.steps.state import TutorState
from tui_attention.steps.step import Step
from tui_attention.tui.layout import GridBox, ScenePlan, plan_scene, views_size
from tui_attention.tui.widgets.matrix_grid import MatrixGrid, natural_width
from tui_attention.tui.widgets.one_frame import Column, FrameStatic, Memo, OneFrame, Row, Scroll
from tui_attention.tui.widgets.render import plain

BORDERS = 2
GRID_FRAME = 3  # a grid's border (2) and its vertical scrollbar, shown when rows are cut
SCROLLBAR = 1  # #scenes keeps a cell for its scrollbar, so that no line of grids is cut at the right
NARRATION_FRAME = 4  # the text box's border and padding, either side


@lru_cache(maxsize=8)
def short_labels(tokens: tuple[str, ...], width: int = 7) -> tuple[str, ...]:
    """"3 estud": the word's number and the start of the word, in `width` cells. Kept for the
    last sentences: every grid of a word key asks for them (512 labels at 512 words)."""
    return tuple(set_cell_size(f"{i + 1} {t}", width).rstrip() for i, t in enumerate(tokens))


# A bias is drawn as one more row under its weight matrix: y W + b reads as one grid.
BIAS_OF = {"W_1": "b_1", "W_2": "b_2"}


def scene_tensors(step: Step, heads: int) -> list[tuple[Tensor, int | None]]:
    """(tensor, head) of every matrix the step reads, then writes; head None is the head shown.
    Concatenating heads reads every head's Z; a bias goes with its weights (BIAS_OF)."""
    out: list[tuple[Tensor, int | None]] = []
    biases = {BIAS_OF[c.matrix] for c in step.reads if c.matrix in BIAS_OF}
    for cell in step.reads + step.writes:
        t = tensor(cell.matrix)
        if t.key in biases:
            continue
        if step.kind == "concat" and t.scope == "head":
            out += [(t, h) for h in range(heads)]
        elif (t, None) not in out:
            out.append((t, None))
    return out


def grid_title(t: Tensor, state: TutorState, head: int | None) -> str:
    """The formula that makes the matrix; per-head matrices say which head when there are several."""
    c = state.config
    stages = {"scores": "S = Q Kᵀ", "scaled": "S = Q Kᵀ/√d_k" if c.scale == "sqrt_dk" else "S = Q Kᵀ",
              "logits": score_grid_label(c)}
    title = stages.get(t.key) or _(t.title)
    if t.scope == "head" and c.heads > 1:
        shown = state.head if head is None else head
        title = _("{title} (head {head}/{heads})").format(title=title, head=shown + 1, heads=c.heads)
    return title


def pack_lines(parts: tuple[str, ...], width: int, sep: str = "   ") -> list[str]:
    """Formula parts joined on one line while they fit `width`, so short ones share a line."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(sep) + len(part) <= width:
            lines[-1] += sep + part
        else:
            lines.append(part)
    return lines


class Scene(OneFrame, Vertical):
    """The grids of one matrix step, in lines; `signature` says what it was built for."""

    DEFAULT_CSS = """
    Scene { height: auto; }
    Scene > Horizontal { height: auto; width: 100%; }
    Scene MatrixGrid { margin: 0 1 0 0; border: round $primary; border-title-color: $foreground; }
    /* What the step writes stands out from what it reads. */
    Scene MatrixGrid.-written { border: round $accent; border-title-color: $accent; border-title-style: bold; }
    Scene MatrixGrid:focus { border: round $secondary; }
    """

    def __init__(self, kind: str, signature: tuple, lines: list[list[MatrixGrid]], extra: list[Static]) -> None:
        super().__init__(classes="scene")
        self.kind, self.signature, self.lines, self.extra = kind, signature, lines, extra
        self.filled_for: tuple | None = None

    def compose(self) -> ComposeResult:
        for line in self.lines:
            with Row():
                yield from line
        yield from self.extra

    @property
    def grids(self) -> list[MatrixGrid]:
        return [g for line in self.lines for g in line]


class MatrixView(OneFrame, Vertical, can_focus=False):
    DEFAULT_CSS = """
    MatrixView { height: 1fr; }
    /* width: the box takes the view's width, never its longest line's (see FrameStatic). */
    MatrixView #matrix-narration { width: 1fr; height: auto; border: round $accent; padding: 0 1; }
    MatrixView #heads-strip { height: auto; display: none; }
    MatrixView.-all-heads #heads-strip { display: block; }
    MatrixView #heads-strip > Horizontal { height: auto; }
    MatrixView #heads-strip MatrixGrid { margin: 0 1 0 0; border: round $secondary; }
    MatrixView #scenes { height: 1fr; scrollbar-size-vertical: 1; overflow-x: hidden; }
    MatrixView .matrix-check { height: auto; width: 1fr; padding: 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._scenes: dict[tuple, Scene] = {}  # (step kind, the matrices it shows) -> its scene, oldest first
        self._heads_key: tuple | None = None
        self._strip: list[MatrixGrid] = []

    def compose(self) -> ComposeResult:
        yield FrameStatic(id="matrix-narration")
        yield Column(id="heads-strip")
        yield Scroll(id="scenes", can_focus=False)

    # --- what is on screen ----------------------------------------------------------------
    @property
    def scene(self) -> Scene | None:
        """The scene of the current step (None before the first show)."""
        return next((s for s in self._scenes.values() if s.display), None)

    def grid(self, symbol: str, head: int | None = None) -> MatrixGrid:
        """The current scene's grid of `symbol` (and `head`, when a scene shows several heads)."""
        for g in self.scene.grids:
            if g.symbol == symbol and (head is None or g.head == head):
                return g
        raise LookupError(f"no {symbol} in the {self.scene.kind} scene")

    def active_grids(self) -> set[str]:
        """The symbols of the matrices on screen for this step."""
        return {g.symbol for g in self.scene.grids} if self.scene else set()

    # --- showing a step -------------------------------------------------------------------
    def show(self, state: TutorState) -> None:
        step = state.current_matrix
        narration = BORDERS + self._show_text(step, state)
        wanted = scene_tensors(step, state.config.heads)
        strip = self._strip_tensors(state)
        boxes = self._boxes(strip, wanted, step, state)
        plan = plan_scene(boxes, self._width() - SCROLLBAR, max(1, self._area().height - narration))
        first = len(strip)
        scene = self._scene_for(step, state, wanted, plan, first)
        for other in self._scenes.values():
            other.display = other is scene
        self._fill(scene, state)
        self._fill_heads(state, strip, plan)
        self._fit(scene, plan, first, state)
        left_out = [grid_title(x, state, h) for k, (x, h) in enumerate(wanted) if not plan.heights[first + k]]
        left_out += [_("A head {head}").format(head=h + 1) for k, (_x, h) in enumerate(strip) if not plan.heights[k]]
        counter = _("matrix step {step}/{steps}").format(step=step.index + 1, steps=step.total)
        box = self.query_one("#matrix-narration", Static)
        box.border_subtitle = plain(_("no room for {grids} · {counter}").format(
            grids=", ".join(left_out), counter=counter) if left_out else counter)

    def beside_lesson(self) -> bool:
        """Beside a lesson on a narrow screen the lesson's text explains: the step shows its
        title and formula, and the room goes to the matrices (as the step-through does)."""
        return self.screen.has_class("-lesson") and self.screen.has_class("-narrow")

    _texts: Memo | None = None  # (lines, title, text, its Visual) of the text boxes shown, by what they show

    def _show_text(self, step: Step, state: TutorState) -> int:
        """The step's text in the box above the matrices; returns the lines it takes. Kept for
        the last steps shown: going back shows the same drawing again (`OneFrame.render_lines`)
        and wraps nothing."""
        hidden, beside, width = state.concealed, self.beside_lesson(), self._width()
        check = step.kind == "av" and not beside  # row i of A V against z_i: by word and head
        signature = (step, hidden, beside, width, state.decimals,
                     *((state.trace, state.word, state.head) if check else ()))
        if self._texts is None:
            self._texts = Memo()
        box = self.query_one("#matrix-narration", FrameStatic)
        kept = self._texts.get(signature)
        if kept is not None:
            lines, box.border_title, text, visual = kept  # type: ignore[misc]
            box.update(text, visual=visual)
            return lines
        text = Text() if beside else Text(hidden.text(step.narration))
        if step.formula:
            formula = "\n".join(pack_lines(hidden.lines(step.formula), width - NARRATION_FRAME))
            text.append(("\n" if text.plain else "") + formula, style="bold")
        if check:
            text.append("\n")
            text.append(hidden.text(self._check(state, step).plain))
        box.border_title = title = plain(hidden.text(step.title))
        visual = box.update(text)
        lines = len(text.wrap(self.app.console, max(10, width - NARRATION_FRAME)))
        self._texts.put(signature, (lines, title, text, visual))
        return lines

    def _check(self, state: TutorState, step: Step) -> Text:
        """Row i of A V against the step-through's z_i, which the step computed as a loop."""
        i = state.word
        head = state.trace.heads[state.head]
        return Text.assemble(
            (_("Check: row {row} of A V").format(row=i + 1) + " ", "bold"),
            f"{fmt_vector(head.output[i], state.decimals)} ",
            (_("equals the step-through's z{sub}").format(sub=sub(i + 1)) + " ", "bold"),
            f"{fmt_vector(step.result, state.decimals)}; ",
            _("largest difference {gap:.1e}").format(gap=step.result_gap),
        )

    def _area(self) -> Size:
        """The room the views have (`layout.views_size`): from the screen, since this view's own
        size lags while it is being switched in or the lesson panel opens or closes."""
        screen = self.screen.size if self.screen.size.width else self.app.size
        return Size(*views_size(screen.width, screen.height, self.screen.has_class("-lesson")))

    def _width(self) -> int:
        return self._area().width

    def _strip_tensors(self, state: TutorState) -> list[tuple[Tensor, int]]:
        """With `g` and several heads, every head's A, in a strip above the scene."""
        if not (state.all_heads and state.config.heads > 1):
            return []
        return [(tensor("weights"), k) for k in range(state.config.heads)]

    def _boxes(self, strip, wanted, step: Step, state: TutorState) -> list[GridBox]:
        """What `plan_scene` places: the heads strip first (one row each will do: it compares the
        current word's weights across heads), then the step's grids, what it writes before what
        it reads."""
        written = {c.matrix for c in step.writes}
        boxes = []
        for x, h in strip:
            width, rows = self._natural_size(x, h, state)
            boxes.append(GridBox(width + GRID_FRAME, rows, priority=0, group=0, min_rows=1))
        for x, h in wanted:
            width, rows = self._natural_size(x, h, state)
            boxes.append(GridBox(width + GRID_FRAME, rows, priority=1 if x.key in written else 2, group=1))
        return boxes

    _sizes: Memo | None = None  # (natural_width, rows) of the grids measured, by trace, tensor, head, decimals

    def _natural_size(self, x: Tensor, head: int | None, state: TutorState) -> tuple[int, int]:
        """(`natural_width`, rows) of the grid of `x`: measured once per trace, head and decimals,
        not on every key (a word key at 512 x 1024 would scan each grid's numbers again)."""
        if self._sizes is None:
            self._sizes = Memo()
        signature = (state.trace, x.key, state.head if head is None else head, state.decimals)
        size = self._sizes.get(signature)
        if size is None:
            values, rows, _cols, heat = self._grid_values(x, head, state)
            size = (natural_width(values, rows, state.decimals, heat), len(rows))
            self._sizes.put(signature, size)
        return size  # type: ignore[return-value]

    def _scene_for(self, step: Step, state: TutorState, wanted, plan: ScenePlan, first: int) -> Scene:
        """The step's scene, built (or rebuilt, when the shapes, decimals, width or the placement
        of its grids changed): only the grids the plan places, on the plan's lines."""
        t = state.trace
        written = {c.matrix for c in step.writes}
        lines = tuple(tuple(i - first for i in line) for line in plan.lines if line[0] >= first)
        signature = (tuple((x.key, h) for x, h in wanted), t.n, t.config.d_model, t.config.d_k, t.config.d_v,
                     t.config.d_ff, t.config.heads, state.decimals, self._width(), lines)
        # One scene per step and set of matrices: a switch that shows S/√d instead of S (or back)
        # finds its scene still built. Two such variants of a step are kept, the latest used.
        key = (step.kind, signature[0])
        scene = self._scenes.pop(key, None)
        if scene is not None and scene.signature == signature:
            self._scenes[key] = scene  # now the most recently used
            return scene
        if scene is not None:
            scene.remove()
        variants = [k for k in self._scenes if k[0] == step.kind]
        for old in variants[:max(0, len(variants) - 1)]:
            self._scenes.pop(old).remove()
        grid_lines = []
        for line in lines:
            grid_lines.append([])
            for k in line:
                x, h = wanted[k]
                grid = MatrixGrid(show_cursor=x.key in EDITABLE, classes="-written" if x.key in written else None)
                grid.symbol, grid.key, grid.head = x.symbol, x.key, h
                self._set_data(grid, x, h, state)
                grid_lines[-1].append(grid)
        scene = Scene(step.kind, signature, grid_lines, [])
        scene.display = False
        self._scenes[key] = scene
        self.query_one("#scenes").mount(scene)
        return scene

    def _grid_values(self, x: Tensor, head: int | None, state: TutorState):
        """(values, row labels, column labels, heat) of the grid of tensor `x`; a bias goes under
        its weights as one more row."""
        t = state.trace
        h = state.head if head is None else head

        def numbers(axis: str) -> list[str]:
            return [str(k + 1) for k in range(axis_size(t, axis))]

        rows = short_labels(t.tokens) if x.rows == "token" else (numbers(x.rows) if x.rows else [x.symbol])
        values = x.of(t, h)
        if x.key in BIAS_OF:
            bias = tensor(BIAS_OF[x.key])
            values, rows = np.vstack([values, bias.of(t)]), [*rows, bias.symbol]
        return values, rows, numbers(x.cols), x.key == "weights"

    def _set_data(self, grid: MatrixGrid, x: Tensor, head: int | None, state: TutorState) -> None:
        t = state.trace
        h = state.head if head is None else head
        values, rows, cols, heat = self._grid_values(x, head, state)
        if x.key == "attention":  # concat(Z_1..Z_h) holds every head's Z
            hidden = state.concealed.concat_mask(t.config.heads, t.config.d_v, t.n)
        else:  # a matrix of the trace (the block's) is no head's: its cells are head 0's (cells_of)
            hidden = state.concealed.mask(x.key, h if x.scope == "head" else 0, x.of(t, h).shape)
        title = grid_title(x, state, head)
        if x.key in BIAS_OF:
            hidden = None if hidden is None else np.vstack([hidden, np.zeros((1, hidden.shape[1]), bool)])
            title = _("{weights} and {bias} (last row)").format(weights=title, bias=tensor(BIAS_OF[x.key]).symbol)
        grid.set_data(values, rows, cols, decimals=state.decimals, heat=heat,
                      masked=t.mask if x.cols == "token" else None, hidden=hidden)
        grid.label = title

    def _fill(self, scene: Scene, state: TutorState) -> None:
        # The trace by weak reference: an id() could be reused by the next trace, and a strong
        # reference would keep a replaced trace (44 MiB at 512 x 1024) alive.
        key = (weakref.ref(state.trace), state.head, state.decimals, state.concealed)
        for other in self._scenes.values():
            if other is not scene and other.filled_for is not None and other.filled_for[0]() is not state.trace:
                # A hidden scene of an older trace lets its arrays go; it is filled again when shown.
                # A grid showing an array the new trace shares (a scale or mask switch keeps X, W,
                # Q, K and V) holds nothing more, and keeps the lines it drew for it.
                for g in other.grids:
                    if not self._shares(g, state):
                        g.set_data(np.zeros((0, 0)), [], [])
                other.filled_for = None
        if scene.filled_for != key:
            for g in scene.grids:
                self._set_data(g, tensor(g.key), g.head, state)
            scene.filled_for = key
        for g in scene.grids:
            by_word = tensor(g.key).rows == "token"
            g.highlight_row = state.word if by_word else None
            if g.symbol in EDITABLE:
                g.marked = {(r, c) for (m, r, c) in state.edited if m == g.symbol}

    @staticmethod
    def _shares(grid: MatrixGrid, state: TutorState) -> bool:
        """Whether `grid` shows an array of the present trace (the block's are not looked up:
        asking for them would compute the block; a head the trace no longer has shares nothing)."""
        x = tensor(grid.key)
        head = state.head if grid.head is None else grid.head
        return (x.scope != "block" and head < len(state.trace.heads)
                and x.of(state.trace, head) is grid.values)

    def _fit(self, scene: Scene, plan: ScenePlan, first: int, state: TutorState) -> None:
        """Each grid at the plan's width and height, scrolled to the rows around the current
        word (and S and A to the columns around it: a causal mask's -inf cells begin there)."""
        placed = [i for line in plan.lines for i in line if i >= first]  # the scene's grids, in order
        for g, i in zip(scene.grids, placed):
            self._place_grid(g, plan, i)
        for g in scene.grids:
            x = tensor(g.key)
            if x.rows == "token":
                g.scroll_around(state.word, state.word if x.cols == "token" else None)

    @staticmethod
    def _place_grid(grid: MatrixGrid, plan: ScenePlan, i: int) -> None:
        width, height = plan.widths[i], plan.heights[i]
        if grid.styles.width is None or grid.styles.width.value != width:
            grid.styles.width = width
        if grid.styles.height is None or grid.styles.height.value != height:
            grid.styles.height = height

    def _fill_heads(self, state: TutorState, strip, plan: ScenePlan) -> None:
        """With `g` and several heads, every head's A in a strip above the scene."""
        t = state.trace
        self.set_class(bool(strip), "-all-heads")
        holder = self.query_one("#heads-strip", Vertical)
        if not strip:
            return
        lines = tuple(line for line in plan.lines if line[0] < len(strip))
        key = (weakref.ref(t), state.decimals, t.config.heads, state.concealed, self._width(), lines)
        if self._heads_key != key:
            holder.remove_children()
            weights = tensor("weights")
            rows, self._strip = [], []
            for line in lines:
                grids = []
                for k in line:
                    g = MatrixGrid()
                    g.symbol, g.key, g.head = weights.symbol, weights.key, k
                    self._set_data(g, weights, k, state)
                    g.label = _("A head {head}").format(head=k + 1)
                    grids.append(g)
                rows.append(Row(*grids))
                self._strip += grids
            holder.mount(*rows)
            self._heads_key = key
        for g in self._strip:  # (the grids just mounted are not in the DOM yet: kept here)
            self._place_grid(g, plan, g.head)
            g.highlight_row = state.word
            g.scroll_around(state.word, state.word)

    def on_matrix_grid_cell_selected(self, event: MatrixGrid.CellSelected) -> None:
        event.stop()
        self.screen.prompt_cell_edit(getattr(event.grid, "symbol", ""), event.row, event.col, event.value)

    def page(self, direction: int) -> None:
        focused = self.app.focused
        if isinstance(focused, MatrixGrid):
            focused.action_page_down() if direction > 0 else focused.action_page_up()
        else:
            scenes = self.query_one("#scenes")
            scenes.scroll_relative(y=direction * max(1, scenes.size.height - 2), animate=False)
