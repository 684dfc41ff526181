"""The Vectors pane: the rows a step reads and writes (e_i, p_i, x_i, q_i, k_j, v_j), labelled
with their shapes. Which rows, and their labels, come with the Step; this pane lays them out."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui_attention.i18n import _
from tui_attention.steps.notation import fmt
from tui_attention.steps.step import Step

STYLES = {"read": "", "read-query": "underline", "written": "reverse"}


class VectorsPane(Static):
    DEFAULT_CSS = """
    VectorsPane { border: round $primary; padding: 0 0 0 1; height: auto; }
    """

    def show(self, step: Step, decimals: int) -> None:
        rows = step.vectors
        notes = list(step.vector_notes)
        self.border_title = _("Vectors")
        self.border_subtitle = _("read · written (reversed)")
        if not rows:
            self.update(Text(_("no vectors in this step"), style="dim"))
            return
        name_w = max(len(r.label) for r in rows)
        shape_w = max(len(r.shape) for r in rows)
        num_w = max(len(fmt(x, decimals)) for r in rows for x in r.values)
        room = max(1, ((self.content_size.width or 38) - name_w - shape_w - 2 + 1) // (num_w + 1))
        text = Text(no_wrap=True, overflow="crop")
        widest = max(len(r.values) for r in rows)
        if widest > room and widest > 8:
            notes.append(_("first {shown} of up to {widest} columns shown").format(shown=max(1, room - 1),
                                                                                   widest=widest))
        for k, row in enumerate(rows):
            values = row.values if len(row.values) <= room else row.values[: max(1, room - 1)]
            numbers = " ".join(fmt(x, decimals).rjust(num_w) for x in values)
            if len(values) < len(row.values):
                numbers += " …"
            if k:
                text.append("\n")
            style = STYLES[row.role]
            text.append(f"{row.label:<{name_w}} ", style="bold" if style else "")
            text.append(f"{row.shape:<{shape_w}} ", style="dim")
            text.append(numbers, style=style)
        for note in notes:
            text.append("\n" + note, style="dim italic")
        self.update(text)
