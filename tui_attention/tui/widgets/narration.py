"""The Narration pane: what the step does and why, then its formula with live values."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_attention.i18n import _
from tui_attention.steps.conceal import NOTHING, Concealed
from tui_attention.steps.step import Step
from .render import plain


class NarrationPane(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    NarrationPane { border: round $accent; padding: 0 0 0 1; height: auto; scrollbar-size-vertical: 0; }
    NarrationPane > Static { width: 1fr; height: auto; }
    """

    def compose(self):
        yield Static(id="narration-text")

    _shown: tuple = ()
    _shift = 0
    _more = False

    def show(self, step: Step, counter: str, max_lines: int = 24, hidden: Concealed = NOTHING,
             paragraph: bool = True) -> None:
        """Title in the border, the narration, then `max_lines` formula lines (a window around
        the query word when the step writes one line per word; pgdn/pgup move it)."""
        if (step.kind, step.word, step.title) != self._shown[:3]:
            self._shift = 0
        self._shown = (step.kind, step.word, step.title, step, counter, max_lines, hidden, paragraph)
        self._render_window()

    def page(self, direction: int) -> None:
        """Move the formula window a page on (1) or back (-1); without a window, scroll."""
        if not self._shown:
            return
        step, max_lines = self._shown[3], self._shown[5]
        if len(step.formula) <= max_lines:
            self.scroll_relative(y=direction * max(1, self.size.height - 1), animate=False)
            return
        self._shift += direction * max_lines
        last = len(step.formula) - step.word
        self._shift = max(-step.word, min(self._shift, last))
        self._render_window()

    def _render_window(self) -> None:
        step, counter, max_lines, hidden, paragraph = self._shown[3:]
        formula = hidden.lines(step.formula_window(max_lines, self._shift))
        text = Text("\n".join(formula), style="bold", no_wrap=False)
        body = Group(Text(hidden.text(step.narration)), text) if paragraph else text
        self.border_title = plain(hidden.text(step.title))
        windowed = len(step.formula) > max_lines
        self.border_subtitle = plain(_("pgdn/pgup: more lines · {counter}").format(counter=counter) if windowed
                                     else counter)
        self.query_one("#narration-text", Static).update(body)
        self.scroll_home(animate=False)
