"""The Vectors pane: the rows a step reads and writes (e_i, p_i, x_i, q_i, k_j, v_j), labelled
with their shapes. Which rows, and their labels, come with the Step; this pane lays them out."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui_attention.i18n import _
from tui_attention.steps.conceal import HIDDEN, NOTHING, Concealed
from tui_attention.steps.notation import fmt, sub, widest
from tui_attention.steps.step import Step, VectorRow
from tui_attention.tui.layout import window
from .render import plain
from .one_frame import OneFrame

STYLES = {"read": "", "read-query": "underline", "written": "reverse", "read-written": "reverse"}
SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"


def _stem(label: str) -> str:
    """k₃/√d -> k/√d: the matrix a Vector row belongs to."""
    return "".join(ch for ch in label if ch not in SUBSCRIPTS)


def _number(label: str) -> str:
    return "".join(ch for ch in label if ch in SUBSCRIPTS)


def fit_rows(step: Step, max_rows: int | None) -> tuple[list[VectorRow], list[str]]:
    """At most `max_rows` of the Step's Vector rows: the longest run of one matrix's rows
    gives way, keeping the rows around the query word; a note says which rows are shown."""
    rows, notes = list(step.vectors), list(step.vector_notes)
    if max_rows is None or len(rows) <= max_rows:
        return rows, notes
    runs: list[list[int]] = []
    for k, row in enumerate(rows):
        last = rows[runs[-1][-1]] if runs else None
        if last is not None and _stem(last.label) == _stem(row.label) and \
                (last.role in ("written", "read-written")) == (row.role in ("written", "read-written")):
            runs[-1].append(k)
        else:
            runs.append([k])
    longest = max(runs, key=len)
    keep = max(1, max_rows - (len(rows) - len(longest)))
    query = sub(step.word + 1)  # the query word's row, by its subscript
    centre = next((i for i, k in enumerate(longest) if _number(rows[k].label) == query), len(longest) // 2)
    shown = [longest[i] for i in window(len(longest), centre, keep)]
    kept = [r for k, r in enumerate(rows) if k in shown or k not in longest][:max_rows]
    if len(shown) < len(longest):  # one note in place of the step's (which described a wider cut)
        first, last = rows[shown[0]], rows[shown[-1]]
        # Counted in the matrix's own rows (n), not in the rows the Step carried (at most 11 around the word).
        count = max(first.count, len(longest))
        symbol = _stem(first.label)
        if first.row < 0:  # rows not taken from a matrix: count what there is
            notes = [_("{symbol}: {shown} of {count} rows shown").format(symbol=symbol, shown=len(shown),
                                                                         count=len(longest))]
        elif first.row == last.row:
            notes = [_("{symbol}: row {row} of {n}").format(symbol=symbol, row=first.row + 1, n=count)]
        else:
            notes = [_("{symbol}: rows {first}-{last} of {n}").format(symbol=symbol, first=first.row + 1,
                                                                      last=last.row + 1, n=count)]
    return kept, notes


class VectorsPane(OneFrame, Static):
    DEFAULT_CSS = """
    VectorsPane { border: round $primary; padding: 0 0 0 1; height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def show(self, step: Step, decimals: int, max_rows: int | None = None, hidden: Concealed = NOTHING,
             width: int | None = None) -> None:
        """The Step's rows; with `max_rows`, a long run of one matrix's rows (k₁..kₙ) is cut to
        the rows around the query word, and a note says so. `width`: the cells the rows may take,
        when the caller knows the width the next layout gives the pane (else its present width)."""
        width = width or self.content_size.width or 38
        if self.unchanged(step, decimals, max_rows, hidden, width):
            return
        rows, notes = fit_rows(step, max_rows)
        self.border_title = plain(_("Vectors"))
        self.border_subtitle = plain(_("read · written (reversed)"))
        if not rows:
            self.update(Text(_("no vectors in this step"), style="dim"))
            return
        name_w = max(len(r.label) for r in rows)
        shape_w = max(len(r.shape) for r in rows)
        num_w = max(widest(r.values, decimals) for r in rows)
        room = max(1, (width - name_w - shape_w - 2 + 1) // (num_w + 1))
        text = Text(no_wrap=True, overflow="crop")
        longest = max(len(r.values) for r in rows)
        if longest > room and longest > 8:
            notes.append(_("first {shown} of up to {widest} columns shown").format(shown=max(1, room - 1),
                                                                                   widest=longest))
        for k, row in enumerate(rows):
            values = row.values if len(row.values) <= room else row.values[: max(1, room - 1)]
            numbers = " ".join((HIDDEN if hidden.cell(row.key, step.head, row.row, c) else fmt(x, decimals)).rjust(num_w)
                               for c, x in enumerate(values))
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
