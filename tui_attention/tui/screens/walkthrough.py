"""The step-through view: five panes for one query word at a time."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from tui_attention.steps.labels import step_counter, word_counter
from tui_attention.steps.state import TutorState
from tui_attention.tui.widgets.narration import NarrationPane
from tui_attention.tui.widgets.results import ResultsPane
from tui_attention.tui.widgets.tokens import TokensPane
from tui_attention.tui.widgets.vectors import VectorsPane
from tui_attention.tui.widgets.weights import WeightsPane


class WalkthroughView(Vertical):
    """Tokens on top; vectors and weights beside the results; narration below."""

    def compose(self) -> ComposeResult:
        yield TokensPane(id="tokens")
        with Horizontal(id="middle"):
            with Vertical(id="left"):
                yield VectorsPane(id="vectors")
                yield WeightsPane(id="weights")
            yield ResultsPane(id="results")
        yield NarrationPane(id="narration")

    def show(self, state: TutorState) -> None:
        step = state.current
        trace = state.trace
        self.query_one(TokensPane).show(trace.tokens, state.word, step.used_words)
        self.query_one(VectorsPane).show(step, state.decimals)
        self.query_one(WeightsPane).show(trace, step, state.decimals, state.edited)
        self.query_one(ResultsPane).show(trace, step, state.decimals)
        self.query_one(NarrationPane).show(step, f"{word_counter(state.word, trace.n)} · {step_counter(step)}")
