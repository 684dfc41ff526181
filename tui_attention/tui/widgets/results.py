"""The Results pane: q_i·k_j per word, the scaled score, the softmax weights (number and bar), and z_i.

Columns appear as the steps reach them, so the table fills in while the learner steps.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from tui_attention.core.numbers import fmt, fmt_vector, sub
from tui_attention.core.trace import Trace
from tui_attention.core.walkthrough import WORD_STEP_KINDS, Step

from .render import bar, grid, label, window

BAR_CELLS = 6


class ResultsPane(Static):
    DEFAULT_CSS = """
    ResultsPane { border: round $primary; padding: 0 1; height: auto; }
    """

    def show(self, trace: Trace, step: Step, decimals: int) -> None:
        i = step.word or 0
        h = trace.heads[step.head]
        reached = WORD_STEP_KINDS.index(step.kind)
        has = lambda kind: reached >= WORD_STEP_KINDS.index(kind)  # noqa: E731
        scaled = trace.config.scale == "sqrt_dk"
        table = grid()
        num = decimals + 3 + (1 if np.abs(h.scaled[i][np.isfinite(h.scaled[i])]).max(initial=0) >= 10 else 0)
        # Numbers never shrink (a cut number would be a wrong number); the word column gives way.
        table.add_column("j", justify="right", no_wrap=True, style="dim", min_width=len(str(trace.n)))
        table.add_column("word", no_wrap=True, overflow="ellipsis", max_width=11)
        table.add_column(f"q{sub(i + 1)}·k_j", justify="right", no_wrap=True, min_width=num)
        if scaled:
            table.add_column("/√d_k", justify="right", no_wrap=True, min_width=num)
        table.add_column(f"α{sub(i + 1)}ⱼ", justify="right", no_wrap=True, min_width=decimals + 3)
        table.add_column("bar", no_wrap=True, min_width=BAR_CELLS)
        dots = "·"
        for j in window(trace.n, i):
            row = [str(j + 1), label(trace.tokens[j])]
            row.append(fmt(h.scores[i, j], decimals) if has("scores") else dots)
            if scaled:
                row.append(fmt(h.scaled[i, j], decimals) if has("scale") else dots)
            if has("softmax"):
                row += [fmt(h.weights[i, j], decimals), bar(h.weights[i, j], BAR_CELLS)]
            else:
                row += [dots, ""]
            if has("mask") and trace.mask is not None and trace.mask[i, j]:
                row[2] = row[2] + " -inf"
            table.add_row(*row, style="bold reverse" if j == i else None)
        parts = [table]
        if trace.n > 2 * 5 + 1:
            parts.append(Text(f"words {window(trace.n, i).start + 1}-{window(trace.n, i).stop} of {trace.n}", style="dim italic"))
        if has("softmax"):
            parts.append(Text(f"Σ_j α{sub(i + 1)}ⱼ = {h.weights[i].sum():.{decimals}f}", style="dim"))
        parts.append(Text(f"z{sub(i + 1)} = " + (fmt_vector(h.output[i], decimals) if has("output") else "· (step 9)"),
                          style="bold" if has("output") else "dim"))
        self.border_title = "Results"
        self.border_subtitle = f"word {i + 1}: '{trace.tokens[i]}'"
        self.update(Group(*parts))
