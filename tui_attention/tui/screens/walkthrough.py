"""The step-through view: five panes for one query word at a time, sized by `tui.layout`."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from tui_attention.steps.labels import step_counter, word_counter
from tui_attention.steps.state import TutorState
from tui_attention.steps.step import WORD_STEP_KINDS
from tui_attention.tui.layout import Plan, plan_walkthrough
from tui_attention.tui.widgets.narration import NarrationPane
from tui_attention.tui.widgets.results import ResultsPane
from tui_attention.tui.widgets.tokens import TokensPane
from tui_attention.tui.widgets.vectors import VectorsPane
from tui_attention.tui.widgets.weights import WeightsPane

CHROME = 2  # the status line above the views and the footer below them
NARRATION_INDENT = 3  # the narration's border on either side and its left padding


class WalkthroughView(Vertical):
    """Tokens on top; vectors and weights beside the results; the step's text below, whole."""

    def compose(self) -> ComposeResult:
        yield TokensPane(id="tokens")
        with Horizontal(id="middle"):
            with Vertical(id="left"):
                yield VectorsPane(id="vectors")
                yield WeightsPane(id="weights")
            yield ResultsPane(id="results")
        yield NarrationPane(id="narration")

    def _view_size(self) -> tuple[int, int]:
        """This view's size; before the first layout, the screen's less the status and footer."""
        if self.size.width and self.size.height:
            return self.size.width, self.size.height
        return self.app.size.width, self.app.size.height - CHROME

    def beside_lesson(self) -> bool:
        """Beside a lesson on a narrow screen: the lesson's text explains, the step shows its
        title and formula only, and one column of panes."""
        return self.screen.has_class("-lesson") and self.screen.has_class("-narrow")

    def columns(self, step) -> tuple[bool, bool]:
        """(Vectors and Weights shown, Results shown). Beside a lesson on a narrow screen only one
        column fits: the vectors and weights while they are computed (steps 1-4), the Results after."""
        if not self.beside_lesson():
            return True, True
        early = step.index < WORD_STEP_KINDS.index("scores")
        return early, not early

    def plan(self, state: TutorState) -> Plan:
        step, trace = state.current, state.trace
        width, height = self._view_size()
        console = self.app.console
        text_width = max(10, width - NARRATION_INDENT)

        def lines(text: str) -> int:
            return len(Text(text).wrap(console, text_width)) if text else 0

        def formula_heights(k: int) -> int:
            return sum(lines(line) for line in step.formula_window(k))

        left, results = self.columns(step)
        self.query_one("#left").display = left
        self.query_one(ResultsPane).display = results
        widest = max((len(r.values) for r in step.vectors), default=0)
        return plan_walkthrough(
            height, narration_lines=0 if self.beside_lesson() else lines(step.narration),
            formula_heights=formula_heights,
            formula_count=len(step.formula), vectors=len(step.vectors),
            vector_notes=len(step.vector_notes) + (1 if widest > 8 else 0), multiplies=bool(step.multiplies),
            d_model=trace.config.d_model, n=trace.n, weights_filled="weights" in step.filled, left_column=left,
            results_column=results)

    def show(self, state: TutorState) -> None:
        step = state.current
        trace = state.trace
        plan = self.plan(state)
        self.query_one("#middle").styles.height = plan.middle_height
        self.query_one(TokensPane).show(trace.tokens, state.word, step.used_words, self._view_size()[0] - 4)
        vectors = self.query_one(VectorsPane)
        vectors.display = plan.vector_rows > 0
        vectors.show(step, state.decimals, plan.vector_rows, state.concealed)
        weights = self.query_one(WeightsPane)
        weights.display = plan.show_weights
        weights.show(trace, step, state.decimals, state.edited, plan.weight_rows, state.concealed)
        self.query_one(ResultsPane).show(trace, step, state.decimals, plan.result_rows, state.concealed)
        self.query_one(NarrationPane).show(step, f"{word_counter(state.word, trace.n)} · {step_counter(step)}",
                                           plan.formula_lines, state.concealed, paragraph=not self.beside_lesson())
