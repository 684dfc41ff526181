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
        c = trace.config
        # One column for what the softmax actually reads, when it differs from the raw score.
        logit_head = ("/√d" if c.scale == "sqrt_dk" else "") + ("+M" if c.mask == "causal" else "")
        logit_from = "scale" if c.scale == "sqrt_dk" else "mask"
        table = grid()
        num = decimals + 3 + (1 if np.abs(h.scaled[i][np.isfinite(h.scaled[i])]).max(initial=0) >= 10 else 0)
        # Numbers never shrink (a cut number would be a wrong number); the word column gives way.
        table.add_column("j", justify="right", no_wrap=True, style="dim", min_width=len(str(trace.n)))
        # Share the width out by hand: Rich would rather drop whole columns (the bar) than shorten a word.
        avail = self.content_size.width or 36
        fixed = len(str(trace.n)) + num + (max(num, 4) if logit_head else 0) + decimals + 3
        gaps = 5 if logit_head else 4
        bar_cells = BAR_CELLS
        word_w = min(11, avail - fixed - gaps - bar_cells)
        if word_w < 5:
            bar_cells = max(2, bar_cells - (5 - word_w))
            word_w = max(3, avail - fixed - gaps - bar_cells)
        table.add_column("word", no_wrap=True, overflow="ellipsis", max_width=word_w)
        table.add_column(f"q{sub(i + 1)}·k_j", justify="right", no_wrap=True, min_width=num)
        if logit_head:
            table.add_column("s" + logit_head, justify="right", no_wrap=True, min_width=max(num, 4))
        table.add_column(f"α{sub(i + 1)}ⱼ", justify="right", no_wrap=True, min_width=decimals + 3)
        table.add_column("bar", no_wrap=True, min_width=bar_cells, max_width=bar_cells)
        dots = "·"
        for j in window(trace.n, i):
            word = trace.tokens[j]
            row = [str(j + 1), label(word if len(word) <= word_w else word[: word_w - 1] + "…")]
            row.append(fmt(h.scores[i, j], decimals) if has("scores") else dots)
            if logit_head:
                row.append(fmt(h.logits[i, j], decimals) if has(logit_from) else dots)
            if has("softmax"):
                row += [fmt(h.weights[i, j], decimals), bar(h.weights[i, j], bar_cells)]
            else:
                row += [dots, ""]
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
