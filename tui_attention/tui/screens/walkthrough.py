"""The step-through view: five panes for one query word at a time, sized by `tui.layout`."""

from __future__ import annotations

from itertools import accumulate

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Vertical

from tui_attention.steps.labels import step_counter, word_counter
from tui_attention.steps.notation import widest
from tui_attention.steps.state import TutorState
from tui_attention.steps.step import WORD_STEP_KINDS
from tui_attention.tui.layout import Plan, left_width, plan_walkthrough, views_size
from tui_attention.tui.widgets.narration import NarrationPane, shift_range
from tui_attention.tui.widgets.results import ResultsPane, z_line
from tui_attention.tui.widgets.tokens import TokensPane
from tui_attention.tui.widgets.vectors import VectorsPane
from tui_attention.tui.widgets.weights import WeightsPane
from tui_attention.tui.widgets.one_frame import Column, Memo, OneFrame, Row
from tui_attention.tui.widgets.render import fits, wrapped_height

NARRATION_INDENT = 3  # the narration's border on either side and its left padding
VECTORS_FRAME = 3  # the Vectors pane's border on either side and its left padding
RESULTS_FRAME = 4  # the Results pane's border and its padding, on either side
RESULTS_MIN_WIDTH = 36  # the Results' numbers, a word and its bar, with their border


def vectors_width(step, decimals: int) -> int:
    """Cells the Vectors pane needs to show its widest row whole: label, shape, the numbers."""
    if not step.vectors:
        return 0
    name_w = max(cell_len(r.label) for r in step.vectors)
    shape_w = max(len(r.shape) for r in step.vectors)
    num_w = max(widest(r.values, decimals) for r in step.vectors)
    longest = max(len(r.values) for r in step.vectors)
    return VECTORS_FRAME + name_w + 1 + shape_w + 1 + longest * (num_w + 1) - 1


class WalkthroughView(OneFrame, Vertical):
    """Tokens on top; vectors and weights beside the results; the step's text below, whole."""

    def compose(self) -> ComposeResult:
        yield TokensPane(id="tokens")
        with Row(id="middle"):
            with Column(id="left"):
                yield VectorsPane(id="vectors")
                yield WeightsPane(id="weights")
            yield ResultsPane(id="results")
        yield NarrationPane(id="narration")

    def _view_size(self) -> tuple[int, int]:
        """The room this view has (`layout.views_size`): from the screen, since the view's own
        size lags behind the lesson panel opening or closing."""
        screen = self.screen.size if self.screen.size.width else self.app.size
        return views_size(screen.width, screen.height, self.screen.has_class("-lesson"))

    def beside_lesson(self) -> bool:
        """Beside a lesson on a narrow screen: the lesson's text explains, the step shows its
        title and formula only, and one column of panes."""
        return self.screen.has_class("-lesson") and self.screen.has_class("-narrow")

    def columns(self, step) -> tuple[bool, bool]:
        """(Vectors and Weights shown, Results shown). Beside a lesson on a narrow screen, or where
        the Results would get fewer than RESULTS_MIN_WIDTH cells beside the Vectors (below 78
        columns), only one column fits: the vectors and weights while they are computed (steps
        1-4), the Results after."""
        width = self._view_size()[0]
        if not self.beside_lesson() and width - left_width(width) >= RESULTS_MIN_WIDTH:
            return True, True
        early = step.index < WORD_STEP_KINDS.index("scores")
        return early, not early

    _plans: Memo | None = None  # the last plans, by what they were planned for

    def plan(self, state: TutorState) -> Plan:
        """`_plan`, kept for the last steps and words planned: going back plans nothing anew."""
        signature = (state.current, state.trace, state.concealed, state.decimals, *self._view_size(),
                     self.beside_lesson())
        if self._plans is None:
            self._plans = Memo()
        plan = self._plans.get(signature)
        if plan is None:
            plan = self._plan(state)
            self._plans.put(signature, plan)
        return plan  # type: ignore[return-value]

    def _plan(self, state: TutorState) -> Plan:
        step, trace = state.current, state.trace
        width, height = self._view_size()
        console = self.app.console
        text_width = max(10, width - NARRATION_INDENT)

        wrapped: dict[str, int] = {}  # the planner asks for many windows of the same lines

        def lines(text: str) -> int:
            if text not in wrapped:
                if not text:
                    wrapped[text] = 0
                elif "\n" not in text and fits(text, text_width):
                    wrapped[text] = 1  # most formula lines fit: no need to wrap them to count them
                else:
                    wrapped[text] = wrapped_height(text, text_width, console)
            return wrapped[text]

        head, body, tail = step.formula_parts()
        sums: list[int] = []  # sums[i]: the lines that body[:i] takes

        def formula_heights(k: int) -> int:
            """The lines of the tallest window of k formula lines, not only the query word's:
            pgdn and pgup show the others in the same box, and where lines wrap (beside a lesson
            a four-term sum takes four lines) one may be taller. A window is the head, a note,
            k lines in a row of the body, and the tail; the last window's note has the largest
            numbers."""
            if k >= len(step.formula):
                return sum(lines(line) for line in step.formula)
            if not sums:
                sums.extend(accumulate(map(lines, body), initial=0))
            tallest = max((sums[i + k] - sums[i] for i in range(len(body) - k + 1)), default=sums[-1])
            note = lines(step.formula_window(k, shift_range(step)[1])[len(head)])
            return sum(map(lines, head)) + note + tallest + sum(map(lines, tail))

        left, results = self.columns(step)
        longest = max((len(r.values) for r in step.vectors), default=0)
        # z wraps in a narrow Results pane at many decimals: its lines come out of the word rows.
        results_w = (width - left_width(width) if left and results else width) - RESULTS_FRAME
        z = z_line(trace, step, state.decimals, state.concealed).plain
        z_lines = 1 if fits(z, results_w) else wrapped_height(z, max(1, results_w), console)
        return plan_walkthrough(
            height, narration_lines=0 if self.beside_lesson() else lines(state.concealed.text(step.narration)),
            formula_heights=formula_heights,
            formula_count=len(step.formula), vectors=len(step.vectors),
            vector_notes=len(step.vector_notes) + (1 if longest > 8 else 0), multiplies=bool(step.multiplies),
            d_model=trace.config.d_model, n=trace.n, weights_filled="weights" in step.filled, left_column=left,
            results_column=results, results_first=bool(step.filled), width=width,
            vectors_width=vectors_width(step, state.decimals), z_lines=z_lines)

    _shown_for: tuple | None = None  # (state, the size it was planned for)
    _arranged: tuple | None = None  # what _arrange last set

    def on_resize(self) -> None:
        # A size the plan did not foresee (views_size should foresee every one): plan again now,
        # not at the learner's next key.
        if self._shown_for is not None and self.display and self._shown_for[1] != tuple(self.size):
            self.show(self._shown_for[0])

    def _arrange(self, plan: Plan, left: bool, results: bool) -> None:
        """Side by side, or (plan.stacked) the Vectors pane above the Results, each whole width.
        Inline styles: they outrank app.tcss, which places the panes side by side. Set only
        when they change: setting a style, even to its value, asks for a layout."""
        arranged = (plan.middle_height, plan.stacked, left, results)
        if arranged == self._arranged:
            return
        self._arranged = arranged
        middle, column = self.query_one("#middle"), self.query_one("#left")
        column.display, self.query_one(ResultsPane).display = left, results
        middle.styles.height = plan.middle_height
        middle.styles.layout = "vertical" if plan.stacked else "horizontal"
        for pane in (column, self.query_one(ResultsPane)):
            pane.styles.width = "100%" if plan.stacked else None
        # The column's minimum (app.tcss) keeps it readable beside the Results; alone, it would
        # push the pane past a narrow view's edge and cut it off.
        column.styles.min_width = None if (left and results and not plan.stacked) else 0

    def pane_widths(self, plan: Plan, left: bool, results: bool) -> tuple[int, int]:
        """Content widths of the Vectors and the Results panes under `plan`: what the layout will
        give them (app.tcss: #left and #results share the row, #left at least LEFT_MIN_WIDTH), so
        that they are drawn for it in this frame, not once more after it."""
        width = self._view_size()[0]
        if plan.stacked or not (left and results):
            column = rest = width
        else:
            column = left_width(width)
            rest = width - column
        return column - VECTORS_FRAME, rest - RESULTS_FRAME

    def show(self, state: TutorState) -> None:
        step = state.current
        trace = state.trace
        plan = self.plan(state)
        size = self._view_size()
        self._shown_for = (state, size)
        left, results = self.columns(step)
        self._arrange(plan, left, results)
        self.query_one(TokensPane).show(trace.tokens, state.word, step.used_words, size[0] - 4)
        vectors = self.query_one(VectorsPane)
        vectors.display = plan.vector_rows > 0
        vectors_w, results_w = self.pane_widths(plan, left, results)
        vectors.show(step, state.decimals, plan.vector_rows, state.concealed, width=vectors_w)
        weights = self.query_one(WeightsPane)
        weights.display = plan.show_weights
        weights.show(trace, step, state.decimals, state.edited, plan.weight_rows, state.concealed)
        self.query_one(ResultsPane).show(trace, step, state.decimals, plan.result_rows, state.concealed,
                                         width=results_w)
        self.query_one(NarrationPane).show(step, f"{word_counter(state.word, trace.n)} · {step_counter(step)}",
                                           plan.formula_lines, state.concealed, paragraph=not self.beside_lesson(),
                                           paragraph_lines=plan.paragraph_lines,
                                           width=max(10, size[0] - NARRATION_INDENT))

