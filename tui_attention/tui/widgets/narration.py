"""The Narration pane: what the step does and why, then its formula with live values."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_attention.i18n import _
from tui_attention.steps.step import Step


class NarrationPane(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    NarrationPane { border: round $accent; padding: 0 0 0 1; height: 1fr; scrollbar-size-vertical: 0; }
    NarrationPane > Static { width: 1fr; }
    """

    def compose(self):
        yield Static(id="narration-text")

    def show(self, step: Step, counter: str, max_lines: int = 24) -> None:
        formula = step.formula_window(max_lines)
        body = Group(
            Text(step.narration),
            Text("\n".join(formula), style="bold", no_wrap=False),
        )
        self.border_title = f"{step.title}"
        # Keep the last "more" hint until the new layout says otherwise: one frame per key, not two.
        self.border_subtitle = self._subtitle(counter)
        self.query_one("#narration-text", Static).update(body)
        self.scroll_home(animate=False)
        self.call_after_refresh(self._more_hint, counter)

    _more = False

    def _more_hint(self, counter: str) -> None:
        more = self.max_scroll_y > 0
        if more != self._more:
            self._more = more
            self.border_subtitle = self._subtitle(counter)

    def _subtitle(self, counter: str) -> str:
        return _("pgdn/pgup: more · {counter}").format(counter=counter) if self._more else counter
