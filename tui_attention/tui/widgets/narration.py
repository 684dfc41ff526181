"""The Narration pane: what the step does and why, then its formula with live values."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui_attention.core.walkthrough import Step


class NarrationPane(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    NarrationPane { border: round $accent; padding: 0 0 0 1; height: 1fr; scrollbar-size-vertical: 0; }
    NarrationPane > Static { width: 1fr; }
    """

    def compose(self):
        yield Static(id="narration-text")

    def show(self, step: Step, counter: str, max_lines: int = 40) -> None:
        formula = list(step.formula)
        if len(formula) > max_lines:
            formula = formula[: max_lines - 1] + [f"… {len(step.formula) - max_lines + 1} more lines"]
        body = Group(
            Text(step.narration),
            Text(""),
            Text("\n".join(formula), style="bold", no_wrap=False),
        )
        self.border_title = f"{step.title}"
        self.border_subtitle = counter
        self.query_one("#narration-text", Static).update(body)
        self.scroll_home(animate=False)
        self.call_after_refresh(self._more_hint, counter)

    def _more_hint(self, counter: str) -> None:
        more = self.max_scroll_y > 0
        self.border_subtitle = ("pgdn/pgup: more · " if more else "") + counter
