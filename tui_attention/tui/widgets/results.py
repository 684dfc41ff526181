"""The Results pane: q_i·k_j per word, the scaled score, the softmax weights (number and bar), and z_i.

Columns appear as the steps reach them, so the table fills in while the learner steps.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from tui_attention.core.trace import Trace
from tui_attention.i18n import _
from tui_attention.steps.conceal import HIDDEN, NOTHING, Concealed
from tui_attention.steps.notation import fmt, fmt_vector, sub
from tui_attention.steps.step import Step
from tui_attention.tui.layout import window

from .render import Column, RichLines, bar, fit_cells, plain, text_table
from .one_frame import OneFrame

BAR_CELLS = 6


def z_line(trace: Trace, step: Step, decimals: int, hidden: Concealed = NOTHING) -> Text:
    """The pane's last line: z_i once the output step has filled it, else where it will be."""
    i, filled = step.word, step.filled
    if "output" not in filled:
        return Text(f"z{sub(i + 1)} = " + _("· (step {step})").format(step=9), style="dim")
    return Text(f"z{sub(i + 1)} = " + hidden.text(fmt_vector(trace.heads[step.head].output[i], decimals)),
                style="bold")


class ResultsPane(OneFrame, Static):
    DEFAULT_CSS = """
    ResultsPane { border: round $primary; padding: 0 1; height: auto; }
    """

    def show(self, trace: Trace, step: Step, decimals: int, rows: int = 11, hidden: Concealed = NOTHING,
             width: int | None = None) -> None:
        """One line per word (the `rows` words around the query word), then Σα and z; the cells
        an open question hides are "?". `width`: the cells the columns share, when the caller
        knows the width the next layout gives the pane (else its present width)."""
        avail = width or self.content_size.width or 36
        if self.unchanged(trace, step, decimals, rows, hidden, avail):
            return
        i = step.word
        h = trace.heads[step.head]
        filled = step.filled
        # One column for what the softmax reads, when it differs from the raw score; it shows the
        # scaled scores from the scale step and the masked ones only from the mask step.
        stage = "logits" if "logits" in filled else "scaled" if "scaled" in filled else None
        logit_head = step.score_label(stage or "logits") if step.score_label("logits") != "s" else ""
        shown = window(trace.n, i, rows)
        # As wide as the widest score shown (a cut number would be a wrong number).
        num = max(decimals + 3, *(len(fmt(h.scaled[i, j], decimals)) for j in shown if h.scaled[i, j] > float("-inf")))
        # Share the width out by hand: a table would rather drop whole columns (the bar) than shorten a word.
        fixed = len(str(trace.n)) + num + (max(num, 4) if logit_head else 0) + decimals + 3
        gaps = 5 if logit_head else 4
        bar_cells = BAR_CELLS
        longest = max(cell_len(trace.tokens[j]) for j in shown)
        word_w = min(max(11, longest), 20, avail - fixed - gaps - bar_cells)
        if word_w < 5:
            bar_cells = max(2, bar_cells - (5 - word_w))
            word_w = max(3, avail - fixed - gaps - bar_cells)
        # Numbers never shrink (a cut number would be a wrong number); the word column gives way.
        columns = [Column("j", "right", "dim", len(str(trace.n))), Column(_("word"), max_width=word_w),
                   Column(f"q{sub(i + 1)}·k_j", "right", min_width=num)]
        if logit_head:
            columns.append(Column(logit_head, "right", min_width=max(num, 4)))
        columns += [Column(f"α{sub(i + 1)}ⱼ", "right", min_width=decimals + 3),
                    Column(_("bar"), min_width=bar_cells, max_width=bar_cells)]
        dots = "·"
        head = step.head

        def number(key: str, j: int) -> str:
            if hidden.cell(key, head, i, j):
                return HIDDEN
            return fmt(getattr(h, key)[i, j], decimals)

        rows = []
        for j in shown:
            word = trace.tokens[j]
            row = [str(j + 1), fit_cells(word, word_w)]
            row.append(number("scores", j) if "scores" in filled else dots)
            if logit_head:
                row.append(number(stage, j) if stage else dots)
            if "weights" in filled:
                shown_weight = number("weights", j)
                row += [shown_weight, bar(h.weights[i, j], bar_cells) if shown_weight != HIDDEN else ""]
            else:
                row += [dots, ""]
            rows.append((row, "bold reverse" if j == i else ""))
        table = text_table(columns, rows)
        parts = [table]
        if "weights" in filled:
            # A hidden weight hides its row (it is 1 - Σ of the others), and the row's sum with it.
            total = HIDDEN if hidden.any_cell("weights", head, i) else f"{step.weight_sum:.{decimals}f}"
            parts.append(Text(f"Σ_j α{sub(i + 1)}ⱼ = {total}", style="dim"))
        parts.append(z_line(trace, step, decimals, hidden))
        self.border_title = plain(_("Results"))
        subtitle = _("word {number}: '{token}'").format(number=i + 1, token=trace.tokens[i])
        if len(shown) < trace.n:  # in the border: the table keeps its lines for words
            subtitle = _("words {first}-{last} of {n}").format(first=shown.start + 1, last=shown.stop,
                                                               n=trace.n) + " · " + subtitle
        self.border_subtitle = plain(subtitle)
        self.update(RichLines(*parts))
