"""The Narration pane: what the step does and why, then its formula with live values."""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll

from tui_attention.i18n import _
from tui_attention.steps.conceal import NOTHING, Concealed
from tui_attention.steps.step import Step
from .render import RichLines, plain
from .one_frame import FrameStatic, OneFrame


def shift_range(step: Step) -> tuple[int, int]:
    """The formula window's shifts where pgup and pgdn stop: the first line's window, the last's."""
    return -step.window_anchor, len(step.formula) - step.window_anchor


class NarrationPane(OneFrame, VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    NarrationPane { border: round $accent; padding: 0 0 0 1; height: auto; scrollbar-size-vertical: 0; }
    NarrationPane > Static { width: 1fr; height: auto; }
    """

    def compose(self):
        yield FrameStatic(id="narration-text")

    _shown: tuple = ()
    _shift = 0  # formula lines moved on from the query word's window (pgdn, pgup)
    _top = 0  # the first paragraph line shown, when the paragraph is cut for room

    def show(self, step: Step, counter: str, max_lines: int = 24, hidden: Concealed = NOTHING,
             paragraph: bool = True, paragraph_lines: int | None = None, width: int | None = None) -> None:
        """Title in the border, the narration, then `max_lines` formula lines (a window around
        the query word when the step writes one line per word; pgdn/pgup move it).

        paragraph_lines: the narration's lines to show, wrapped to `width` cells; when it has
        more, they scroll (pgdn first shows the rest of the paragraph) and the border says so.
        """
        if (step.kind, step.word, step.title) != self._shown[:3]:
            self._shift = self._top = 0
        width = width or self.content_size.width or 77  # the paragraph is wrapped to it
        self._shown = (step.kind, step.word, step.title, step, counter, max_lines, hidden, paragraph,
                       paragraph_lines, width)
        self._render_window()

    _wrapped: tuple | None = None  # (text, width, its lines): a show measures, then draws, the same paragraph

    def _paragraph(self) -> list[str]:
        """The paragraph's lines, wrapped as the pane shows them."""
        step, hidden, width = self._shown[3], self._shown[6], max(10, self._shown[9])
        text = hidden.text(step.narration)
        if self._wrapped is None or self._wrapped[:2] != (text, width):
            lines = [line.plain for line in Text(text).wrap(self.app.console, width)] if text else []
            self._wrapped = (text, width, lines)
        return self._wrapped[2]

    def _paragraph_cut(self) -> tuple[int, int]:
        """(lines shown, lines in all) of the paragraph."""
        if not self._shown or not self._shown[7]:
            return 0, 0
        total = len(self._paragraph())
        shown = self._shown[8]
        return (total if shown is None else min(shown, total)), total

    def page(self, direction: int) -> None:
        """pgdn: the rest of a cut paragraph, then the formula window a page on; pgup: back the
        same way. Without either, scroll."""
        if not self._shown:
            return
        step, max_lines = self._shown[3], self._shown[5]
        shown, total = self._paragraph_cut()
        windowed = len(step.formula) > max_lines
        if direction > 0 and self._top + shown < total:
            self._top = min(total - shown, self._top + max(1, shown - 1))
        elif direction < 0 and self._top > 0 and self._shift <= 0:
            self._top = max(0, self._top - max(1, shown - 1))
        elif windowed:
            first, last = shift_range(step)
            self._shift = max(first, min(self._shift + direction * max_lines, last))
        else:
            self.scroll_relative(y=direction * max(1, self.size.height - 1), animate=False)
            return
        self._render_window()

    def _render_window(self) -> None:
        if self.unchanged(*self._shown[3:], self._shift, self._top):
            return
        step, counter, max_lines, hidden, paragraph = self._shown[3:8]
        formula = "\n".join(hidden.lines(step.formula_window(max_lines, self._shift)))
        shown, total = self._paragraph_cut()
        if paragraph and shown:
            self._top = max(0, min(self._top, total - shown))
            lines = self._paragraph()[self._top:self._top + shown]
            body = RichLines(Text("\n".join(lines)), Text(formula, style="bold"))
        else:  # one Text: Content, which the mouse can select from (a Group never could)
            body = Text(formula, style="bold")
        self.border_title = plain(hidden.text(step.title))
        windowed = len(step.formula) > max_lines
        cut = shown < total
        if cut and windowed:
            hint = _("pgdn/pgup: more text and lines · {counter}")
        elif cut:
            hint = _("pgdn: more text · {counter}") if self._top + shown < total else \
                _("pgup: back to the start · {counter}")
        elif windowed:
            hint = _("pgdn/pgup: more lines · {counter}")
        else:
            hint = "{counter}"
        self.border_subtitle = plain(hint.format(counter=counter))
        self._show_drawn(body, None)

    def _show_drawn(self, content: object, visual) -> None:
        """The text goes in the child label; what it draws is kept with the border's titles."""
        visual = self.query_one("#narration-text", FrameStatic).update(content, visual=visual)
        if self._recording is not None:
            self.remember(self._drawing(content, visual))
        self.scroll_home(animate=False)
